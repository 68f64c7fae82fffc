"""The CLI as a real process: killed mid-poll, run as a daemon, asked for help."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_sources
from tests.httpserver import LocalServer, Reply

ITEMS_PER_FEED = 50


def _feed(source: int) -> bytes:
    items = "".join(
        f"<item><title>Source {source} item {n}</title><guid>s{source}-{n}</guid>"
        f"<link>https://example.org/{source}/{n}</link>"
        f"<description>Text of item {n} from source {source}.</description></item>"
        for n in range(ITEMS_PER_FEED)
    )
    return f'<rss version="2.0"><channel><title>S{source}</title>{items}</channel></rss>'.encode()


def _signals(*args: str) -> list[str]:
    return [sys.executable, "-m", "signals", *args]


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.slow
def test_poll_killed_with_sigkill_then_rerun_loses_and_doubles_nothing(
    tmp_path: Path, server: LocalServer
) -> None:
    count = 24
    sources = [
        {"id": f"s{i:02d}", "url": server.route(f"/s{i}", Reply(body=_feed(i), delay=0.15))}
        for i in range(count)
    ]
    config = write_sources(tmp_path, sources, workers=2)
    db = tmp_path / "archive.db"
    proc = subprocess.Popen(
        _signals("--sources", str(config), "fetch", "--json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: _count(db, "SELECT count(*) FROM fetches") >= 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stored_polls = _count(db, "SELECT count(*) FROM fetches")
    assert 0 < stored_polls < count, "the kill must land mid-poll"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every stored poll is complete: exactly its 50 items, never part of them
        per_source = conn.execute(
            "SELECT source_id, count(*) FROM item_sources GROUP BY source_id"
        ).fetchall()
    assert all(n == ITEMS_PER_FEED for _, n in per_source)
    assert len(per_source) == stored_polls

    rerun = subprocess.run(
        _signals("--sources", str(config), "fetch", "--json"), capture_output=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == count * ITEMS_PER_FEED
        assert (
            conn.execute("SELECT count(*) FROM item_sources").fetchone()[0]
            == count * ITEMS_PER_FEED
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM (SELECT title FROM items GROUP BY title HAVING count(*) > 1)"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute("SELECT count(*) FROM items_fts").fetchone()[0] == count * ITEMS_PER_FEED
        )


@pytest.mark.slow
def test_daemon_polls_due_sources_holds_the_lock_and_stops_on_sigterm(
    tmp_path: Path, server: LocalServer
) -> None:
    sources = [
        {"id": "a", "url": server.route("/a", Reply(body=_feed(1))), "every": "1h"},
        {"id": "b", "url": server.route("/b", Reply(body=_feed(2))), "every": "1h"},
    ]
    config = write_sources(tmp_path, sources)
    db = tmp_path / "archive.db"
    daemon = subprocess.Popen(
        _signals("--sources", str(config), "run", "--tick", "0.3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _count(db, "SELECT count(*) FROM fetches") >= 2)
        second = subprocess.run(
            _signals("--sources", str(config), "run"), capture_output=True, timeout=30
        )
        assert second.returncode == 1
        assert b"already running" in second.stderr and str(daemon.pid).encode() in second.stderr
        time.sleep(1.5)  # several more ticks: nothing is due, nothing is fetched again
        assert len(server.hits("/a")) == 1 and len(server.hits("/b")) == 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=15)
    assert daemon.returncode == 0, stderr.decode()[-2000:]
    assert _count(db, "SELECT count(*) FROM items") == 2 * ITEMS_PER_FEED


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from signals.cli import cli\n"
        "for args in (['--help'], ['fetch', '--help'], ['run', '--help'], ['sources', '--help'],\n"
        "             ['sources', 'check', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "heavy = {'httpx', 'spacy', 'sqlite_utils', 'feedparser', 'bs4', 'slack_sdk', 'apscheduler',\n"
        "         'trafilatura'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_version_and_help_work_as_a_process() -> None:
    out = subprocess.run(
        _signals("--help"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert out.returncode == 0 and "fetch" in out.stdout and "sources" in out.stdout
