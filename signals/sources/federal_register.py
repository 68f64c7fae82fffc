"""``preset = "federal_register"``: the Federal Register documents API.

``https://www.federalregister.gov/api/v1/documents.json?conditions[agencies][]=...&order=newest``
answers ``{count, total_pages, next_page_url, results: [...]}``. Each result becomes an
item keyed by its document number, with its type (Rule, Proposed Rule, Notice...),
abstract, HTML and PDF links and agencies; publication and effective dates, the comment
deadline and CFR parts are kept as facts (``publication_date``, ``effective_date``,
``comment_deadline``, ``cfr_part``). The API returns ``effective_on``,
``comments_close_on`` and ``cfr_references`` only when asked with ``fields[]=...``: the
shipped sources.toml URL asks for them.

Paging follows ``next_page_url`` only while a page holds nothing already archived, and
never beyond ``max_pages`` (default 3, at most 20): a first fill reads a few pages, a
routine poll reads one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from signals.config import Source
from signals.model import Fetched, ParsedSource, RawEntry
from signals.sources import ParseContext, ParseError
from signals.sources._common import (
    Problems,
    WarningLog,
    check_int,
    date_fact,
    day_start,
    describe_keys,
    iso_day,
    zone,
)

MAX_PAGES_DEFAULT = 3
MAX_PAGES_LIMIT = 20
#: Federal Register issues are dated in Washington, D.C.
FR_TIMEZONE = "America/New_York"
DATE_FACTS = (
    ("publication_date", "publication_date"),
    ("effective_on", "effective_date"),
    ("comments_close_on", "comment_deadline"),
)


class FederalRegisterPreset:
    name = "federal_register"
    option_keys: frozenset[str] = frozenset({"max_pages"})

    def validate(self, options: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        check_int(options, "max_pages", problems, low=1, high=MAX_PAGES_LIMIT)
        return problems

    def parse(
        self, document: Any, fetched: Fetched, source: Source, context: ParseContext
    ) -> ParsedSource:
        from signals.sources.json_api import load_json

        local = zone(source.options.get("timezone", FR_TIMEZONE))
        max_pages = int(source.options.get("max_pages", MAX_PAGES_DEFAULT))
        warnings = WarningLog()
        entries: list[RawEntry] = []
        page = 1
        while True:
            results = document.get("results") if isinstance(document, Mapping) else None
            if not isinstance(results, list):
                if page == 1:
                    raise ParseError(_not_documents(document))
                warnings.add("page", f"page {page} has no results list; stopped paging")
                break
            page_entries = [
                entry
                for position, result in enumerate(results, start=1)
                if (entry := _entry(result, f"page {page} result {position}", local, warnings))
            ]
            entries.extend(page_entries)
            next_url = document.get("next_page_url")
            if not next_url or not page_entries:
                break
            if any(context.is_known(entry) for entry in page_entries):
                break  # reached documents archived by an earlier poll
            if page >= max_pages:
                warnings.add(
                    "page cap",
                    f"stopped after {page} pages (max_pages = {max_pages}); older documents"
                    " were not fetched",
                )
                break
            if context.preview:
                warnings.add("preview", "preview: did not follow next_page_url")
                break
            result = context.fetch(str(next_url))
            if not isinstance(result, Fetched):
                error = getattr(result, "error", None) or result.outcome
                warnings.add("page", f"page {page + 1}: {result.outcome}: {error}; stopped paging")
                break
            try:
                document = load_json(result, what=f"page {page + 1}")
            except ParseError as exc:
                warnings.add("page", f"page {page + 1}: {exc}; stopped paging")
                break
            page += 1
        return ParsedSource(entries=entries, warnings=warnings.done())


def _not_documents(document: Any) -> str:
    hint = ""
    if isinstance(document, Mapping) and "agencies" in document:
        hint = " (this looks like a daily table of contents; use /api/v1/documents.json)"
    return f"federal_register: no 'results' list in the response ({describe_keys(document)}){hint}"


def _text(result: Mapping[str, Any], key: str, where: str, warnings: WarningLog) -> str | None:
    value = result.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        warnings.add(f"type {key}", f"{where}: {key} is {value!r:.40}, not text; ignored")
        return None
    return value.strip() or None


def _entry(result: Any, where: str, local: tzinfo, warnings: WarningLog) -> RawEntry | None:
    if not isinstance(result, Mapping):
        warnings.add("not an object", f"{where} skipped: expected an object, got {result!r:.60}")
        return None
    number = _text(result, "document_number", where, warnings)
    title = _text(result, "title", where, warnings)
    if number:
        where = f"document {number}"
    else:
        warnings.add("no number", f"{where}: no document_number; identified by its URL")
    if not title:
        warnings.add("no title", f"{where} skipped: no title")
        return None
    kind = _text(result, "type", where, warnings)
    facts: list[dict[str, Any]] = []
    days: dict[str, str] = {}
    for key, fact_kind in DATE_FACTS:
        raw = result.get(key)
        day = iso_day(raw)
        if day:
            days[fact_kind] = day
            facts.append(date_fact(fact_kind, day))
        elif raw not in (None, ""):
            warnings.add(f"date {key}", f"{where}: {key} {raw!r:.40} is not a YYYY-MM-DD date")
    cfr_parts = _cfr_parts(result.get("cfr_references"), where, warnings)
    facts += [{"kind": "cfr_part", "value": None, "unit": None, "text": p} for p in cfr_parts]
    agencies = _agencies(result.get("agencies"), where, warnings)
    candidates: dict[str, Any] = {
        "document_number": number,
        "type": kind,
        "html_url": _text(result, "html_url", where, warnings),
        "pdf_url": _text(result, "pdf_url", where, warnings),
        "citation": _text(result, "citation", where, warnings),
        "agencies": agencies,
        "cfr_parts": cfr_parts,
        **days,
    }
    meta = {key: value for key, value in candidates.items() if value}
    published = day_start(days["publication_date"], local) if "publication_date" in days else None
    return RawEntry(
        guid=number,
        link=meta.get("html_url"),
        title=title,
        summary=_text(result, "abstract", where, warnings),
        body=_outline(kind, agencies, cfr_parts, days),
        published=published,
        meta=meta,
        facts=facts,
    )


def _cfr_parts(value: Any, where: str, warnings: WarningLog) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        warnings.add("type cfr", f"{where}: cfr_references is not a list; ignored")
        return []
    parts: list[str] = []
    for reference in value:
        if not isinstance(reference, Mapping):
            continue
        title, part = reference.get("title"), reference.get("part")
        if title in (None, "") or part in (None, ""):
            continue
        text = f"{title} CFR {part}"
        if text not in parts:
            parts.append(text)
    return parts


def _agencies(value: Any, where: str, warnings: WarningLog) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        warnings.add("type agencies", f"{where}: agencies is not a list; ignored")
        return []
    names: list[str] = []
    for agency in value:
        name = agency.get("name") or agency.get("raw_name") if isinstance(agency, Mapping) else None
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return names


def _outline(
    kind: str | None, agencies: list[str], cfr_parts: list[str], days: Mapping[str, str]
) -> str:
    """A line of the document's particulars, so tagging and full-text search see them."""
    pieces = [f"{kind}." if kind else ""]
    if agencies:
        pieces.append(f"Agencies: {'; '.join(agencies)}.")
    if cfr_parts:
        pieces.append(f"CFR: {', '.join(cfr_parts)}.")
    if "effective_date" in days:
        pieces.append(f"Effective {days['effective_date']}.")
    if "comment_deadline" in days:
        pieces.append(f"Comments close {days['comment_deadline']}.")
    return " ".join(p for p in pieces if p)
