"""signals backup and signals vacuum on real SQLite files, with a writer running beside them."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from signals.archive import open_archive
from signals.lock import DaemonLock
from signals.maintenance import backup
from tests.archive_builder import ArchiveBuilder, week_of_news
from tests.conftest import run_cli, write_sources
from tests.delivery_helpers import END


def _archive(tmp_path: Path, extra: int = 0) -> Path:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, END)
    for n in range(extra):
        builder.db.execute(
            "INSERT INTO items (id, source_id, title, body, published_at, fetched_at, content_hash)"
            " VALUES (?, 'dcd-news', ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'h')",
            [f"bulk-{n}", f"Bulk item {n}", "lorem ipsum dolor " * 200],
        )
    builder.db.conn.commit()
    builder.close()
    return tmp_path / "archive.db"


def test_backup_copies_and_verifies_and_never_overwrites_by_accident(tmp_path: Path) -> None:
    _archive(tmp_path)
    sources = write_sources(tmp_path, [])
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    result = run_cli("backup", str(target), sources=sources)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{target}: ") and "integrity check ok" in result.stdout
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM items").fetchone()[0] == 13
    assert (
        copy.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'entity'").fetchone()[0]
        >= 1
    )
    copy.close()
    again = run_cli("backup", str(target), sources=sources)
    assert again.exit_code == 2 and "already exists; pass --force to overwrite it" in again.output
    assert run_cli("backup", str(target), "--force", sources=sources).exit_code == 0
    assert list(target.parent.iterdir()) == [target]
    nowhere = run_cli("backup", str(tmp_path / "missing" / "copy.db"), sources=sources)
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.output


def test_housekeeping_never_creates_an_archive(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [], keep_items_for="365d")
    for command in (["vacuum"], ["prune"], ["stories", "--rebuild"], ["backup", "x.db"]):
        result = run_cli(*command, sources=sources)
        assert result.exit_code == 1 and "no archive here" in result.output, command
    assert not (tmp_path / "archive.db").exists()


def test_backup_while_a_writer_commits_is_one_consistent_moment(tmp_path: Path) -> None:
    archive = _archive(tmp_path, extra=300)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        db = open_archive(archive)
        while not stop.is_set():
            n = written[0]
            db.execute(
                "INSERT INTO items (id, source_id, title, published_at, fetched_at, content_hash)"
                " VALUES (?, 'dcd-news', 'live', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'h')",
                [f"live-{n}"],
            )
            db.conn.commit()
            written[0] += 1
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        report = backup(archive, tmp_path / "copy.db", pages=2)
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    count = copy.execute("SELECT count(*) FROM items").fetchone()[0]
    assert 313 <= count <= 313 + written[0]
    fts = copy.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'live'").fetchone()[0]
    assert fts == count - 313  # the text index is of the same moment as the items
    assert report.pages > 0


def test_a_backup_that_dies_leaves_no_file_behind(tmp_path: Path) -> None:
    archive = _archive(tmp_path, extra=100)

    def die(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup(archive, tmp_path / "copy.db", pages=1, on_progress=die)
    assert not (tmp_path / "copy.db").exists()
    assert not (tmp_path / "copy.db.partial").exists()


def test_vacuum_reclaims_space_after_a_prune_and_refuses_beside_a_daemon(tmp_path: Path) -> None:
    archive = _archive(tmp_path, extra=400)
    sources = write_sources(tmp_path, [], keep_items_for="100d")
    pruned = run_cli("prune", sources=sources)
    assert pruned.exit_code == 0 and pruned.stdout.startswith("deleted 400 items"), pruned.output
    with DaemonLock(archive):
        refused = run_cli("vacuum", sources=sources)
    assert refused.exit_code == 1
    assert "another signals daemon" in refused.output and "VACUUM" in refused.output
    result = run_cli("vacuum", sources=sources)
    assert result.exit_code == 0, result.output
    before, after = (
        float(x.split()[0]) for x in result.stdout.split(": ", 1)[1].split(" (")[0].split(" -> ")
    )
    assert after < before
    assert "reclaimed" in result.stdout
    db = open_archive(archive)
    assert (
        db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'entity'").fetchone()[0]
        >= 1
    )
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 13
