"""Write one source poll to the archive: items, their sources, the fetch record, source health.

Everything for one poll happens in one transaction (the caller's ``db.atomic()``), so a
process killed mid-poll leaves the archive as it was before that poll, and the rerun
neither loses nor doubles anything. Identity rules live in ``normalize``; this module only
decides new / updated / already known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from signals.config import Config
from signals.model import Item
from signals.redact import redact_url
from signals.units import format_duration


@dataclass(frozen=True)
class StoredItem:
    """An item this poll inserted (``is_new``) or whose title or text changed."""

    item: Item
    is_new: bool


@dataclass
class StoreCounts:
    seen: int = 0
    new: int = 0
    updated: int = 0
    linked: int = 0  # already archived from another source; recorded in item_sources


@dataclass(frozen=True)
class SourceState:
    """What the archive remembers about a source between polls."""

    id: str
    url: str
    etag: str | None
    last_modified: str | None
    next_check_at: str | None
    retry_after_until: str | None
    error_count: int
    last_status: str | None


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


def sync_sources(db: sqlite_utils.Database, config: Config) -> None:
    """Mirror sources.toml into the ``sources`` table without losing any history.

    A source removed from the file is disabled, not deleted (its items stay). A changed URL
    drops the validators, which belong to the old URL.
    """
    from signals.archive import write_transaction

    with write_transaction(db):
        configured = set()
        for source in config.sources:
            configured.add(source.id)
            db.execute(
                """
                INSERT INTO sources (id, name, kind, url, every, hint, enabled)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    next_check_at = CASE
                        WHEN sources.every IS NOT excluded.every OR sources.url IS NOT excluded.url
                        THEN NULL ELSE sources.next_check_at END,
                    name = excluded.name, kind = excluded.kind, every = excluded.every,
                    hint = excluded.hint, enabled = excluded.enabled,
                    etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
                    last_modified = CASE WHEN sources.url = excluded.url
                                         THEN sources.last_modified END,
                    url = excluded.url
                """,
                [
                    source.id,
                    source.name,
                    source.kind,
                    redact_url(source.url),
                    format_duration(source.every),
                    _json(list(source.hint)),
                    int(source.enabled),
                ],
            )
        for (source_id,) in db.execute("SELECT id FROM sources WHERE enabled = 1").fetchall():
            if source_id not in configured:
                db.execute("UPDATE sources SET enabled = 0 WHERE id = ?", [source_id])


def source_states(db: sqlite_utils.Database) -> dict[str, SourceState]:
    rows = db.execute(
        "SELECT id, url, etag, last_modified, next_check_at, retry_after_until, error_count,"
        " last_status FROM sources"
    ).fetchall()
    return {row[0]: SourceState(*row) for row in rows}


def known_entry_keys(db: sqlite_utils.Database, source_id: str) -> set[str]:
    rows = db.execute("SELECT entry_key FROM item_sources WHERE source_id = ?", [source_id])
    return {row[0] for row in rows.fetchall()}


def _is_site_root(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _known(
    db: sqlite_utils.Database, source_id: str, keys: Sequence[str]
) -> dict[str, tuple[str, str, str]]:
    """entry_key -> (item id, origin source, content hash) for keys this source has seen."""
    known: dict[str, tuple[str, str, str]] = {}
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            "SELECT s.entry_key, i.id, i.source_id, i.content_hash FROM item_sources s"
            f" JOIN items i ON i.id = s.item_id WHERE s.source_id = ? AND s.entry_key IN ({marks})",
            [source_id, *chunk],
        )
        known.update((row[0], (row[1], row[2], row[3])) for row in rows.fetchall())
    return known


def _twins(db: sqlite_utils.Database, source_id: str, urls: Sequence[str]) -> dict[str, str]:
    """canonical URL -> id of an item another source already brought."""
    twins: dict[str, str] = {}
    for chunk in _chunks(urls):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT url, min(id) FROM items WHERE url IN ({marks}) AND source_id != ?"
            " GROUP BY url",
            [*chunk, source_id],
        )
        twins.update((row[0], row[1]) for row in rows.fetchall())
    return twins


def store_items(
    db: sqlite_utils.Database,
    source_id: str,
    items: Sequence[Item],
    now: str,
    *,
    link_by_url: bool = True,
) -> tuple[list[StoredItem], StoreCounts]:
    """Insert new items, update changed ones, link ones other sources already brought.

    ``link_by_url=False`` is for kinds whose rows share a URL without being the same
    document (a leaderboard's per-system detail page): they never merge into another
    source's item.
    """
    counts = StoreCounts(seen=len(items))
    stored: list[StoredItem] = []
    known = _known(db, source_id, [item.entry_key for item in items])
    fresh: list[Item] = []
    for item in items:
        hit = known.get(item.entry_key)
        if hit is None:
            fresh.append(item)
            continue
        existing_id, origin, old_hash = hit
        # Only the source that first brought an item may rewrite it; otherwise two
        # sources with different titles for one story would flip it on every poll.
        if origin == source_id and old_hash != item.content_hash:
            _update_item(db, existing_id, item, now)
            item.id = existing_id
            stored.append(StoredItem(item=item, is_new=False))
            counts.updated += 1
    urls = [i.url for i in fresh if i.url and not _is_site_root(i.url)] if link_by_url else []
    twins = _twins(db, source_id, urls)
    rows: list[list[Any]] = []
    links: list[tuple[str, str, str, str]] = []
    for item in fresh:
        twin = twins.get(item.url or "")
        if twin is not None:
            links.append((twin, source_id, item.entry_key, now))
            _merge_into_twin(db, twin, item)
            counts.linked += 1
            continue
        rows.append(
            [
                item.id,
                source_id,
                item.url,
                item.title,
                item.summary,
                item.body,
                item.published_at,
                int(item.date_estimated),
                now,
                item.content_hash,
                _json(item.meta),
            ]
        )
        links.append((item.id, source_id, item.entry_key, now))
        stored.append(StoredItem(item=item, is_new=True))
        counts.new += 1
    db.conn.executemany(
        """
        INSERT INTO items (id, source_id, url, title, summary, body, published_at,
                           date_estimated, fetched_at, updated_at, content_hash, meta)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
        ON CONFLICT(id) DO NOTHING
        """,
        rows,
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_key, first_seen_at)"
        " VALUES (?, ?, ?, ?)",
        links,
    )
    for entry in stored:
        if entry.is_new and entry.item.facts:
            _insert_source_facts(db, entry.item.id, entry.item.facts)
    return stored, counts


def _update_item(db: sqlite_utils.Database, item_id: str, item: Item, now: str) -> None:
    # An estimated date is the first-seen time: keep the one recorded then.
    db.execute(
        """
        UPDATE items SET url = ?, title = ?, summary = ?,
            body = CASE WHEN ? = '' THEN body ELSE ? END, content_hash = ?,
            meta = ?, updated_at = ?,
            published_at = CASE WHEN ? THEN published_at ELSE ? END,
            date_estimated = CASE WHEN ? THEN date_estimated ELSE 0 END
        WHERE id = ?
        """,
        [
            item.url,
            item.title,
            item.summary,
            item.body,
            item.body,
            item.content_hash,
            _json(item.meta),
            now,
            int(item.date_estimated),
            item.published_at,
            int(item.date_estimated),
            item_id,
        ],
    )
    _replace_source_facts(db, item_id, item.facts)
    if not item.body:  # enrichers (the tagger) must see the body the archive kept
        row = db.execute("SELECT body FROM items WHERE id = ?", [item_id]).fetchone()
        item.body = row[0] if row else ""


def _merge_into_twin(db: sqlite_utils.Database, twin_id: str, item: Item) -> None:
    """A second source's structured data (e.g. an API's effective date for a document an RSS
    feed brought first) is added to the item: meta keys it lacks, facts it lacks."""
    if item.meta:
        db.execute(
            "UPDATE items SET meta = json_patch(?, COALESCE(meta, '{}')) WHERE id = ?",
            [_json(item.meta), twin_id],
        )
    for fact in item.facts:
        db.execute(
            "INSERT INTO facts (item_id, kind, value, unit, text, origin)"
            " SELECT ?, ?, ?, ?, ?, 'source' WHERE NOT EXISTS (SELECT 1 FROM facts"
            " WHERE item_id = ? AND kind = ? AND text IS ? AND origin = 'source')",
            [
                twin_id,
                fact["kind"],
                fact.get("value"),
                fact.get("unit"),
                fact.get("text"),
                twin_id,
                fact["kind"],
                fact.get("text"),
            ],
        )


def _replace_source_facts(
    db: sqlite_utils.Database, item_id: str, facts: Sequence[dict[str, Any]]
) -> None:
    db.execute("DELETE FROM facts WHERE item_id = ? AND origin = 'source'", [item_id])
    _insert_source_facts(db, item_id, facts)


def _insert_source_facts(
    db: sqlite_utils.Database, item_id: str, facts: Sequence[dict[str, Any]]
) -> None:
    """Facts a parser read from the source itself (e.g. a benchmark score), not the tagger's."""
    for fact in facts:
        db.execute(
            "INSERT INTO facts (item_id, kind, value, unit, text, origin)"
            " VALUES (?, ?, ?, ?, ?, 'source')",
            [item_id, fact["kind"], fact.get("value"), fact.get("unit"), fact.get("text")],
        )


@dataclass(frozen=True)
class FetchRecord:
    """One row of ``fetches`` plus the source-health update that goes with it."""

    source_id: str
    started_at: str
    outcome: str
    http_status: int | None
    bytes: int | None
    sha256: str | None
    duration_ms: int
    error: str | None
    warnings: Sequence[str]
    etag: str | None
    last_modified: str | None
    next_check_at: str
    retry_after_until: str | None


def record_fetch(
    db: sqlite_utils.Database, record: FetchRecord, counts: StoreCounts, succeeded: bool
) -> None:
    """Append to ``fetches`` and update the source's health columns."""
    db.execute(
        """
        INSERT INTO fetches (source_id, started_at, outcome, http_status, bytes, sha256,
                             duration_ms, items_seen, items_new, items_updated, error, warnings)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            record.source_id,
            record.started_at,
            record.outcome,
            record.http_status,
            record.bytes,
            record.sha256,
            record.duration_ms,
            counts.seen,
            counts.new,
            counts.updated,
            record.error,
            _json(list(record.warnings)),
        ],
    )
    if succeeded:
        db.execute(
            """
            UPDATE sources SET last_status = ?, last_checked_at = ?, last_ok_at = ?,
                error_count = 0, last_error = NULL, next_check_at = ?, retry_after_until = NULL,
                etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified)
            WHERE id = ?
            """,
            [
                record.outcome,
                record.started_at,
                record.started_at,
                record.next_check_at,
                record.etag,
                record.last_modified,
                record.source_id,
            ],
        )
    else:
        db.execute(
            """
            UPDATE sources SET last_status = ?, last_checked_at = ?,
                error_count = error_count + 1, last_error = ?, next_check_at = ?,
                retry_after_until = ?
            WHERE id = ?
            """,
            [
                record.outcome,
                record.started_at,
                record.error,
                record.next_check_at,
                record.retry_after_until,
                record.source_id,
            ],
        )
