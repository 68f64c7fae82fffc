"""Full-text search and filtered listing over the archive, for ``signals query`` and ``export``.

Ranking is bm25 with the title weighted above the summary and the body. Ranking *all*
matches of a common word in a million items costs hundreds of milliseconds (FTS5's bm25()
counts every match for its idf, and every candidate must be looked up for the filters),
so only the newest ``CANDIDATES`` matches that pass the filters are ranked: FTS5 walks its
index newest first (rowid order) and stops there. For a word with fewer matches (most
searches) this is bm25 over all of them; for a very common word it is the best of the
recent ones, which is what a monitor's reader wants. Times compare as ISO text.
"""

from __future__ import annotations

import json
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
CANDIDATES = 500
#: Above this many matches, bm25 is computed over the candidates here, not by FTS5 (_rank).
COMMON_MATCHES = 1_000
#: With filters, matches are checked in chunks from SCAN_CHUNK up to SCAN_BUDGET (_candidates).
SCAN_CHUNK = 250
SCAN_BUDGET = 1000
#: With filters, the walk also ends once this many times ``limit`` rows passed.
ENOUGH = 5
#: A --since period with at most this many items bounds the walk by rowid (_lowest_rowid).
SINCE_BOUND = 100_000
#: bm25 parameters, FTS5's defaults.
K1 = 1.2
B = 0.75
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


def tune_for_reading(db: sqlite_utils.Database) -> None:
    """Memory-map the file and give SQLite a bigger page cache on a read-only connection.

    A search touches scattered pages of a large file (index, rows, tags); with the default
    2 MB cache each is a system call, with mmap a memory read.
    """
    db.execute("PRAGMA mmap_size = 1073741824")
    db.execute("PRAGMA cache_size = -65536")


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
    candidates = max(candidates, limit)  # --limit 2000 gets 2000 results, ranked
    try:
        found, matches = _candidates(db, query, filters, limit, candidates)
        ranked = _rank(db, query, found, limit, matches=matches)
        return _hits(db, query, ranked)
    except sqlite3.OperationalError as exc:
        if _is_query_error(exc):
            raise _fts_error(exc, text) from None
        raise


def _candidates(
    db: sqlite_utils.Database, query: str, filters: Filters, limit: int, candidates: int
) -> tuple[list[int], int | None]:
    """Rowids of the newest matches that pass the filters, newest first, at most ``candidates``,
    and how many matches there are when the walk saw them all (else None).

    FTS5 walks its index newest first. With filters the walk goes in growing chunks and
    stops at ``candidates`` passing rows, or once ``limit`` passed and either SCAN_BUDGET
    matches were looked at, ENOUGH x ``limit`` passed, or a whole chunk passed nothing (a
    --since reached): a selective filter on a common word then costs a bounded walk, not
    a check of every match.
    """
    clauses, params = filters.where()
    if not clauses:
        rows = db.execute(
            "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            [query, candidates],
        ).fetchall()
        return [row[0] for row in rows], len(rows) if len(rows) < candidates else None
    passes = " AND ".join(clauses)
    lowest = _lowest_rowid(db, filters.since)
    found: list[int] = []
    before: int | None = None
    scanned = 0
    chunk = SCAN_CHUNK
    while True:
        bounds = [("rowid < ?", before), ("rowid >= ?", lowest)]
        bound = "".join(f" AND {sql}" for sql, value in bounds if value is not None)
        values = [value for _, value in bounds if value is not None]
        rows = db.execute(
            f"""
            SELECT c.rowid, ({passes}) FROM (
                SELECT rowid FROM items_fts WHERE items_fts MATCH ?{bound}
                ORDER BY rowid DESC LIMIT ?
            ) c JOIN items i ON i.rowid = c.rowid
            """,
            [*params, query, *values, chunk],
        ).fetchall()
        if not rows:
            return sorted(found, reverse=True), scanned if lowest is None else None
        scanned += len(rows)
        passed = [rowid for rowid, ok in rows if ok]
        found += passed
        before = min(rowid for rowid, _ in rows)
        if len(found) >= candidates:
            return sorted(found, reverse=True)[:candidates], None
        if len(rows) < chunk:
            return sorted(found, reverse=True), scanned if lowest is None else None
        if len(found) >= limit and (
            scanned >= SCAN_BUDGET or not passed or len(found) >= ENOUGH * limit
        ):
            return sorted(found, reverse=True), None
        chunk = min(chunk * 2, SCAN_BUDGET)


def _lowest_rowid(db: sqlite_utils.Database, since: str | None) -> int | None:
    """The smallest rowid of an item published since ``since``, when few items are.

    Every match older in rowid terms cannot pass --since, so the walk stops there instead
    of checking each older match. Found from the published_at index (no table reads);
    skipped when the period holds more than SINCE_BOUND items (then --since passes many
    matches and the walk ends soon anyway).
    """
    if since is None:
        return None
    count, lowest = db.execute(
        "SELECT count(*), min(rowid) FROM"
        " (SELECT rowid FROM items WHERE published_at >= ? LIMIT ?)",
        [since, SINCE_BOUND + 1],
    ).fetchone()
    if count > SINCE_BOUND:
        return None
    return int(lowest) if lowest is not None else 1 << 62


def _rank(
    db: sqlite_utils.Database,
    query: str,
    found: Sequence[int],
    limit: int,
    *,
    matches: int | None,
) -> list[tuple[int, float]]:
    """The best ``limit`` of ``found`` by bm25, as (rowid, score), best first.

    FTS5's bm25() first counts every row matching each phrase (for its idf), which costs
    time in proportion to how common the words are. Below COMMON_MATCHES matches that is
    cheap and bm25() ranks exactly. Above it, the same bm25 formula is computed here over
    the candidates alone: the term frequency of each column is whether the whole query
    matches within it (title 10, summary 4, body 1), the length is the row's token count
    from the index; idf is one constant for all candidates of one query, so it drops out.
    """
    if not found:
        return []
    lowest = min(found)
    wanted = set(found)
    if matches is None:
        matches = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
            [query, COMMON_MATCHES],
        ).fetchone()[0]
    common = matches >= COMMON_MATCHES
    scores: dict[int, float] = {}
    if not common:
        w_title, w_summary, w_body = WEIGHTS
        rows = db.execute(
            f"SELECT rowid, bm25(items_fts, {w_title}, {w_summary}, {w_body}) FROM items_fts"
            " WHERE items_fts MATCH ? AND rowid >= ?",
            [query, lowest],
        ).fetchall()
        scores = {rowid: -rank for rowid, rank in rows if rowid in wanted}
    else:
        scores = _bm25_here(db, query, found, lowest)
    # Equal scores (a series of filings that all say "10-Q") list the newest first.
    published = dict(
        db.execute(
            "SELECT rowid, published_at FROM items WHERE rowid IN (SELECT value FROM json_each(?))",
            [json.dumps(list(scores))],
        ).fetchall()
    )
    ordered = sorted(scores.items(), key=lambda pair: -pair[0])
    ordered.sort(key=lambda pair: published.get(pair[0]) or "", reverse=True)
    ordered.sort(key=lambda pair: -round(pair[1], 3))
    return [(rowid, round(score, 3)) for rowid, score in ordered[:limit]]


def _bm25_here(
    db: sqlite_utils.Database, query: str, found: Sequence[int], lowest: int
) -> dict[int, float]:
    wanted = set(found)
    weight = dict.fromkeys(found, 0.0)
    for column, column_weight in zip(("title", "summary", "body"), WEIGHTS, strict=True):
        try:
            rows = db.execute(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH ? AND rowid >= ?",
                [f"{column} : ({query})", lowest],
            ).fetchall()
        except sqlite3.OperationalError:
            continue  # a query that cannot be restricted to one column (it names columns)
        for (rowid,) in rows:
            if rowid in wanted:
                weight[rowid] += column_weight
    total_rows, *column_tokens = _varints(
        db.execute("SELECT block FROM items_fts_data WHERE id = 1").fetchone()[0]
    )
    average = sum(column_tokens) / max(total_rows, 1)
    lengths = {
        rowid: sum(_varints(size))
        for rowid, size in db.execute(
            "SELECT id, sz FROM items_fts_docsize WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(found))],
        ).fetchall()
    }
    scores = {}
    for rowid in found:
        tf = weight[rowid] or 1.0  # the words match only across columns
        norm = K1 * (1 - B + B * lengths.get(rowid, average) / max(average, 1.0))
        scores[rowid] = tf * (K1 + 1) / (tf + norm)
    return scores


def _varints(blob: bytes) -> list[int]:
    """SQLite varints, as FTS5 stores its averages and per-row column sizes."""
    values = []
    position = 0
    while position < len(blob):
        value = 0
        for index in range(9):
            byte = blob[position]
            position += 1
            if index == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


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


def _hits(db: sqlite_utils.Database, query: str, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
    """The ranked rows with highlighted titles and snippets, in a few batched statements.

    The snippet comes from the summary; from the body only when neither the title nor the
    summary shows the words: snippet() on every column would tokenize every body, the
    costliest part of a search.
    """
    if not ranked:
        return []
    rowids = json.dumps([rowid for rowid, _ in ranked])
    sql = """
        SELECT f.rowid, highlight(items_fts, 0, ?, ?), snippet(items_fts, {column}, ?, ?, ' … ', 24)
        FROM items_fts f
        WHERE items_fts MATCH ? AND f.rowid IN (SELECT value FROM json_each(?))
    """
    marks = [MARK_START, MARK_END, MARK_START, MARK_END]
    marked = {
        row[0]: (row[1], row[2] or "")
        for row in db.execute(sql.format(column=1), [*marks, query, rowids]).fetchall()
    }
    bare = [
        rowid
        for rowid, (title, snippet) in marked.items()
        if MARK_START not in snippet and MARK_START not in (title or "")
    ]
    if bare:
        for rowid, _, snippet in db.execute(
            sql.format(column=2), [*marks, query, json.dumps(bare)]
        ).fetchall():
            if snippet and MARK_START in snippet:
                marked[rowid] = (marked[rowid][0], snippet)
    rows = {
        row[0]: row
        for row in db.execute(
            "SELECT rowid, id, published_at, source_id, title, url FROM items"
            " WHERE rowid IN (SELECT value FROM json_each(?))",
            [rowids],
        ).fetchall()
    }
    hits = []
    for rowid, score in ranked:
        row = rows[rowid]
        title, snippet = marked.get(rowid, (row[4], ""))
        hits.append(
            Hit(
                rowid=rowid,
                id=row[1],
                published_at=row[2],
                source_id=row[3],
                title=title or row[4],
                url=row[5],
                snippet=snippet,
                score=score,
            )
        )
    _attach_categories(db, hits)
    return hits


def _attach_categories(db: sqlite_utils.Database, hits: Sequence[Hit]) -> None:
    if not hits:
        return
    rows = db.execute(
        "SELECT item_id, category, score FROM item_tags"
        " WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY score DESC, category",
        [json.dumps([hit.id for hit in hits])],
    ).fetchall()
    by_item: dict[str, dict[str, float]] = {}
    for item_id, category, score in rows:
        by_item.setdefault(item_id, {})[category] = round(score, 3)
    for hit in hits:
        hit.categories = by_item.get(hit.id, {})


def stream_matches(
    db: sqlite_utils.Database, text: str | None, filters: Filters, limit: int | None
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Every match, last archived first, unranked and uncapped: export rows, streamed."""
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
