"""``kind = "json"``: JSON APIs, through a named preset or a generic field mapping.

Presets (``preset = "federal_register"``, ``preset = "edgar_submissions"``) know one API's
shape, its paging and its facts; they live in their own modules and register in
``JSON_PRESETS``. Without a preset, ``[source.fields]`` maps dotted paths to the parts of
an item, so a user adds a JSON API without code::

    [source.fields]
    items = "data.articles"        # the list of entries ("" for a top-level list; * for each)
    id = "id"                       # optional: stable identity
    title = "headline"              # or a list of paths, joined with spaces
    url = "links.web"               # or url_template = "https://example.org/a/{id}"
    date = "published_at"           # ISO 8601, RFC 2822, epoch seconds, or date_format
    summary = "teaser"

A missing ``items`` path is a ``parse_error`` naming the path; a wrong type or a missing
optional field is a warning about that entry, and the entry is kept when it still has a
title or text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from signals.config import Source
from signals.model import Fetched, ParsedSource, RawEntry
from signals.sources import ParseContext, ParseError
from signals.sources._common import (
    MISSING,
    Problems,
    WarningLog,
    check_date_format,
    check_table,
    check_text,
    check_timezone,
    check_unknown,
    describe_keys,
    expand,
    is_missing,
    json_text,
    lookup,
    parse_date,
    text_value,
    zone,
)

ACCEPT = "application/json, text/json;q=0.9, */*;q=0.5"
FIELD_KEYS = (
    "items",
    "id",
    "title",
    "url",
    "url_template",
    "date",
    "summary",
    "body",
    "date_format",
)
PATH_LIST_FIELDS = ("title", "summary", "body")  # a list of paths is joined with spaces


class JsonPreset(Protocol):
    """One API's knowledge: its extra keys, their checks, and how a response becomes entries."""

    name: str
    option_keys: frozenset[str]

    def validate(self, options: Mapping[str, Any]) -> Problems: ...

    def parse(
        self, document: Any, fetched: Fetched, source: Source, context: ParseContext
    ) -> ParsedSource: ...


def _presets() -> dict[str, JsonPreset]:
    from signals.sources.edgar import EdgarSubmissionsPreset
    from signals.sources.federal_register import FederalRegisterPreset

    presets: list[JsonPreset] = [FederalRegisterPreset(), EdgarSubmissionsPreset()]
    return {preset.name: preset for preset in presets}


JSON_PRESETS: dict[str, JsonPreset] = _presets()


def load_json(fetched: Fetched, what: str = "response") -> Any:
    """The decoded JSON document, or a ParseError saying what came instead."""
    body = fetched.body
    if not body.strip():
        raise ParseError(f"empty {what} body")
    try:
        return json.loads(json_text(body, fetched.headers.get("content-type", "")))
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{what} is not {exc.encoding.upper()} JSON ({exc.reason} at byte {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        looks_html = b"<html" in body[:2048].lower() or b"<!doctype" in body[:2048].lower()
        hint = " (got an HTML page; is the URL the API?)" if looks_html else ""
        raise ParseError(f"invalid JSON{hint}: {exc}") from None


class JsonKind:
    name = "json"
    accept = ACCEPT
    needs_known_keys = True  # presets page only as far as documents not yet archived
    option_keys: frozenset[str] = frozenset(
        {"preset", "fields", "timezone"}.union(*(p.option_keys for p in JSON_PRESETS.values()))
    )

    def validate(self, options: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        check_timezone(options, "timezone", problems)
        preset_name = check_text(options, "preset", problems)
        preset = JSON_PRESETS.get(preset_name) if preset_name else None
        if preset_name and preset is None:
            known = ", ".join(JSON_PRESETS)
            problems.append(("preset", f"unknown preset {preset_name!r} (known: {known})"))
        for name, other in JSON_PRESETS.items():
            if other is preset:
                continue
            for key in sorted(other.option_keys & set(options)):
                problems.append((key, f"only used with preset = {name!r}"))
        if preset is not None:
            if "fields" in options:
                problems.append(("fields", f"not used with preset = {preset.name!r}; remove it"))
            problems.extend(preset.validate(options))
        elif preset_name is None:
            problems.extend(_validate_fields(options))
        return problems

    def parse(self, fetched: Fetched, source: Source, context: ParseContext) -> ParsedSource:
        document = load_json(fetched)
        preset_name = source.options.get("preset")
        if preset_name:
            return JSON_PRESETS[preset_name].parse(document, fetched, source, context)
        local = zone(source.options.get("timezone", context.timezone))
        return parse_mapped(document, source.options["fields"], local)


def _validate_fields(options: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    fields = check_table(options, "fields", problems)
    if fields is None:
        if "fields" not in options:
            problems.append(("fields", "required: set preset = ... or a [source.fields] table"))
        return problems
    check_unknown(fields, FIELD_KEYS, "fields", problems)
    if "items" not in fields:
        problems.append(("fields.items", 'required: the path of the entry list ("" for the top)'))
    elif not isinstance(fields["items"], str):
        problems.append(("fields.items", f"expected a dotted path string, got {fields['items']!r}"))
    for key in ("id", "url", "date"):
        check_text(fields, key, problems, where=f"fields.{key}", what="a dotted path string")
    for key in PATH_LIST_FIELDS:
        value = fields.get(key)
        if key in fields and not (
            (isinstance(value, str) and value.strip())
            or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
        ):
            problems.append(
                (f"fields.{key}", f"expected a dotted path or a list of them, got {value!r}")
            )
    if not any(k in fields for k in ("title", "summary")):
        problems.append(("fields.title", "required: a path to each entry's title (or summary)"))
    template = check_text(fields, "url_template", problems, where="fields.url_template")
    if template is not None and "{id}" not in template:
        problems.append(("fields.url_template", "must contain {id}"))
    if template is not None and "id" not in fields:
        problems.append(("fields.url_template", "needs fields.id to fill {id}"))
    if "date_format" in fields:
        sub: Problems = []
        check_date_format(fields, "date_format", sub)
        problems.extend((f"fields.{key}", problem) for key, problem in sub)
    return problems


def _entries_at(document: Any, path: str) -> list[Any]:
    found = list(expand(document, path))
    if not found:
        raise ParseError(f"fields.items: nothing at {path!r} ({describe_keys(document)})")
    if "*" not in path:
        value = found[0]
        if not isinstance(value, list):
            raise ParseError(
                f"fields.items: {path!r} is {describe_keys(value)}, not a list of entries"
            )
        return value
    entries: list[Any] = []
    for value in found:
        entries.extend(value if isinstance(value, list) else [value])
    return entries


def parse_mapped(document: Any, fields: Mapping[str, Any], local: tzinfo) -> ParsedSource:
    """Entries from a JSON document through a ``[source.fields]`` mapping."""
    warnings = WarningLog()
    entries: list[RawEntry] = []
    for position, value in enumerate(_entries_at(document, fields["items"]), start=1):
        if not isinstance(value, Mapping):
            warnings.add(
                "not an object", f"entry {position} skipped: expected an object, got {value!r:.60}"
            )
            continue
        entry = _mapped_entry(value, position, fields, local, warnings)
        if entry is not None:
            entries.append(entry)
    return ParsedSource(entries=entries, warnings=warnings.done())


def _field_text(
    value: Mapping[str, Any],
    paths: str | list[str],
    name: str,
    position: int,
    warnings: WarningLog,
) -> str | None:
    parts: list[str] = []
    missing: list[str] = []
    for path in [paths] if isinstance(paths, str) else paths:
        found = lookup(value, path)
        if is_missing(found) or found is None or found == "":
            missing.append(path)
            continue
        text = text_value(found)
        if text is None:
            kind = "list" if isinstance(found, list) else "object"
            warnings.add(
                f"wrong type {name}", f"entry {position}: {name} at {path!r} is a {kind}, not text"
            )
            continue
        parts.append(text)
    # With several paths joined (title = ["subject_1", "subject_2"]) a part absent from
    # some entries is expected; only a field that comes out empty is worth a warning.
    if missing and not parts:
        where = " or ".join(repr(path) for path in missing)
        warnings.add(f"missing {name}", f"entry {position}: no {name} at {where}")
    return " ".join(parts) if parts else None


def _mapped_entry(
    value: Mapping[str, Any],
    position: int,
    fields: Mapping[str, Any],
    local: tzinfo,
    warnings: WarningLog,
) -> RawEntry | None:
    texts: dict[str, str | None] = {}
    for name in ("id", "title", "url", "summary", "body"):
        texts[name] = (
            _field_text(value, fields[name], name, position, warnings) if name in fields else None
        )
    if not texts["title"] and not texts["summary"]:
        warnings.add("empty", f"entry {position} skipped: neither title nor summary")
        return None
    link = texts["url"]
    if link is None and texts["id"] and "url_template" in fields:
        link = fields["url_template"].replace("{id}", texts["id"])
    published = None
    if "date" in fields:
        published = _mapped_date(value, fields, position, local, warnings)
    return RawEntry(
        guid=texts["id"],
        link=link,
        title=texts["title"],
        summary=texts["summary"],
        body=texts["body"],
        published=published,
    )


def _mapped_date(
    value: Mapping[str, Any],
    fields: Mapping[str, Any],
    position: int,
    local: tzinfo,
    warnings: WarningLog,
) -> datetime | None:
    path = fields["date"]
    found = lookup(value, path)
    if found is MISSING or found is None or found == "":
        warnings.add("missing date", f"entry {position}: no date at {path!r}")
        return None
    if isinstance(found, bool) or not isinstance(found, str | int | float):
        warnings.add(
            "wrong type date", f"entry {position}: date at {path!r} is not text or a number"
        )
        return None
    if isinstance(found, int | float):
        seconds = found / 1000 if found > 1e11 else found  # epoch milliseconds or seconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            warnings.add("bad date", f"entry {position}: date {found!r} is out of range")
            return None
    try:
        return parse_date(found, fields.get("date_format"), local)
    except ValueError as exc:
        warnings.add("bad date", f"entry {position}: {exc}")
        return None
