"""``kind = "table"``: benchmark results and leaderboards (CSV, or JSON rows).

A table is a set of rows, each a result: a score (with its unit) for a system on one
benchmark. ``group`` names the columns that make one leaderboard (for MLPerf: round,
suite, division, model, scenario); rows in a group are ranked by score (higher is better
unless the unit is listed in ``lower_is_better``). Two kinds of items come out:

* a **result** per row, keyed by its group and its ``key`` columns (submitter, system):
  the same result polled again is not new; a new row is. Its numbers are facts
  (``benchmark_result``: value = score, unit = metric; ``benchmark_rank``: the rank when
  first seen; ``accelerator``: value = count, text = name), so "first result on a new
  accelerator" is a query over the archive.
* a **rank event** per leaderboard position 1..``track_ranks`` whose holder is new, keyed
  by (group, position, holder). The first time a leaderboard is seen its holders are
  recorded as a baseline (``meta.baseline = true``, "Leader of ..."); after that a new
  holder yields "New #1 in ...", naming the previous holder when it is still listed. A
  holder that regains a position it held before is not announced again.

``preset = "mlperf"`` knows MLPerf's ``summary_results.json`` and submission-checker
``summary.csv`` columns; ``[source.columns]``, ``group`` and ``key`` map any other table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from signals.config import Source
from signals.model import Fetched, ParsedSource
from signals.sources import ParseContext, ParseError
from signals.sources._common import (
    Problems,
    WarningLog,
    check_date_format,
    check_int,
    check_table,
    check_text,
    check_text_list,
    check_timezone,
    check_unknown,
    describe_keys,
    expand,
    zone,
)
from signals.sources.leaderboard import (
    TABLE_PRESETS,
    Layout,
    as_list,
    build_results,
    rank_events,
)

ACCEPT = "text/csv, application/json;q=0.9, text/plain;q=0.8, */*;q=0.5"
COLUMN_KEYS = (
    "score",
    "unit",
    "system",
    "submitter",
    "accelerator",
    "accelerator_count",
    "url",
    "date",
)
TRACK_RANKS_LIMIT = 10


class TableKind:
    name = "table"
    accept = ACCEPT
    #: Rows share per-system detail URLs without being the same document: never merge
    #: a row into another source's item because their URLs match.
    url_identity = False
    needs_known_keys = True  # rank events compare with what the archive already holds
    option_keys: frozenset[str] = frozenset(
        {
            "preset",
            "format",
            "rows",
            "columns",
            "group",
            "key",
            "label",
            "where",
            "lower_is_better",
            "track_ranks",
            "date_format",
            "timezone",
        }
    )

    def validate(self, options: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        preset = check_text(options, "preset", problems)
        if preset is not None and preset not in TABLE_PRESETS:
            problems.append(
                ("preset", f"unknown preset {preset!r} (known: {', '.join(TABLE_PRESETS)})")
            )
        fmt = check_text(options, "format", problems)
        if fmt is not None and fmt not in ("csv", "json"):
            problems.append(("format", f"expected 'csv' or 'json', got {fmt!r}"))
        if "rows" in options and not isinstance(options["rows"], str):
            problems.append(("rows", f"expected a dotted path string, got {options['rows']!r}"))
        if fmt == "csv" and "rows" in options:
            problems.append(("rows", "only for format = 'json'"))
        columns = check_table(options, "columns", problems)
        if columns is not None:
            check_unknown(columns, COLUMN_KEYS, "columns", problems)
            for name, value in columns.items():
                if not _is_column_spec(value):
                    problems.append(
                        (
                            f"columns.{name}",
                            f"expected a column name or a list of names, got {value!r}",
                        )
                    )
        if preset is None:
            for name in ("score", "system"):
                if columns is not None and name not in columns:
                    problems.append(
                        (f"columns.{name}", "required without a preset: which column holds it")
                    )
            if columns is None and "columns" not in options:
                problems.append(
                    ("columns", "required without a preset: add a [source.columns] table")
                )
            if "group" not in options:
                problems.append(
                    ("group", "required without a preset: the columns that make one leaderboard")
                )
        for name in ("group", "key"):
            value = options.get(name)
            if name in options and not (
                isinstance(value, list) and value and all(_is_column_spec(v) for v in value)
            ):
                problems.append((name, f"expected a list of column names, got {value!r}"))
        check_text(options, "label", problems)
        where = check_table(options, "where", problems)
        for column, value in (where or {}).items():
            if not all(isinstance(v, str | int | float) for v in as_list(value)):
                problems.append(
                    (f"where.{column}", f"expected a value or a list of values, got {value!r}")
                )
        check_text_list(options, "lower_is_better", problems)
        check_int(options, "track_ranks", problems, low=0, high=TRACK_RANKS_LIMIT)
        check_date_format(options, "date_format", problems)
        check_timezone(options, "timezone", problems)
        return problems

    def parse(self, fetched: Fetched, source: Source, context: ParseContext) -> ParsedSource:
        layout = Layout.from_source(source)
        rows = read_rows(fetched, source.options)
        warnings = WarningLog()
        local = zone(source.options.get("timezone", context.timezone))
        results = build_results(rows, layout, source.options.get("date_format"), local, warnings)
        if rows and not results:
            missing = [
                c[0] for c in (layout.columns.get("score"), layout.columns.get("system")) if c
            ]
            raise ParseError(
                f"none of the {len(rows)} rows has a numeric score and a system"
                f" (columns {', '.join(missing)}; first row has {', '.join(list(rows[0])[:12])})"
            )
        entries = [result.entry for result in results]
        entries += rank_events(results, layout, context)
        return ParsedSource(entries=entries, warnings=warnings.done())


def _is_column_spec(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


# ------------------------------------------------------------------------ reading


def read_rows(fetched: Fetched, options: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The table's rows as mappings, from CSV or JSON (``format``, else sniffed)."""
    body = fetched.body
    if not body.strip():
        raise ParseError("empty response body")
    fmt = options.get("format") or _sniff(body, fetched.headers)
    if fmt == "json":
        from signals.sources.json_api import load_json

        document = load_json(fetched)
        path = options.get("rows", "")
        found = list(expand(document, path))
        if not found or not isinstance(found[0], list):
            where = f"rows {path!r}" if path else "the top level"
            raise ParseError(f"no list of rows at {where} ({describe_keys(document)})")
        rows = [row for row in found[0] if isinstance(row, Mapping)]
        if len(rows) < len(found[0]):
            raise ParseError(f"rows at {path or 'the top level'} are not all objects")
        return rows
    text = _decode(body)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ParseError("CSV has no header row")
    return [
        row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))
    ]


def _sniff(body: bytes, headers: Mapping[str, str]) -> str:
    content_type = headers.get("content-type", "").lower()
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if "json" in content_type or start in (b"[", b"{") else "csv"


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        return str(best) if best is not None else body.decode("latin-1")
