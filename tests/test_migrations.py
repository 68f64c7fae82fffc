"""An archive made by an older version upgrades in place: every row, every value, still searchable.

For each migration after the first, an archive is created with only the migrations
before it, filled with rows in every table that exists then, and opened with the
current code; every row of every old table must come through with the same values.
A migration added later is covered by this test without editing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from signals.archive import MIGRATIONS, open_archive

NAMES = [m.name for m in MIGRATIONS._migrations]


def _old_archive(path: Path, stop_before: str) -> sqlite_utils.Database:
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    MIGRATIONS.apply(db, stop_before=stop_before)
    return db


def _fill(db: sqlite_utils.Database) -> None:
    """Rows in every table of the first schema, and in later tables that exist already."""
    has_stories = db["stories"].exists()
    db.execute(
        "INSERT INTO sources (id, name, kind, url, every, hint, next_check_at, etag, last_status,"
        " last_ok_at, error_count, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            "fr-bis",
            "BIS rules",
            "json",
            "https://www.federalregister.gov/api/v1/documents.json",
            "30m",
            '["policy_shifts"]',
            "2026-11-01T00:30:00Z",
            '"abc"',
            "ok",
            "2026-11-01T00:00:00Z",
            0,
            None,
        ],
    )
    db.execute(
        "INSERT INTO sources (id, kind, url, every) VALUES ('reuters', 'feed', 'https://r.example/feed', '15m')"
    )
    if has_stories:
        db.execute(
            "INSERT INTO stories (id, title, first_seen_at, updated_at) VALUES"
            " ('s1', 'Additions to the Entity List', '2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z')"
        )
    for n in range(30):
        source = "fr-bis" if n % 2 else "reuters"
        item_id = f"item-{n:02d}"
        db.execute(
            "INSERT INTO items (id, source_id, url, title, summary, body, published_at,"
            " date_estimated, fetched_at, updated_at, content_hash, meta)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item_id,
                source,
                f"https://example.org/doc/{n}",
                f"Additions to the Entity List, part {n}",
                f"Summary {n} of export controls",
                f"Body {n}: the Bureau of Industry and Security adds entities"
                + (" 中文" if n == 7 else ""),
                f"2026-11-{1 + n % 28:02d}T12:00:00Z",
                n % 3 == 0,
                f"2026-11-{1 + n % 28:02d}T12:05:00Z",
                None if n % 4 else "2026-11-29T00:00:00Z",
                f"hash{n}",
                json.dumps({"form": "8-K", "n": n}),
            ],
        )
        if has_stories and n < 3:
            db.execute("UPDATE items SET story_id = 's1' WHERE id = ?", [item_id])
        db.execute(
            "INSERT INTO item_sources (item_id, source_id, entry_key, first_seen_at) VALUES (?, ?, ?, ?)",
            [item_id, source, f"guid:{n}", "2026-11-01T00:00:00Z"],
        )
        db.execute(
            "INSERT INTO item_tags (item_id, category, score, method, evidence) VALUES (?, ?, ?, ?, ?)",
            [item_id, "policy_shifts", 0.5 + n / 100, "rules", json.dumps(["Entity List"])],
        )
        db.execute(
            'INSERT INTO entities (item_id, label, text, start, "end", entity_id) VALUES (?, ?, ?, ?, ?, ?)',
            [item_id, "REGULATOR", "Bureau of Industry and Security", 3, 34, "bis"],
        )
        db.execute(
            "INSERT INTO facts (item_id, kind, value, unit, text, origin) VALUES (?, ?, ?, ?, ?, ?)",
            [item_id, "money", 1e9 * n, "USD", f"${n} billion", "tagger" if n % 2 else "source"],
        )
    db.execute(
        "INSERT INTO fetches (source_id, started_at, outcome, http_status, bytes, sha256, duration_ms,"
        " items_seen, items_new, items_updated, error, warnings)"
        " VALUES ('fr-bis', '2026-11-01T00:00:00Z', 'ok', 200, 1234, 'ab', 120, 30, 15, 0, NULL, '[]')"
    )
    db.execute(
        "INSERT INTO deliveries (rule, channel, window_start, window_end, status, item_ids, sent_at,"
        " external_id, error) VALUES ('daily-slack', 'slack', '2026-11-01T13:00:00Z',"
        " '2026-11-02T13:00:00Z', 'sent', ?, '2026-11-02T13:00:05Z', '1700000000.000100', NULL)",
        [json.dumps(["item-01", "item-02"])],
    )
    if db["rule_marks"].exists():
        db.execute(
            "INSERT INTO rule_marks (rule, evaluated_until) VALUES ('alert', '2026-11-02T00:00:00Z')"
        )
    db.conn.commit()


def _user_tables(db: sqlite_utils.Database) -> list[str]:
    fts_shadows = {f"items_fts_{s}" for s in ("data", "idx", "docsize", "config", "content")}
    return [
        name
        for name in db.table_names()
        if not name.startswith("sqlite_") and name not in fts_shadows and name != "items_fts"
    ]


def _snapshot(db: sqlite_utils.Database) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    out = {}
    for table in _user_tables(db):
        columns = [c.name for c in db[table].columns]
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = db.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {quoted}').fetchall()
        out[table] = (columns, rows)
    return out


@pytest.mark.parametrize("stop_before", NAMES[1:])
def test_an_older_archive_upgrades_without_losing_a_row(tmp_path: Path, stop_before: str) -> None:
    path = tmp_path / "old.db"
    old = _old_archive(path, stop_before)
    assert stop_before not in {m.name for m in MIGRATIONS.applied(old)}
    _fill(old)
    before = _snapshot(old)
    old.close()

    db = open_archive(path)
    assert [m.name for m in MIGRATIONS.applied(db)][-1] == NAMES[-1]
    assert not MIGRATIONS.pending(db)
    after = _snapshot(db)
    for table, (columns, rows) in before.items():
        if table == "_sqlite_migrations":
            continue
        quoted = ", ".join(f'"{c}"' for c in columns)
        kept = db.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {quoted}').fetchall()
        assert kept == rows, f"{table}: rows changed by the upgrade"
        assert set(columns) <= set(after[table][0])
    assert len(before["items"][1]) == 30 and len(before["item_tags"][1]) == 30
    # the full-text index still finds old rows, and new rows go in beside them
    hits = db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'bureau'").fetchone()[0]
    assert hits == 30
    assert (
        db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH '中文'").fetchone()[0] == 1
    )
    db.execute(
        "INSERT INTO items (id, source_id, title, published_at, fetched_at, content_hash)"
        " VALUES ('fresh', 'reuters', 'Bureau news after the upgrade', '2026-11-30T00:00:00Z',"
        " '2026-11-30T00:00:00Z', 'h')"
    )
    db.conn.commit()
    assert (
        db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'bureau'").fetchone()[0]
        == 31
    )
    # and cascades reach rows written before the upgrade
    db.execute("DELETE FROM items WHERE id = 'item-29'")
    db.conn.commit()
    assert db.execute("SELECT count(*) FROM item_tags WHERE item_id = 'item-29'").fetchone()[0] == 0
    db.close()


def test_an_upgraded_archive_gets_its_stories_from_a_rebuild(tmp_path: Path) -> None:
    from signals.stories import rebuild

    path = tmp_path / "old.db"
    old = _old_archive(path, "0650_story_keys")
    _fill(old)
    old.close()
    db = open_archive(path)
    report = rebuild(db)
    assert report.items == 30  # every item visited
    assert db.execute("SELECT count(DISTINCT item) FROM story_keys").fetchone()[0] == 30
