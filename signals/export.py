"""Stream tables, queries and searches out of the archive as CSV or JSON lines.

Rows go from the SQLite cursor to the file in batches, never all at once. The archive
connection is read-only (``query_only``), so an export cannot change it.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from signals.errors import UsageError
from signals.search import Filters, stream_matches


@contextmanager
def open_output(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        return
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        yield handle


def write_rows(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str], fmt: str
) -> int:
    """Write rows as CSV (header first) or JSON lines; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(_csv_value(value) for value in row)
            count += 1
        return count
    for row in rows:
        record = dict(zip(columns, (_json_value(v) for v in row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _csv_value(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _json_value(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _cursor_rows(cursor: sqlite3.Cursor) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(1000):
        yield from rows


def table_names(db: sqlite_utils.Database) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def export_table(
    db: sqlite_utils.Database, table: str, out: IO[str], fmt: str, limit: int | None
) -> int:
    names = table_names(db)
    if table not in names:
        raise UsageError(
            f"no table or view {table!r} in the archive; there are: {', '.join(names)}"
            " (for a search, use --search TEXT)"
        )
    quoted = '"' + table.replace('"', '""') + '"'
    sql = f"SELECT * FROM {quoted}" + (" LIMIT ?" if limit is not None else "")
    return _run(db, sql, [limit] if limit is not None else [], out, fmt)


def export_query(
    db: sqlite_utils.Database, sql: str, out: IO[str], fmt: str, limit: int | None
) -> int:
    if not sqlite3.complete_statement(sql.rstrip().rstrip(";") + ";"):
        raise UsageError(f"--query: not a complete SQL statement: {sql!r}")
    if limit is not None:
        sql = f"SELECT * FROM ({sql.rstrip().rstrip(';')}) LIMIT ?"
    return _run(db, sql, [limit] if limit is not None else [], out, fmt)


def _run(db: sqlite_utils.Database, sql: str, params: list[Any], out: IO[str], fmt: str) -> int:
    try:
        cursor = db.execute(sql, params)
    except (sqlite3.Warning, sqlite3.ProgrammingError) as exc:  # e.g. two statements at once
        raise UsageError(f"--query: {exc}") from None
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "readonly" in message or "read-only" in message or "query_only" in message:
            message = "the archive is opened read-only; export reads, it never writes"
        raise UsageError(f"cannot export: {message}") from None
    columns = [d[0] for d in cursor.description or ()]
    return write_rows(columns, _cursor_rows(cursor), out, fmt)


def export_search(
    db: sqlite_utils.Database,
    text: str | None,
    filters: Filters,
    out: IO[str],
    fmt: str,
    limit: int | None,
) -> int:
    columns, rows = stream_matches(db, text, filters, limit)
    return write_rows(columns, rows, out, fmt)
