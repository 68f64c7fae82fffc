"""Retention: old items go with their tags, entities, facts, sources, text index and stories."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from signals.archive import open_archive
from signals.retention import prune
from signals.times import utcnow
from tests.archive_builder import ArchiveBuilder
from tests.conftest import run_cli, write_sources

DAY = timedelta(days=1)


def _old_and_new(path: Path) -> dict[str, str]:
    """Items a year and a half old and a week old, tagged, with a story across the line."""
    now = utcnow()
    builder = ArchiveBuilder(path)
    full = {
        "tags": {"policy_shifts": (0.9, ["Entity List"])},
        "entities": [("ORG", "Huawei", "huawei")],
        "facts": [("money", 1e9, "USD", "$1 billion")],
    }
    ids = {
        "old": builder.item(
            "Zebrafish entity list additions",
            source="fr",
            first_seen=now - 500 * DAY,
            also=[("reuters", now - 500 * DAY)],
            story="story-old",
            **full,  # type: ignore[arg-type]
        ),
        "old_twin": builder.item(
            "Zebrafish additions to the entity list",
            source="reuters",
            first_seen=now - 499 * DAY,
            story="story-old",
        ),
        "old_in_live_story": builder.item(
            "Quokka chip rule first report",
            source="fr",
            first_seen=now - 400 * DAY,
            story="story-live",
        ),
        "pending": builder.item("Narwhal digest item", source="fr", first_seen=now - 450 * DAY),
        "sent": builder.item("Okapi digest item", source="fr", first_seen=now - 450 * DAY),
        # first seen recently, though published long ago: a backfill stays its full term
        "backfill": builder.item(
            "Axolotl backfill", source="fr", first_seen=now - 5 * DAY, published=now - 900 * DAY
        ),
        "new": builder.item(
            "Quokka chip rule follow-up",
            source="reuters",
            first_seen=now - 7 * DAY,
            story="story-live",
            **full,  # type: ignore[arg-type]
        ),
    }
    for status, item in (("pending", ids["pending"]), ("sent", ids["sent"])):
        builder.db.execute(
            "INSERT INTO deliveries (rule, channel, window_start, window_end, status, item_ids)"
            " VALUES ('daily', 'slack', ?, ?, ?, ?)",
            [status, status, status, json.dumps([item])],
        )
    builder.db.conn.commit()
    builder.close()
    return ids


def _count(db: object, sql: str, *params: object) -> int:
    return int(db.execute(sql, list(params)).fetchone()[0])  # type: ignore[attr-defined]


def test_prune_deletes_old_items_and_everything_hanging_off_them(tmp_path: Path) -> None:
    ids = _old_and_new(tmp_path / "a.db")
    db = open_archive(tmp_path / "a.db")
    from signals.stories import StoryIndex

    index = StoryIndex(db)
    for entry in index.load(list(ids.values())):
        index.index(entry)  # story keys for every item
    db.conn.commit()
    report = prune(db, timedelta(days=365), utcnow(), batch=2)
    assert report.items == 4 and report.kept_for_deliveries == 1
    left = {row[0] for row in db.execute("SELECT id FROM items")}
    assert left == {ids["pending"], ids["backfill"], ids["new"]}
    gone = [ids["old"], ids["old_twin"], ids["old_in_live_story"], ids["sent"]]
    for table in ("item_tags", "entities", "facts", "item_sources"):
        marks = ",".join("?" * len(gone))
        assert _count(db, f"SELECT count(*) FROM {table} WHERE item_id IN ({marks})", *gone) == 0
        assert _count(db, f"SELECT count(*) FROM {table} WHERE item_id = ?", ids["new"]) >= 1
    # the full-text index forgot them, and still finds what stays
    assert _count(db, "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'zebrafish'") == 0
    assert _count(db, "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'quokka'") == 1
    assert _count(db, "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'narwhal'") == 1
    # a story with nothing left goes; one with an item left stays
    assert {row[0] for row in db.execute("SELECT id FROM stories")} == {"story-live"}
    # the ledger keeps every row, sent or not
    assert _count(db, "SELECT count(*) FROM deliveries") == 2
    # the candidate index has nothing from before the cutoff
    from signals.stories import day_of
    from signals.times import to_utc_iso

    cutoff = day_of(to_utc_iso(utcnow() - timedelta(days=365)))
    assert _count(db, "SELECT count(*) FROM story_keys WHERE day < ?", cutoff) == 0
    assert _count(db, "SELECT count(*) FROM story_keys") > 0
    assert prune(db, timedelta(days=365), utcnow()).items == 0  # idempotent


def test_prune_command_dry_run_then_for_real(tmp_path: Path) -> None:
    _old_and_new(tmp_path / "archive.db")
    sources = write_sources(tmp_path, [], keep_items_for="365d")
    dry = run_cli("prune", "--dry-run", sources=sources)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("would delete 4 items and 1 stories older than ")
    assert "kept 1 listed by deliveries not yet sent" in dry.stdout
    assert _count(open_archive(tmp_path / "archive.db"), "SELECT count(*) FROM items") == 7
    real = run_cli("prune", sources=sources)
    assert real.exit_code == 0 and real.stdout.startswith("deleted 4 items and 1 stories")
    wider = run_cli("prune", "--older-than", "4d", sources=sources)
    assert wider.exit_code == 0 and wider.stdout.startswith("deleted 2 items and 1 stories")


def test_prune_without_retention_configured_says_how_to_set_it(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [])
    result = run_cli("prune", sources=sources)
    assert result.exit_code == 2
    assert "settings.keep_items_for is not set" in result.output
    assert 'keep_items_for = "365d"' in result.output


def test_keep_items_for_is_validated_like_every_setting(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [], keep_items_for="30m")
    result = run_cli("prune", sources=sources)
    assert result.exit_code == 2
    assert (
        "sources.toml: settings.keep_items_for: expected a duration of at least 1d" in result.output
    )
    sources = write_sources(tmp_path, [], keep_items_for="a year")
    assert "keep_items_for" in run_cli("prune", sources=sources).output


def test_run_once_applies_retention(tmp_path: Path) -> None:
    _old_and_new(tmp_path / "archive.db")
    sources = write_sources(tmp_path, [], keep_items_for="365d")
    result = run_cli("run", "--once", "--json", sources=sources)
    assert result.exit_code == 0, result.output
    assert _count(open_archive(tmp_path / "archive.db"), "SELECT count(*) FROM items") == 3


def test_an_interrupted_prune_leaves_whole_items_and_the_next_one_finishes(tmp_path: Path) -> None:
    ids = _old_and_new(tmp_path / "a.db")
    db = open_archive(tmp_path / "a.db")

    def crash(count: int) -> None:
        raise KeyboardInterrupt  # killed right after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        prune(db, timedelta(days=365), utcnow(), batch=1, on_progress=crash)
    remaining = {row[0] for row in db.execute("SELECT id FROM items")}
    assert len(remaining) == 6  # one batch of one item went, with all it had
    orphans = _count(
        db,
        "SELECT count(*) FROM item_tags WHERE item_id NOT IN (SELECT id FROM items)",
    ) + _count(db, "SELECT count(*) FROM facts WHERE item_id NOT IN (SELECT id FROM items)")
    assert orphans == 0
    assert _count(db, "SELECT count(*) FROM items_fts") == 6
    assert prune(db, timedelta(days=365), utcnow()).items == 3
    assert {row[0] for row in db.execute("SELECT id FROM items")} == {
        ids["pending"],
        ids["backfill"],
        ids["new"],
    }


def test_the_daemon_prunes_once_a_day_beside_its_polls(tmp_path: Path) -> None:
    from signals.config import load_config
    from signals.daemon import Daemon

    _old_and_new(tmp_path / "archive.db")
    sources = write_sources(tmp_path, [], keep_items_for="365d")
    daemon = Daemon(lambda: load_config(sources), tmp_path / "archive.db", tmp_path / "rules")
    daemon.current_config()
    daemon.housekeeping()
    assert _count(open_archive(tmp_path / "archive.db"), "SELECT count(*) FROM items") == 3


@pytest.mark.slow
def test_killing_prune_at_any_moment_leaves_a_consistent_archive(tmp_path: Path) -> None:
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    from signals.times import to_utc_iso

    builder = ArchiveBuilder(tmp_path / "archive.db")
    builder.source("fr")
    old = to_utc_iso(utcnow() - 500 * DAY)
    total = 6000
    for n in range(total):
        builder.db.execute(
            "INSERT INTO items (id, source_id, title, body, published_at, fetched_at, content_hash)"
            " VALUES (?, 'fr', ?, 'entity list text', ?, ?, 'h')",
            [f"old-{n}", f"Old item {n}", old, old],
        )
        builder.db.execute(
            "INSERT INTO item_tags (item_id, category, score, method) VALUES (?, 'policy_shifts', 0.5, 'rules')",
            [f"old-{n}"],
        )
    builder.db.conn.commit()
    builder.close()
    sources = write_sources(tmp_path, [], keep_items_for="365d")
    watcher = sqlite3.connect(tmp_path / "archive.db")
    remaining = [total]
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "signals", "--sources", str(sources), "prune"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        # kill it once it has deleted something: in the middle of its batches
        while process.poll() is None and time.monotonic() < deadline:
            if watcher.execute("SELECT count(*) FROM items").fetchone()[0] < remaining[-1]:
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        db = open_archive(tmp_path / "archive.db")
        items = _count(db, "SELECT count(*) FROM items")
        assert _count(db, "SELECT count(*) FROM item_tags") == items
        assert _count(db, "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'entity'") == items
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
        remaining.append(items)
    watcher.close()
    assert remaining[0] > remaining[1] > 0, remaining  # the first kill fell mid-prune
    assert run_cli("prune", sources=sources).exit_code == 0
    assert _count(open_archive(tmp_path / "archive.db"), "SELECT count(*) FROM items") == 0
