"""Open the SQLite archive: WAL mode, foreign keys, and every pending schema migration.

The schema is a contract with analysts (see docs/archive.md); it changes only through a
new migration appended to ``MIGRATIONS``, never by editing an applied one, so an older
archive upgrades in place without losing a row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from signals.errors import ArchiveError

MIGRATIONS = Migrations("signals")


@MIGRATIONS(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            name TEXT,
            kind TEXT NOT NULL,
            url TEXT NOT NULL,
            every TEXT NOT NULL,
            hint TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            next_check_at TEXT,
            retry_after_until TEXT,
            etag TEXT,
            last_modified TEXT,
            last_status TEXT,
            last_checked_at TEXT,
            last_ok_at TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id),
            url TEXT,
            title TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            published_at TEXT NOT NULL,
            date_estimated INTEGER NOT NULL DEFAULT 0,
            fetched_at TEXT NOT NULL,
            updated_at TEXT,
            content_hash TEXT NOT NULL,
            meta TEXT
        );
        CREATE INDEX items_url ON items(url);
        CREATE INDEX items_published_at ON items(published_at);
        CREATE INDEX items_fetched_at ON items(fetched_at);
        CREATE INDEX items_source_published ON items(source_id, published_at);
        CREATE TABLE item_sources (
            item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            source_id TEXT NOT NULL REFERENCES sources(id),
            entry_key TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            PRIMARY KEY (source_id, entry_key)
        );
        CREATE INDEX item_sources_item ON item_sources(item_id);
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id),
            started_at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            bytes INTEGER,
            sha256 TEXT,
            duration_ms INTEGER,
            items_seen INTEGER NOT NULL DEFAULT 0,
            items_new INTEGER NOT NULL DEFAULT 0,
            items_updated INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            warnings TEXT
        );
        CREATE INDEX fetches_source_started ON fetches(source_id, started_at);
        CREATE TABLE item_tags (
            item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            category TEXT NOT NULL,
            score REAL NOT NULL,
            method TEXT NOT NULL,
            evidence TEXT,
            PRIMARY KEY (item_id, category)
        );
        CREATE INDEX item_tags_category ON item_tags(category, score);
        CREATE TABLE entities (
            item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            text TEXT NOT NULL,
            start INTEGER,
            "end" INTEGER,
            entity_id TEXT
        );
        CREATE INDEX entities_item ON entities(item_id);
        CREATE INDEX entities_entity ON entities(entity_id);
        CREATE TABLE facts (
            item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value REAL,
            unit TEXT,
            text TEXT,
            origin TEXT NOT NULL DEFAULT 'tagger'
        );
        CREATE INDEX facts_item ON facts(item_id);
        CREATE INDEX facts_kind ON facts(kind, value);
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            channel TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            status TEXT NOT NULL,
            item_ids TEXT,
            sent_at TEXT,
            external_id TEXT,
            error TEXT,
            UNIQUE (rule, channel, window_start, window_end)
        );
        """
    )
    db.table("items").enable_fts(
        ["title", "summary", "body"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="porter unicode61 remove_diacritics 2",
    )


@MIGRATIONS(name="0002_stories")
def _stories(db: sqlite_utils.Database) -> None:
    # Stories group items that report the same event; assigned by signals.stories.
    db.executescript(
        """
        CREATE TABLE stories (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        ALTER TABLE items ADD COLUMN story_id TEXT REFERENCES stories(id);
        CREATE INDEX items_story ON items(story_id);
        """
    )


@MIGRATIONS(name="0500_delivery_ledger")
def _delivery_ledger(db: sqlite_utils.Database) -> None:
    # What exactly-once delivery needs beyond the contract columns of `deliveries`
    # (issue 5): suppression keys of an alert, attempts and who holds a send in flight,
    # and the checkpoint of a multi-part send (Slack thread); `rule_marks` remembers up
    # to when each alert rule has been evaluated, so no item is looked at twice. Two
    # indexes serve alerts (changed items) and health footers (each source's rhythm).
    db.executescript(
        """
        ALTER TABLE deliveries ADD COLUMN keys TEXT;
        ALTER TABLE deliveries ADD COLUMN transport TEXT;
        ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE deliveries ADD COLUMN attempted_at TEXT;
        ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
        ALTER TABLE deliveries ADD COLUMN progress TEXT;
        CREATE INDEX deliveries_rule_end ON deliveries(rule, channel, window_end);
        CREATE INDEX items_updated_at ON items(updated_at);
        CREATE INDEX item_sources_source_seen ON item_sources(source_id, first_seen_at);
        CREATE INDEX deliveries_status ON deliveries(status);
        CREATE TABLE rule_marks (
            rule TEXT PRIMARY KEY,
            evaluated_until TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0400_tagging")
def _tagging(db: sqlite_utils.Database) -> None:
    # Which taxonomy version (digest of rules/categories.toml) tagged each item and when:
    # `signals tag` re-tags only the items never tagged unless asked for all (issue 4).
    db.executescript(
        """
        CREATE TABLE tagged_items (
            item_id TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
            taxonomy TEXT NOT NULL,
            tagged_at TEXT NOT NULL
        );
        CREATE INDEX facts_item_origin ON facts(item_id, origin);
        """
    )


@MIGRATIONS(name="0600_views")
def _views(db: sqlite_utils.Database) -> None:
    # Views for people reading the archive (sqlite3, Datasette): one row per item with its
    # categories, entities and story; category counts per day and per week; source health.
    # Each is plain SQL over indexed lookups (no materialized copies to keep in sync), so a
    # filtered or LIMITed read of a view costs what the same read of its tables costs.
    db.executescript(
        """
        CREATE VIEW items_overview AS
        SELECT i.rowid AS item_rowid,
               i.id,
               i.published_at,
               i.fetched_at,
               i.source_id,
               i.title,
               i.url,
               (SELECT json_group_array(category) FROM (
                    SELECT t.category FROM item_tags t WHERE t.item_id = i.id
                    ORDER BY t.score DESC, t.category)) AS categories,
               (SELECT json_group_object(category, score) FROM (
                    SELECT t.category, round(t.score, 3) AS score FROM item_tags t
                    WHERE t.item_id = i.id ORDER BY t.score DESC, t.category)) AS scores,
               (SELECT t.category FROM item_tags t WHERE t.item_id = i.id
                ORDER BY t.score DESC, t.category LIMIT 1) AS top_category,
               (SELECT max(t.score) FROM item_tags t WHERE t.item_id = i.id) AS top_score,
               (SELECT json_group_array(entity_id) FROM (
                    SELECT DISTINCT e.entity_id FROM entities e
                    WHERE e.item_id = i.id AND e.entity_id IS NOT NULL
                    ORDER BY e.entity_id)) AS entity_ids,
               (SELECT count(*) FROM item_sources x WHERE x.item_id = i.id) AS source_count,
               i.story_id,
               st.title AS story_title
        FROM items i
        LEFT JOIN stories st ON st.id = i.story_id;

        CREATE VIEW category_daily AS
        SELECT substr(i.published_at, 1, 10) AS day,
               t.category,
               count(*) AS items,
               round(avg(t.score), 3) AS avg_score
        FROM item_tags t
        JOIN items i ON i.id = t.item_id
        GROUP BY day, t.category;

        CREATE VIEW category_weekly AS
        SELECT date(i.published_at, 'weekday 0', '-6 days') AS week_start,
               t.category,
               count(*) AS items,
               round(avg(t.score), 3) AS avg_score
        FROM item_tags t
        JOIN items i ON i.id = t.item_id
        GROUP BY week_start, t.category;

        CREATE VIEW source_health AS
        SELECT s.id,
               s.name,
               s.kind,
               s.enabled,
               s.last_status,
               s.last_checked_at,
               s.last_ok_at,
               s.error_count,
               s.last_error,
               (SELECT count(*) FROM item_sources x WHERE x.source_id = s.id) AS items,
               (SELECT max(x.first_seen_at) FROM item_sources x
                WHERE x.source_id = s.id) AS last_item_at,
               (SELECT f.outcome FROM fetches f WHERE f.source_id = s.id
                ORDER BY f.started_at DESC, f.id DESC LIMIT 1) AS last_fetch_outcome,
               (SELECT f.started_at FROM fetches f WHERE f.source_id = s.id
                ORDER BY f.started_at DESC, f.id DESC LIMIT 1) AS last_fetch_at,
               COALESCE(s.retry_after_until, s.next_check_at) AS next_check_at
        FROM sources s;
        """
    )


@MIGRATIONS(name="0601_items_by_date")
def _items_by_date(db: sqlite_utils.Database) -> None:
    # Analysts' questions start from a period ("last 30 days"): this index answers "which
    # items, from which source, were published then" without reading the item rows (whose
    # bodies make them large), so period queries on millions of items read only the index.
    db.executescript("CREATE INDEX items_published_id ON items(published_at, id, source_id);")


@MIGRATIONS(name="0650_story_keys")
def _story_keys(db: sqlite_utils.Database) -> None:
    # The candidate index of story grouping (signals.stories): a few integer keys per item
    # (MinHash bands of its title and summary opening, its loose URL, its document ids)
    # under the day it was published, so a new item finds the items of the surrounding
    # week that share a key with one index seek per (day, key), however large the archive.
    # `item` is items.rowid, which VACUUM keeps (the FTS index relies on it too). Day
    # first: retention drops old days as one range. Archives from before this migration
    # get their keys from `signals stories --rebuild`.
    db.executescript(
        """
        CREATE TABLE story_keys (
            day INTEGER NOT NULL,
            key INTEGER NOT NULL,
            item INTEGER NOT NULL,
            PRIMARY KEY (day, key, item)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS(name="0660_drop_items_published_at")
def _drop_items_published_at(db: sqlite_utils.Database) -> None:
    # items_published_id (0601) leads with published_at, so it serves every query the older
    # single-column index served; one index fewer to update on every stored item.
    db.executescript("DROP INDEX IF EXISTS items_published_at;")


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One transaction that takes SQLite's write lock before its first read.

    A deferred ``BEGIN`` that reads first and writes later fails at once with "database
    is locked" when another process committed in between (busy_timeout cannot help, the
    snapshot is stale); ``BEGIN IMMEDIATE`` waits for the lock instead, up to busy_timeout.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    else:
        conn.execute("COMMIT")


def open_archive(path: str | Path, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (creating and migrating unless read-only) the archive at ``path``."""
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise ArchiveError(f"{path}: no archive here yet (run `signals fetch` first)")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            db = sqlite_utils.Database(conn, execute_plugins=False)
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA query_only = ON")
            return db
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path, execute_plugins=False)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        # 64 MB of page cache (default 2 MB): item ids are hashes, so inserts land all over
        # the primary key and indexes, and a small cache rereads those pages on every poll.
        db.execute("PRAGMA cache_size = -65536")
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: a busy poll rewrites the same
        # index pages many times, and each checkpoint copies (and syncs) them again.
        db.execute("PRAGMA wal_autocheckpoint = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        MIGRATIONS.apply(db)
        return db
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{path}: cannot open the archive: {exc}") from exc
