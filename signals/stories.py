"""Stories: items that report the same event, from several sources or re-titled by one.

Runs as the last enricher of every poll, inside the poll's transaction, on the items the
poll inserted or changed. For each item it looks up candidates in ``story_keys`` (a few
integer keys per item: MinHash bands of the title and of the summary's opening, the
loose URL, document ids; see ``signals.storyprint``), restricted to items published
within ``WINDOW_DAYS`` of it, so the lookup costs a few index seeks however large the
archive is. The best candidate that ``storyprint.compare`` accepts gives its story;
near-identical titles that state different dates, quarters, versions, ECCNs, amounts or
document numbers are never accepted.

A story exists only once two items share it: a lone item has ``story_id`` NULL (digests
group by ``COALESCE(story_id, id)``). A new story takes the id of the item that was there
first, so that item's grouping key does not change when a second source joins. The story
title is the title of its earliest-published item; ``updated_at`` moves when an item joins.

An item keeps its story once it has one: stories are never merged or split behind the
reader's back. ``signals stories --rebuild`` recomputes them from scratch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import sqlite_utils

from signals import storyprint
from signals.archive import write_transaction
from signals.config import Source
from signals.store import StoredItem
from signals.times import parse_utc_iso, to_utc_iso, utcnow

log = logging.getLogger(__name__)

#: Candidates compared per item, those sharing the most keys first.
MAX_CANDIDATES = 25
_EPOCH = date(1970, 1, 1).toordinal()
_CACHE_LIMIT = 50_000

_SELECT = """
    SELECT i.rowid, i.id, i.source_id, i.url, i.title, substr(i.summary, 1, 400),
        i.published_at, i.fetched_at, i.story_id,
        (SELECT entry_key FROM item_sources s  -- "+": look up by item, not by source
         WHERE s.item_id = i.id AND +s.source_id = i.source_id),
        (SELECT kind FROM sources k WHERE k.id = i.source_id)
    FROM items i
"""


@dataclass
class Entry:
    """One archived item as story grouping sees it."""

    rowid: int
    id: str
    source_id: str
    published_at: str
    fetched_at: str
    title: str
    day: int
    hour: float
    print: storyprint.Print
    story_id: str | None


def _url_identity(entry_key: str | None, kind: str | None) -> bool:
    # Entries told apart by their text because they share one link (a newsroom front
    # page), and kinds whose URLs name no document (leaderboards), never match by URL.
    if entry_key and entry_key.startswith("url+text:"):
        return False
    if kind:
        from signals.sources import SOURCE_KINDS

        implementation = SOURCE_KINDS.get(kind)
        return bool(getattr(implementation, "url_identity", True))
    return True


def _entry(row: Sequence[object]) -> Entry:
    story = row[8]
    return Entry(*_parts(tuple(row[:8]), row[9], row[10]), None if story is None else str(story))


@lru_cache(maxsize=20_000)
def _parts(
    columns: tuple[object, ...], key: object, kind: object
) -> tuple[int, str, str, str, str, str, int, float, storyprint.Print]:
    """An entry but its story, a pure function of the row: cached as a whole.

    Fingerprints are the costly part of a lookup, and each poll of each source builds a
    new ``StoryIndex``, while recent items are the candidates of every poll that follows:
    without this a busy cycle rebuilt the same candidates hundreds of times. Keyed by the
    columns themselves, an edited item simply gets a new entry; the story, which changes
    as items join, is read fresh every time.
    """
    rowid, item_id, source_id, url, title, lead, published, fetched = columns
    moment = parse_utc_iso(str(published))
    return (
        int(rowid),  # type: ignore[call-overload]
        str(item_id),
        str(source_id),
        str(published),
        str(fetched),
        str(title),
        moment.date().toordinal() - _EPOCH,
        moment.timestamp() / 3600,
        storyprint.make_print(
            str(title),
            str(lead or ""),
            str(url) if url else None,
            url_identity=_url_identity(str(key) if key else None, str(kind) if kind else None),
        ),
    )


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class StoryIndex:
    """Assigns stories through the ``story_keys`` candidate index of one archive."""

    def __init__(self, db: sqlite_utils.Database, now: str | None = None):
        self.db = db
        self.now = now or to_utc_iso(utcnow())
        self._entries: dict[int, Entry] = {}
        self.joined = 0
        self.created = 0

    def load(self, ids: Sequence[str]) -> list[Entry]:
        """The entries of these item ids, oldest published first."""
        entries: list[Entry] = []
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"{_SELECT} WHERE i.id IN ({marks})", list(chunk))
            entries += [_entry(row) for row in rows.fetchall()]
        return sorted(entries, key=lambda e: (e.published_at, e.rowid))

    def _cached(self, rowids: Sequence[int]) -> dict[int, Entry]:
        missing = [r for r in rowids if r not in self._entries]
        if missing:
            if len(self._entries) > _CACHE_LIMIT:
                self._evict()
            marks = ",".join("?" * len(missing))
            rows = self.db.execute(f"{_SELECT} WHERE i.rowid IN ({marks})", missing).fetchall()
            for row in rows:
                entry = _entry(row)
                self._entries[entry.rowid] = entry
        return {r: self._entries[r] for r in rowids if r in self._entries}

    def _evict(self) -> None:
        """Forget entries no item near the latest one can match (a rebuild moves forward)."""
        latest = max(e.day for e in self._entries.values())
        reach = 2 * storyprint.WINDOW_DAYS
        self._entries = {r: e for r, e in self._entries.items() if e.day >= latest - reach}
        if len(self._entries) > _CACHE_LIMIT // 2:
            self._entries.clear()

    def index(self, entry: Entry, keys: Sequence[int] | None = None) -> None:
        """Make ``entry`` findable by later items."""
        keys = storyprint.keys(entry.print) if keys is None else keys
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO story_keys (day, key, item) VALUES (?, ?, ?)",
            [(entry.day, key, entry.rowid) for key in keys],
        )
        self._entries[entry.rowid] = entry

    def candidates(self, entry: Entry, near: Sequence[int], far: Sequence[int]) -> list[Entry]:
        """Items published around ``entry`` that share a key, most shared keys first.

        ``near`` keys are looked up ``NEAR_DAYS`` around it, ``far`` ones over the window.
        IN lists on both columns of the primary key: one index seek per (day, key) pair.
        """
        parts: list[str] = []
        params: list[int] = []
        for reach, group in ((storyprint.NEAR_DAYS, near), (storyprint.WINDOW_DAYS, far)):
            if group:
                days = range(entry.day - reach, entry.day + reach + 1)
                parts.append(
                    f"SELECT item FROM story_keys WHERE day IN ({','.join('?' * len(days))})"
                    f" AND key IN ({','.join('?' * len(group))})"
                )
                params += [*days, *group]
        if not parts:
            return []
        rows = self.db.execute(
            f"SELECT item, count(*) FROM ({' UNION ALL '.join(parts)}) WHERE item != ?"
            " GROUP BY item ORDER BY count(*) DESC, item LIMIT ?",
            [*params, entry.rowid, MAX_CANDIDATES],
        ).fetchall()
        found = self._cached([row[0] for row in rows])
        return [found[row[0]] for row in rows if row[0] in found]

    def best(self, entry: Entry, near: Sequence[int], far: Sequence[int]) -> Entry | None:
        chosen: tuple[float, str, int] | None = None
        match: Entry | None = None
        for candidate in self.candidates(entry, near, far):
            score = storyprint.compare(
                entry.print,
                candidate.print,
                same_source=candidate.source_id == entry.source_id,
                hours_apart=abs(candidate.hour - entry.hour),
            )
            if score is None:
                continue
            # best score; among equals, the story that began first
            rank = (-score, candidate.published_at, candidate.rowid)
            if chosen is None or rank < chosen:
                chosen, match = rank, candidate
        return match

    def assign(self, entry: Entry) -> str | None:
        """Index ``entry`` and give it the story of its best match, if it has none yet."""
        near, far = storyprint.key_groups(entry.print)
        if entry.story_id is None:
            match = self.best(entry, near, far)
            if match is not None:
                self._join(entry, match)
        self.index(entry, near + far)
        return entry.story_id

    def _join(self, entry: Entry, match: Entry) -> None:
        story = match.story_id
        if story is None:
            story = match.id
            first = min((match, entry), key=lambda e: (e.published_at, e.rowid))
            self.db.execute(
                "INSERT INTO stories (id, title, first_seen_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
                " first_seen_at = excluded.first_seen_at, updated_at = excluded.updated_at",
                [story, first.title, min(match.fetched_at, entry.fetched_at), self.now],
            )
            self.db.execute("UPDATE items SET story_id = ? WHERE rowid = ?", [story, match.rowid])
            match.story_id = story
            self.created += 1
        else:
            # the earliest-published item tells the story
            self.db.execute(
                "UPDATE stories SET updated_at = ?,"
                " first_seen_at = min(first_seen_at, ?),"
                " title = CASE WHEN ? < (SELECT min(published_at) FROM items WHERE story_id = ?)"
                " THEN ? ELSE title END WHERE id = ?",
                [self.now, entry.fetched_at, entry.published_at, story, entry.title, story],
            )
        self.db.execute("UPDATE items SET story_id = ? WHERE rowid = ?", [story, entry.rowid])
        entry.story_id = story
        self.joined += 1


def assign_stories(db: sqlite_utils.Database, stored: Sequence[StoredItem], source: Source) -> None:
    """Enricher: give this poll's new and changed items their stories (see module docstring).

    A changed item keeps its story; its new title adds keys (the old ones stay and only
    cost a comparison, since candidates are compared on their current text).
    """
    if not stored:
        return
    stories = StoryIndex(db)
    for entry in stories.load([s.item.id for s in stored]):
        stories.assign(entry)


@dataclass
class RebuildReport:
    items: int = 0
    stories: int = 0
    grouped: int = 0  # items in a story of two or more
    seconds: float = 0.0


def day_of(text: str) -> int:
    return parse_utc_iso(text).date().toordinal() - _EPOCH


def rebuild(
    db: sqlite_utils.Database,
    since: datetime | None = None,
    *,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    batch: int = 1000,
) -> RebuildReport:
    """Forget and reassign the stories of every item (published since ``since``).

    Each batch of items is its own transaction, so a daemon polling at the same time
    waits for one batch at most; a rebuild interrupted halfway is finished by running it
    again. Items of the week before ``since`` keep their stories and are found as
    candidates.
    """
    import time

    started = time.monotonic()
    since_iso = to_utc_iso(since) if since else ""
    since_day = day_of(since_iso) if since else -(10**9)
    with write_transaction(db):
        if since is None:
            db.execute("DELETE FROM story_keys")
            db.execute("UPDATE items SET story_id = NULL WHERE story_id IS NOT NULL")
            db.execute("DELETE FROM stories")
        else:
            db.execute("DELETE FROM story_keys WHERE day >= ?", [since_day])
            db.execute(
                "UPDATE items SET story_id = NULL WHERE published_at >= ? AND story_id IS NOT NULL",
                [since_iso],
            )
            db.execute(
                "DELETE FROM stories WHERE NOT EXISTS"
                " (SELECT 1 FROM items WHERE items.story_id = stories.id)"
            )
    stories = StoryIndex(db)
    if since is not None:  # the week before: findable, stories kept (an upgraded archive
        # may not have their keys yet)
        before = to_utc_iso(datetime.fromordinal(since_day - storyprint.WINDOW_DAYS + _EPOCH))
        ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM items WHERE published_at >= ? AND published_at < ?",
                [before, since_iso],
            ).fetchall()
        ]
        with write_transaction(db):
            for entry in stories.load(ids):
                stories.index(entry)
    total = db.execute(
        "SELECT count(*) FROM items WHERE published_at >= ?", [since_iso]
    ).fetchone()[0]
    if on_start:
        on_start(total)
    report = RebuildReport()
    cursor = (since_iso, -1)
    while True:
        rows = db.execute(
            f"{_SELECT} WHERE (i.published_at, i.rowid) > (?, ?)"
            " ORDER BY i.published_at, i.rowid LIMIT ?",
            [*cursor, batch],
        ).fetchall()
        if not rows:
            break
        with write_transaction(db):
            for row in rows:
                entry = _entry(row)
                stories.assign(entry)
        cursor = (rows[-1][6], rows[-1][0])
        report.items += len(rows)
        if on_progress:
            on_progress(len(rows))
    report.stories, report.grouped = db.execute(
        "SELECT count(DISTINCT story_id), count(story_id) FROM items WHERE published_at >= ?",
        [since_iso],
    ).fetchone()
    report.seconds = time.monotonic() - started
    return report
