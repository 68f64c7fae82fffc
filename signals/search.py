"""Full-text search and filtered listing over the archive, for ``signals query`` and ``export``.

Ranking is FTS5's bm25 with the title weighted above the summary and the body. bm25 is
computed for every row it is asked about, so ranking *all* matches of a common word in a
million items costs hundreds of milliseconds; instead the newest ``candidates`` matches
that pass the filters are taken in rowid order (FTS5 walks its index newest first and
stops there) and ranked among themselves. For a word with fewer matches than that (most
searches) this is exactly bm25 over all matches; for a very common word it is the best
of the recent ones, which is what a monitor's reader wants. Times compare as ISO text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from signals.errors import UsageError
from signals.times import parse_utc_iso, to_utc_iso

#: bm25 column weights for items_fts(title, summary, body): a word in the title counts most.
WEIGHTS = (10.0, 4.0, 1.0)
#: How many of the newest matching items are ranked (see the module docstring).
CANDIDATES = 2000
#: Highlight markers inside snippets; replaced by rich markup or plain text by the caller.
MARK_START = "\x02"
MARK_END = "\x03"
PLAIN_START = "**"
PLAIN_END = "**"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(r"^\d+(?:\.\d+)?\s*[mhdw]$|^(?:\d+\s*[mhdw])+$", re.IGNORECASE)
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})
_BAREWORD = re.compile(r"^[\w\u0080-\U0010ffff]+\*?$")
_TOKEN = re.compile(r'"[^"]*"\*?|[()]|[^\s()"]+|"')  # a stray quote stays, FTS5 reports it


def parse_when(text: str, now: datetime, *, option: str, end: bool = False) -> str:
    """An ISO date, ISO time or relative age ("30d", "12h", "2w") as archive time text.

    A bare date means the start of that UTC day; as an end bound (``end``) it means the end
    of that day, so ``--until 2026-11-20`` includes the 20th.
    """
    from signals.units import parse_duration

    value = text.strip()
    try:
        if _RELATIVE.match(value):
            return to_utc_iso(now - parse_duration(value))
        if _DATE.match(value):
            day = datetime.fromisoformat(value)
            return to_utc_iso(day + timedelta(days=1) if end else day)
        return to_utc_iso(parse_utc_iso(value))
    except ValueError:
        raise UsageError(
            f"{option}: expected a date (2026-11-01), a time (2026-11-01T08:00:00Z) or an age"
            f" such as 30d, 12h or 2w, got {text!r}"
        ) from None


def fts_query(text: str) -> str:
    """The user's search text as an FTS5 query, with words like ``T-Head`` or ``U.S.`` quoted.

    FTS5 syntax (phrases in double quotes, AND/OR/NOT, NEAR(), prefix*, column:word, ^)
    passes through; only words FTS5 would misread as syntax are quoted.
    """
    out = []
    for token in _TOKEN.findall(text):
        if token.startswith('"') or token in ("(", ")") or token in _OPERATORS:
            out.append(token)
        elif ":" in token and _BAREWORD.match(token.split(":", 1)[0].lstrip("-")):
            out.append(token)  # a column filter such as title:nvidia
        elif token.startswith("^") or _BAREWORD.match(token):
            out.append(token)
        else:
            star = "*" if token.endswith("*") else ""
            word = token[:-1] if star else token
            out.append('"' + word.replace('"', '""') + '"' + star)
    return " ".join(out)


@dataclass(frozen=True)
class Filters:
    """What narrows a search or listing; every field is optional."""

    category: str | None = None
    entity: str | None = None
    source: str | None = None
    since: str | None = None  # ISO UTC text, inclusive, on published_at
    until: str | None = None  # ISO UTC text, exclusive, on published_at
    min_score: float | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions on items ``i`` and their parameters; each an indexed lookup.

        Each condition looks up the one item (``item_id = i.id``); the unary ``+`` keeps
        SQLite from choosing the entity or source index instead, which would scan every
        row of that entity or source for each candidate (seconds on a large archive).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if self.since:
            clauses.append("i.published_at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("i.published_at < ?")
            params.append(self.until)
        if self.category:
            clauses.append(
                "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.category = ?"
                + (" AND t.score >= ?)" if self.min_score is not None else ")")
            )
            params.append(self.category)
            if self.min_score is not None:
                params.append(self.min_score)
        elif self.min_score is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.score >= ?)"
            )
            params.append(self.min_score)
        if self.entity:
            clauses.append(
                "EXISTS (SELECT 1 FROM entities e WHERE e.item_id = i.id AND +e.entity_id = ?)"
            )
            params.append(self.entity)
        if self.source:
            clauses.append(
                "EXISTS (SELECT 1 FROM item_sources x WHERE x.item_id = i.id AND +x.source_id = ?)"
            )
            params.append(self.source)
        return clauses, params


@dataclass
class Hit:
    """One search result; ``title`` and ``snippet`` carry MARK_START/MARK_END around matches."""

    rowid: int
    id: str
    published_at: str
    source_id: str
    title: str
    url: str | None
    snippet: str
    score: float | None
    categories: dict[str, float] = field(default_factory=dict)

    def as_dict(self, start: str = PLAIN_START, end: str = PLAIN_END) -> dict[str, Any]:
        return {
            "id": self.id,
            "published_at": self.published_at,
            "source_id": self.source_id,
            "title": plain(self.title, start, end),
            "url": self.url,
            "categories": self.categories,
            "score": self.score,
            "snippet": plain(self.snippet, start, end),
        }


def plain(text: str, start: str = PLAIN_START, end: str = PLAIN_END) -> str:
    return text.replace(MARK_START, start).replace(MARK_END, end)


def _fts_error(exc: sqlite3.OperationalError, text: str) -> UsageError:
    message = str(exc).removeprefix("fts5: ")
    return UsageError(
        f"search text {text!r}: not a valid full-text query ({message}). Put phrases and"
        ' words with punctuation in double quotes ("Entity List"); operators are AND, OR,'
        " NOT, NEAR(a b), prefix* and column:word (title, summary, body)."
    )


def _is_query_error(exc: sqlite3.OperationalError) -> bool:
    message = str(exc)
    return message.startswith(
        ("fts5:", "no such column", "unknown special query", "unterminated string")
    )


def search(
    db: sqlite_utils.Database,
    text: str | None,
    filters: Filters,
    limit: int,
    *,
    candidates: int = CANDIDATES,
) -> list[Hit]:
    """Ranked matches of ``text`` (or, without text, the newest items) passing ``filters``."""
    if text is None or not text.strip():
        return _newest(db, filters, limit)
    query = fts_query(text)
    clauses, params = filters.where()
    where = "".join(f" AND {c}" for c in clauses)
    w_title, w_summary, w_body = WEIGHTS
    sql = f"""
        SELECT c.rowid, c.rank FROM (
            SELECT f.rowid AS rowid,
                   bm25(items_fts, {w_title}, {w_summary}, {w_body}) AS rank
            FROM items_fts f JOIN items i ON i.rowid = f.rowid
            WHERE items_fts MATCH ?{where}
            ORDER BY f.rowid DESC LIMIT ?
        ) c ORDER BY c.rank, c.rowid DESC LIMIT ?
    """
    try:
        ranked = db.execute(sql, [query, *params, candidates, limit]).fetchall()
        return [_hit(db, query, rowid, rank) for rowid, rank in ranked]
    except sqlite3.OperationalError as exc:
        if _is_query_error(exc):
            raise _fts_error(exc, text) from None
        raise


_ITEM_COLUMNS = "i.rowid, i.id, i.published_at, i.source_id, i.title, i.url"


def _newest(db: sqlite_utils.Database, filters: Filters, limit: int) -> list[Hit]:
    clauses, params = filters.where()
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        f"SELECT {_ITEM_COLUMNS}, i.summary FROM items i{where}"
        " ORDER BY i.published_at DESC, i.rowid DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    hits = [
        Hit(
            rowid=row[0],
            id=row[1],
            published_at=row[2],
            source_id=row[3],
            title=row[4],
            url=row[5],
            snippet=_shorten(row[6]),
            score=None,
        )
        for row in rows
    ]
    _attach_categories(db, hits)
    return hits


def _shorten(text: str, words: int = 24) -> str:
    parts = (text or "").split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _hit(db: sqlite_utils.Database, query: str, rowid: int, rank: float) -> Hit:
    """One ranked row with its highlighted title and snippet (auxiliary functions need MATCH)."""
    row = db.execute(
        f"""
        SELECT {_ITEM_COLUMNS},
               highlight(items_fts, 0, ?, ?),
               snippet(items_fts, -1, ?, ?, ' … ', 24)
        FROM items_fts f JOIN items i ON i.rowid = f.rowid
        WHERE items_fts MATCH ? AND f.rowid = ?
        """,
        [MARK_START, MARK_END, MARK_START, MARK_END, query, rowid],
    ).fetchone()
    hit = Hit(
        rowid=row[0],
        id=row[1],
        published_at=row[2],
        source_id=row[3],
        title=row[6] or row[4],
        url=row[5],
        snippet=row[7] or "",
        score=round(-rank, 3),
    )
    _attach_categories(db, [hit])
    return hit


def _attach_categories(db: sqlite_utils.Database, hits: Sequence[Hit]) -> None:
    for hit in hits:
        rows = db.execute(
            "SELECT category, score FROM item_tags WHERE item_id = ? ORDER BY score DESC",
            [hit.id],
        ).fetchall()
        hit.categories = {category: round(score, 3) for category, score in rows}


def stream_matches(
    db: sqlite_utils.Database, text: str | None, filters: Filters, limit: int | None
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Every match (newest first, no ranking cap) as rows, for export; streamed from SQLite."""
    clauses, params = filters.where()
    base = "i.id, i.published_at, i.source_id, i.url, i.story_id"
    tags = (
        "(SELECT json_group_object(category, score) FROM item_tags t"
        " WHERE t.item_id = i.id) AS categories"
    )
    tail = " LIMIT ?" if limit is not None else ""
    tail_params = [limit] if limit is not None else []
    if text is None or not text.strip():
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT {base}, i.title, i.summary, {tags} FROM items i{where}"
            f" ORDER BY i.published_at DESC, i.rowid DESC{tail}"
        )
        columns = ["id", "published_at", "source_id", "url", "story_id", "title", "summary"]
        args: list[Any] = [*params, *tail_params]
    else:
        w_title, w_summary, w_body = WEIGHTS
        where = "".join(f" AND {c}" for c in clauses)
        sql = f"""
            SELECT {base}, i.title,
                   snippet(items_fts, -1, ?, ?, ' … ', 24) AS snippet,
                   {tags},
                   round(-bm25(items_fts, {w_title}, {w_summary}, {w_body}), 3) AS score
            FROM items_fts f JOIN items i ON i.rowid = f.rowid
            WHERE items_fts MATCH ?{where}
            ORDER BY f.rowid DESC{tail}
        """
        columns = ["id", "published_at", "source_id", "url", "story_id", "title", "snippet"]
        args = [PLAIN_START, PLAIN_END, fts_query(text), *params, *tail_params]
        columns = [*columns, "categories", "score"]
        return columns, _guarded(db, sql, args, text)
    return [*columns, "categories"], _guarded(db, sql, args, text)


def _guarded(
    db: sqlite_utils.Database, sql: str, args: Sequence[Any], text: str | None
) -> Iterator[tuple[Any, ...]]:
    try:
        cursor = db.execute(sql, list(args))
        while rows := cursor.fetchmany(500):
            yield from rows
    except sqlite3.OperationalError as exc:
        if text and _is_query_error(exc):
            raise _fts_error(exc, text) from None
        raise
