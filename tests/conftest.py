"""Shared fixtures: a real loopback HTTP server, real recorded feeds, config files on disk."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.httpserver import LocalServer

TESTS = Path(__file__).parent
REAL = Path(
    os.environ.get("SIGNALS_REAL_FIXTURES", TESTS.parent.parent / "shared" / "fixtures" / "real")
)

#: Settings that keep tests quick: no per-host throttling, short timeouts, no jitter.
FAST_SETTINGS: dict[str, Any] = {
    "user_agent": "signals-tests/1.0 (tests@example.org)",
    "host_rate": "1000/s",
    "host_concurrency": 8,
    "read_timeout": "1s",
    "connect_timeout": "1s",
    "total_timeout": "3s",
    "retries": 0,
    "jitter": 0.0,
}


def real(relative: str) -> Path:
    """A recorded real response from ../shared/fixtures/real, or skip saying what is missing."""
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"real fixture {relative} not found under {REAL} (set SIGNALS_REAL_FIXTURES)")
    return path


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("SIGNALS_USER_AGENT", raising=False)
    monkeypatch.delenv("SIGNALS_DB", raising=False)
    monkeypatch.delenv("SIGNALS_SOURCES", raising=False)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    yield srv
    srv.stop()


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value)


def write_sources(directory: Path, sources: list[dict[str, Any]], **settings: Any) -> Path:
    """Write a sources.toml with the fast test settings plus overrides; return its path."""
    merged = {**FAST_SETTINGS, "database": "archive.db", **settings}
    lines = ["[settings]"] + [f"{k} = {_toml_value(v)}" for k, v in merged.items()]
    for source in sources:
        lines.append("\n[[source]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in source.items()]
    path = directory / "sources.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_taxonomy(tmp_path: Path, text: str) -> Path:
    """``text`` as ``tmp_path/rules/categories.toml``."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    path = rules / "categories.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, sources: Path | None = None) -> Result:
    """Invoke the real CLI in-process and return click's result."""
    from signals.cli import cli

    argv = (["--sources", str(sources)] if sources else []) + list(args)
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def fetch_json(sources: Path, *ids: str) -> dict[str, Any]:
    result = run_cli("fetch", "--json", *ids, sources=sources)
    assert result.exit_code in (0, 1), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def by_source(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in document["sources"]}
