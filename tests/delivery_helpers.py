"""Shared pieces of the delivery tests: servers as fixtures, a rules folder, archive setup."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.archive_builder import ArchiveBuilder, utc, week_of_news
from tests.conftest import TESTS, write_sources
from tests.slackserver import TOKEN, FakeSlack

END = utc("2026-11-24T13:00")  # Tuesday 08:00 in New York: the daily digest fires
NOW = "2026-11-24T13:05:00Z"
SHIPPED = TESTS.parent / "rules"

HOSTILE_TITLE = (
    "<!channel> Entity List: <@U123> see <https://evil.example|your bank> <script>alert(1)</script>"
)
HOSTILE_SUMMARY = 'Added to the Entity List. <img src=x onerror="alert(1)"> & <!here> <#C0DAILY01>'
HOSTILE_EVIDENCE = ["<!everyone>", "Entity List", "<mailto:x@evil.example|ceo>"]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SIGNALS_SLACK_API_URL": slack.api_url}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def setup_project(
    tmp_path: Path, rules: tuple[str, ...] = ("daily-slack",), end: datetime = END
) -> tuple[Path, ArchiveBuilder, Path]:
    """sources.toml, a rules folder with shipped rules, and an archive filled with a week."""
    sources = write_sources(tmp_path, [])
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name in rules:
        shutil.copy(SHIPPED / f"{name}.toml", folder / f"{name}.toml")
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, end)
    return sources, builder, folder


def signals_cmd(sources: Path, rules: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "signals",
        "--sources",
        str(sources),
        "--rules",
        str(rules),
        *args,
    ]


def run_signals(
    sources: Path, rules: Path, *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        signals_cmd(sources, rules, *args), capture_output=True, text=True, env=env, timeout=timeout
    )


def all_texts(value: Any) -> list[str]:
    """Every string inside a Slack payload (block texts, fallback text, context elements)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [
            t
            for k, v in value.items()
            if (k == "text" or not isinstance(v, str))
            for t in all_texts(v)
        ]
    if isinstance(value, list):
        return [t for v in value for t in all_texts(v)]
    return []


def slack_markup(texts: list[str]) -> list[str]:
    """Every ``<...>`` construct Slack would interpret (links, mentions, specials)."""
    return [m for text in texts for m in re.findall(r"<([^<>]*)>", text)]


def ledger_rows(builder: ArchiveBuilder) -> list[dict[str, Any]]:
    rows = builder.db.execute(
        "SELECT rule, channel, window_start, window_end, status, external_id, error, attempts, transport"
        " FROM deliveries ORDER BY id"
    ).fetchall()
    keys = (
        "rule",
        "channel",
        "window_start",
        "window_end",
        "status",
        "external_id",
        "error",
        "attempts",
        "transport",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def at(moment: datetime, **delta: float) -> str:
    return (moment + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
