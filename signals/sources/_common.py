"""Helpers shared by the non-feed kinds: option checks, dotted paths, dates, capped warnings.

Kinds validate their own keys; these helpers keep the messages alike across kinds
(``select.item: expected a non-empty CSS selector string, got 3``), so a user who wrote
one kind's block can read another's errors. Nothing here does I/O.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

Problems = list[tuple[str, str]]

#: Date layouts tried, in order, when a source names no ``date_format``.
COMMON_DATE_FORMATS = (
    "%B %d, %Y",  # January 13, 2026
    "%b %d, %Y",  # Jan 13, 2026
    "%b. %d, %Y",  # Jan. 13, 2026
    "%d %B %Y",  # 13 January 2026
    "%d %b %Y",  # 13 Jan 2026
    "%m/%d/%Y",  # 01/13/2026 (US order; give date_format for day-first pages)
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%B %d, %Y %I:%M %p",
)
_STRFTIME_DIRECTIVE = re.compile(r"%[aAbBcdfHIjmMpSUwWxXyYzZ%GuV:-]")


# ------------------------------------------------------------------ option validation


def check_text(
    options: Mapping[str, Any],
    key: str,
    problems: Problems,
    *,
    required: bool = False,
    where: str | None = None,
    what: str = "a non-empty string",
) -> str | None:
    """A non-empty string option, or None (recording a problem if it is wrong or missing)."""
    name = where or key
    if key not in options:
        if required:
            problems.append((name, f"required: expected {what}"))
        return None
    value = options[key]
    if not isinstance(value, str) or not value.strip():
        problems.append((name, f"expected {what}, got {value!r}"))
        return None
    return value


def check_text_list(
    options: Mapping[str, Any], key: str, problems: Problems, *, where: str | None = None
) -> list[str] | None:
    """A list of non-empty strings (a lone string counts as a list of one)."""
    if key not in options:
        return None
    value = options[key]
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        problems.append((where or key, f"expected a list of non-empty strings, got {value!r}"))
        return None
    return list(value)


def check_bool(options: Mapping[str, Any], key: str, problems: Problems) -> bool | None:
    if key not in options:
        return None
    value = options[key]
    if not isinstance(value, bool):
        problems.append((key, f"expected true or false, got {value!r}"))
        return None
    return value


def check_int(
    options: Mapping[str, Any], key: str, problems: Problems, *, low: int, high: int
) -> int | None:
    if key not in options:
        return None
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append((key, f"expected a whole number from {low} to {high}, got {value!r}"))
        return None
    return value


def check_table(
    options: Mapping[str, Any], key: str, problems: Problems, *, required: bool = False
) -> Mapping[str, Any] | None:
    if key not in options:
        if required:
            problems.append((key, f"required: add a [source.{key}] table"))
        return None
    value = options[key]
    if not isinstance(value, Mapping):
        problems.append((key, f"expected a table ([source.{key}]), got {value!r}"))
        return None
    return value


def check_unknown(
    table: Mapping[str, Any], allowed: Sequence[str], prefix: str, problems: Problems
) -> None:
    for key in table:
        if key not in allowed:
            problems.append((f"{prefix}.{key}", f"unknown key (known: {', '.join(allowed)})"))


def check_timezone(options: Mapping[str, Any], key: str, problems: Problems) -> None:
    name = check_text(options, key, problems, what="an IANA timezone such as 'America/New_York'")
    if name is not None:
        try:
            zone(name)
        except ValueError as exc:
            problems.append((key, str(exc)))


def check_date_format(options: Mapping[str, Any], key: str, problems: Problems) -> None:
    fmt = check_text(options, key, problems, what="a strftime format such as '%B %d, %Y'")
    if fmt is not None and not _STRFTIME_DIRECTIVE.search(fmt):
        problems.append((key, f"{fmt!r} has no % directive (e.g. '%Y-%m-%d')"))


# ------------------------------------------------------------------------ JSON text


def json_text(body: bytes, content_type: str) -> str:
    """The text of a JSON body: the charset its Content-Type names, else UTF-8/16/32 by
    its first bytes (RFC 8259, with or without a BOM). Raises UnicodeDecodeError.

    JSON is UTF-8 nearly everywhere, but older APIs still answer
    ``application/json; charset=windows-1252`` or UTF-16 with a BOM.
    """
    import codecs
    import json

    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
            try:
                codec = codecs.lookup(charset).name
            except LookupError:
                break  # an unknown label: let the bytes speak
            if codec not in ("utf-8", "utf-16", "utf-32"):
                return body.decode(codec)
            break
    return body.decode(json.detect_encoding(body))


# ------------------------------------------------------------------------ dates


def zone(name: str) -> tzinfo:
    """A timezone by IANA name; ValueError naming the zone if there is none such."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r} (e.g. 'America/New_York')") from None


def parse_date(text: str, fmt: str | None, local: tzinfo) -> datetime:
    """An aware datetime from a page or API date; a date without a zone is in ``local``.

    With ``fmt`` only that layout is accepted. Without it: ISO 8601, RFC 2822 (e-mail and
    RSS dates), then the common English layouts of ``COMMON_DATE_FORMATS``.
    Raises ValueError saying what did not parse.
    """
    text = " ".join(text.split())
    if not text:
        raise ValueError("empty date")
    if fmt:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            raise ValueError(f"{text!r} does not match date_format {fmt!r}") from None
        return _localize(moment, local)
    try:
        return _localize(datetime.fromisoformat(text.replace("Z", "+00:00")), local)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
        if moment is not None:
            return _localize(moment, local)
    except (TypeError, ValueError, IndexError):
        pass
    for layout in COMMON_DATE_FORMATS:
        try:
            return _localize(datetime.strptime(text, layout), local)
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {text!r} (set date_format)")


def _localize(moment: datetime, local: tzinfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=local)


def iso_day(value: Any) -> str | None:
    """``YYYY-MM-DD`` from an API date field, or None if it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()[:10]
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    return text


def day_start(day: str, local: tzinfo) -> datetime:
    """Midnight of a ``YYYY-MM-DD`` day in ``local``, as an aware datetime."""
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=local)


def date_fact(kind: str, day: str) -> dict[str, Any]:
    """A date fact in the shared convention: value NULL, unit 'date', text YYYY-MM-DD."""
    return {"kind": kind, "value": None, "unit": "date", "text": day}


UTC_ZONE: tzinfo = UTC


# ----------------------------------------------------------------- dotted paths

_MISSING = object()


def split_path(path: str) -> list[str]:
    """``"a.b.0.c"`` -> ``["a", "b", "0", "c"]``; ``""`` or ``"."`` is the document itself."""
    path = path.strip()
    if path in ("", "."):
        return []
    return [part for part in path.split(".")]


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path (list indexes as numbers), or ``MISSING``."""
    value = document
    for part in split_path(path):
        if isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def expand(document: Any, path: str) -> Iterator[Any]:
    """Every value at a path where ``*`` stands for each element of a list (or object).

    ``agencies.*.documents`` yields each agency's ``documents``; lists reached at the end
    are flattened one level by the caller, not here.
    """
    parts = split_path(path)

    def walk(value: Any, rest: list[str]) -> Iterator[Any]:
        if not rest:
            yield value
            return
        head, tail = rest[0], rest[1:]
        if head == "*":
            children = value.values() if isinstance(value, Mapping) else value
            if isinstance(children, list) or isinstance(value, Mapping):
                for child in children:
                    yield from walk(child, tail)
            return
        found = lookup(value, head)
        if found is not _MISSING:
            yield from walk(found, tail)

    yield from walk(document, parts)


def is_missing(value: Any) -> bool:
    return value is _MISSING


MISSING: Any = _MISSING


def describe_keys(document: Any, limit: int = 12) -> str:
    """What is there instead, for an error message: top-level keys or the JSON type."""
    if isinstance(document, Mapping):
        keys = list(document)[:limit]
        more = ", ..." if len(document) > limit else ""
        return f"top-level keys: {', '.join(map(str, keys))}{more}" if keys else "an empty object"
    if isinstance(document, list):
        return f"a list of {len(document)}"
    return f"a {type(document).__name__}"


# --------------------------------------------------------------- warnings


@dataclass
class WarningLog:
    """Per-entry warnings, capped per kind of problem so one bad column cannot flood a report.

    ``add("wrong type", "entry 3: title at 'headline' is a number")`` keeps the first few of
    each kind verbatim and counts the rest in one closing line.
    """

    per_kind: int = 5
    lines: list[str] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, message: str) -> None:
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        if count <= self.per_kind:
            self.lines.append(message)

    def done(self) -> list[str]:
        extra = [
            f"... and {count - self.per_kind} more like it ({kind})"
            for kind, count in self._counts.items()
            if count > self.per_kind
        ]
        return self.lines + extra


def text_value(value: Any) -> str | None:
    """A scalar as text (numbers included); None for missing, null, lists and objects."""
    if value is _MISSING or value is None or isinstance(value, (Mapping, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
