"""What rules and digests read from the archive, as plain typed values.

The rule engine and the digest builder are pure: they get these objects and a ``now``
and never touch SQLite. This module is the one place that turns archive rows (items and
their tags, entities, facts, sources and stories) into them, so the pure core can be
tested with hand-made values and the SQL is written once.

Time in the archive is ISO 8601 UTC text; "first seen" is ``items.fetched_at``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from signals.times import parse_utc_iso, to_utc_iso


@dataclass(frozen=True)
class Tag:
    score: float
    evidence: tuple[str, ...] = ()
    method: str = ""


@dataclass(frozen=True)
class EntityRef:
    label: str
    text: str
    entity_id: str | None


@dataclass(frozen=True)
class Fact:
    kind: str
    value: float | None
    unit: str | None
    text: str | None


@dataclass(frozen=True)
class ItemView:
    """One archived item with everything a rule or a digest line may need."""

    id: str
    source_id: str
    title: str
    url: str | None
    published_at: datetime
    first_seen_at: datetime
    summary: str = ""
    body: str = ""
    source_kind: str = "feed"
    source_name: str = ""
    updated_at: datetime | None = None
    story_id: str | None = None
    tags: Mapping[str, Tag] = field(default_factory=dict)
    entities: tuple[EntityRef, ...] = ()
    facts: tuple[Fact, ...] = ()
    sources: tuple[str, ...] = ()  # every source that carried it (item_sources)

    @property
    def story_key(self) -> str:
        """Items of one story collapse into one digest line (``COALESCE(story_id, id)``)."""
        return self.story_id or self.id

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.summary}\n{self.body}"


@dataclass(frozen=True)
class SourceView:
    """A source's health and recent publishing rhythm, for health footers and flatlines."""

    id: str
    name: str
    kind: str
    enabled: bool
    last_status: str | None
    last_error: str | None
    error_count: int
    last_ok_at: datetime | None
    last_checked_at: datetime | None
    recent: tuple[datetime, ...] = ()  # when its newest items were first seen, newest first


@dataclass(frozen=True)
class DatedFact:
    """An upcoming date (effective date, comment deadline) and the item that states it."""

    kind: str
    date: str  # YYYY-MM-DD
    item: ItemView


_ITEM_COLUMNS = """
    i.id, i.source_id, i.title, i.url, i.published_at, i.fetched_at, i.summary, i.body,
    COALESCE(s.kind, 'feed'), COALESCE(s.name, i.source_id), i.updated_at, i.story_id
"""


def _when(text: str | None) -> datetime | None:
    return parse_utc_iso(text) if text else None


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def load_items(
    db: sqlite_utils.Database,
    since: datetime,
    until: datetime,
    *,
    include_updated: bool = False,
) -> list[ItemView]:
    """Items first seen in ``[since, until)`` (and, if asked, updated in it), fully loaded."""
    where = "fetched_at >= :since AND fetched_at < :until"
    if include_updated:
        where = f"({where}) OR (updated_at >= :since AND updated_at < :until)"
    params = {"since": to_utc_iso(since), "until": to_utc_iso(until)}
    rows = db.execute(
        f"SELECT {_ITEM_COLUMNS} FROM items i LEFT JOIN sources s ON s.id = i.source_id"
        f" WHERE i.id IN (SELECT id FROM items WHERE {where}) ORDER BY i.fetched_at, i.id",
        params,
    ).fetchall()
    # One query per related table for the whole window (a sub-select, not long IN lists).
    return _complete(db, rows, [(f"SELECT id FROM items WHERE {where}", params)])


def load_items_by_id(db: sqlite_utils.Database, ids: Sequence[str]) -> list[ItemView]:
    rows: list[Any] = []
    selections = []
    for chunk in _chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        rows += db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items i LEFT JOIN sources s ON s.id = i.source_id"
            f" WHERE i.id IN ({marks})",
            list(chunk),
        ).fetchall()
        selections.append((marks, list(chunk)))
    return _complete(db, rows, selections)


def _complete(
    db: sqlite_utils.Database, rows: Sequence[Any], selections: Sequence[tuple[str, Any]]
) -> list[ItemView]:
    """Attach tags, entities, facts and carrying sources to item rows, in bulk.

    ``selections`` are (SQL selecting item ids, its parameters), together covering ``rows``.
    """
    tags: dict[str, dict[str, Tag]] = defaultdict(dict)
    entities: dict[str, list[EntityRef]] = defaultdict(list)
    facts: dict[str, list[Fact]] = defaultdict(list)
    carriers: dict[str, list[str]] = defaultdict(list)
    for selection, params in selections:
        for item_id, category, score, method, evidence in db.execute(
            "SELECT item_id, category, score, method, evidence FROM item_tags"
            f" WHERE item_id IN ({selection})",
            params,
        ).fetchall():
            tags[item_id][category] = Tag(float(score), _evidence(evidence), method or "")
        for item_id, label, text, entity_id in db.execute(
            "SELECT item_id, label, text, entity_id FROM entities"
            f" WHERE item_id IN ({selection}) ORDER BY item_id, start",
            params,
        ).fetchall():
            entities[item_id].append(EntityRef(label, text, entity_id))
        for item_id, kind, value, unit, text in db.execute(
            f"SELECT item_id, kind, value, unit, text FROM facts WHERE item_id IN ({selection})",
            params,
        ).fetchall():
            facts[item_id].append(Fact(kind, value, unit, text))
        for item_id, source_id in db.execute(
            "SELECT item_id, source_id FROM item_sources"
            f" WHERE item_id IN ({selection}) ORDER BY first_seen_at, source_id",
            params,
        ).fetchall():
            if source_id not in carriers[item_id]:
                carriers[item_id].append(source_id)
    return [
        ItemView(
            id=row[0],
            source_id=row[1],
            title=row[2],
            url=row[3],
            published_at=parse_utc_iso(row[4]),
            first_seen_at=parse_utc_iso(row[5]),
            summary=row[6] or "",
            body=row[7] or "",
            source_kind=row[8],
            source_name=row[9],
            updated_at=_when(row[10]),
            story_id=row[11],
            tags=tags.get(row[0], {}),
            entities=tuple(entities.get(row[0], ())),
            facts=tuple(facts.get(row[0], ())),
            sources=tuple(carriers.get(row[0]) or (row[1],)),
        )
        for row in rows
    ]


def _evidence(raw: str | None) -> tuple[str, ...]:
    """item_tags.evidence is a JSON array of matched spans; tolerate anything else."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return (str(raw),)
    if isinstance(value, list):
        return tuple(str(v) for v in value if v not in (None, ""))
    return (str(value),)


def load_sources(db: sqlite_utils.Database, recent: int = 30) -> list[SourceView]:
    """Every source with its health and when its newest items were first seen.

    "Newest" is by the time this source first carried an item (``item_sources``), so a
    source whose stories are mostly also carried elsewhere still shows its own rhythm.
    One index-only query per source (``item_sources_source_seen``).
    """
    rows = db.execute(
        "SELECT id, COALESCE(name, id), kind, enabled, last_status, last_error, error_count,"
        " last_ok_at, last_checked_at FROM sources ORDER BY id"
    ).fetchall()
    views = []
    for row in rows:
        times = db.execute(
            "SELECT first_seen_at FROM item_sources WHERE source_id = ?"
            " ORDER BY first_seen_at DESC LIMIT ?",
            [row[0], recent],
        ).fetchall()
        views.append(
            SourceView(
                id=row[0],
                name=row[1],
                kind=row[2],
                enabled=bool(row[3]),
                last_status=row[4],
                last_error=row[5],
                error_count=int(row[6] or 0),
                last_ok_at=_when(row[7]),
                last_checked_at=_when(row[8]),
                recent=tuple(parse_utc_iso(t) for (t,) in times),
            )
        )
    return views


def load_dated_facts(
    db: sqlite_utils.Database, kinds: Sequence[str], first: str, last: str
) -> list[DatedFact]:
    """Date facts (``text`` = YYYY-MM-DD) between two dates inclusive, with their items."""
    marks = ",".join("?" * len(kinds))
    rows = db.execute(
        f"SELECT DISTINCT item_id, kind, text FROM facts WHERE kind IN ({marks})"
        " AND text >= ? AND text <= ? ORDER BY text, kind, item_id",
        [*kinds, first, last],
    ).fetchall()
    items = {item.id: item for item in load_items_by_id(db, sorted({r[0] for r in rows}))}
    return [
        DatedFact(kind, text, items[item_id]) for item_id, kind, text in rows if item_id in items
    ]


def entity_first_seen(db: sqlite_utils.Database, keys: Sequence[str]) -> dict[str, datetime]:
    """When each entity (``entity:<id>`` or ``text:<label>:<text>``) first appeared."""
    first: dict[str, datetime] = {}
    ids = [k.removeprefix("entity:") for k in keys if k.startswith("entity:")]
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for entity_id, seen in db.execute(
            "SELECT e.entity_id, min(i.fetched_at) FROM entities e JOIN items i ON i.id = e.item_id"
            f" WHERE e.entity_id IN ({marks}) GROUP BY e.entity_id",
            list(chunk),
        ).fetchall():
            first[f"entity:{entity_id}"] = parse_utc_iso(seen)
    for key in keys:
        if not key.startswith("text:"):
            continue
        label, _, text = key.removeprefix("text:").partition(":")
        row = db.execute(
            "SELECT min(i.fetched_at) FROM entities e JOIN items i ON i.id = e.item_id"
            " WHERE e.entity_id IS NULL AND e.label = ? AND lower(e.text) = ?",
            [label, text.lower()],
        ).fetchone()
        if row and row[0]:
            first[key] = parse_utc_iso(row[0])
    return first


def archive_started_at(db: sqlite_utils.Database) -> datetime | None:
    """When the archive began collecting (its first poll), or None if it never polled."""
    row = db.execute("SELECT min(started_at) FROM fetches").fetchone()
    first_poll = row[0] if row else None
    row = db.execute("SELECT min(fetched_at) FROM items").fetchone()
    first_item = row[0] if row else None
    candidates = [t for t in (first_poll, first_item) if t]
    return parse_utc_iso(min(candidates)) if candidates else None


def story_keys(db: sqlite_utils.Database, item_ids: Iterable[str]) -> set[str]:
    """The *current* story key of each item (``COALESCE(story_id, id)``).

    Stories form after the fact: an item told alone may join a story when a second
    source reports it. Suppression asks "was this story told?" with today's stories, not
    with the keys recorded when the first item went out. An item no longer in the archive
    keeps its own id as its key.
    """
    wanted = list(dict.fromkeys(item_ids))
    keys: set[str] = set()
    found: set[str] = set()
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        for item_id, key in db.execute(
            f"SELECT id, COALESCE(story_id, id) FROM items WHERE id IN ({marks})", list(chunk)
        ).fetchall():
            found.add(item_id)
            keys.add(key)
    return keys | (set(wanted) - found)
