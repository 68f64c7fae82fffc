"""``preset = "edgar_submissions"``: a company's filings from ``data.sec.gov/submissions``.

``https://data.sec.gov/submissions/CIK##########.json`` holds the company (name, tickers)
and ``filings.recent``: parallel arrays (``accessionNumber[i]``, ``form[i]``,
``filingDate[i]``...) for the latest ~1,000 filings or the last year, whichever is more.
Each filing becomes an item keyed by its accession number, linked to its filing index
(``https://www.sec.gov/Archives/edgar/data/<CIK>/<accession without dashes>/<accession>-index.htm``,
as EDGAR's Atom feeds link it, so both sources make one item), with the primary
document's URL (``.../<accession without dashes>/<primaryDocument>``) in
``meta.primary_document_url`` and 8-K items (2.02, 5.02...) spelled out so tagging sees
"Results of Operations".
``forms = ["6-K", "20-F"]`` keeps only those form types (amendments such as ``6-K/A``
are separate form types: list them to keep them).

Older history lives in ``filings.files[]`` (``CIK##########-submissions-001.json``...,
the same arrays without the wrapper). Monitoring needs only the recent block, so history
is not paged by default; ``history_files = N`` reads up to N of those files, and only on
the first fill (when none of the recent filings is archived yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

from signals.config import Source
from signals.model import Fetched, ParsedSource, RawEntry
from signals.sources import ParseContext, ParseError
from signals.sources._common import (
    Problems,
    WarningLog,
    check_int,
    check_text_list,
    date_fact,
    day_start,
    describe_keys,
    iso_day,
    zone,
)

ARCHIVES = "https://www.sec.gov/Archives/edgar/data"
SEC_TIMEZONE = "America/New_York"
HISTORY_FILES_LIMIT = 10
REQUIRED_COLUMNS = ("accessionNumber", "form", "filingDate")

#: Form 8-K item numbers and their names (SEC Form 8-K General Instructions).
FORM_8K_ITEMS: dict[str, str] = {
    "1.01": "Entry into a Material Definitive Agreement",
    "1.02": "Termination of a Material Definitive Agreement",
    "1.03": "Bankruptcy or Receivership",
    "1.04": "Mine Safety",
    "1.05": "Material Cybersecurity Incidents",
    "2.01": "Completion of Acquisition or Disposition of Assets",
    "2.02": "Results of Operations and Financial Condition",
    "2.03": "Creation of a Direct Financial Obligation",
    "2.04": "Triggering Events That Accelerate a Direct Financial Obligation",
    "2.05": "Costs Associated with Exit or Disposal Activities",
    "2.06": "Material Impairments",
    "3.01": "Notice of Delisting or Failure to Satisfy a Listing Rule",
    "3.02": "Unregistered Sales of Equity Securities",
    "3.03": "Material Modification to Rights of Security Holders",
    "4.01": "Changes in Registrant's Certifying Accountant",
    "4.02": "Non-Reliance on Previously Issued Financial Statements",
    "5.01": "Changes in Control of Registrant",
    "5.02": "Departure or Election of Directors or Officers; Compensatory Arrangements",
    "5.03": "Amendments to Articles of Incorporation or Bylaws; Change in Fiscal Year",
    "5.05": "Amendments to the Code of Ethics",
    "5.07": "Submission of Matters to a Vote of Security Holders",
    "7.01": "Regulation FD Disclosure",
    "8.01": "Other Events",
    "9.01": "Financial Statements and Exhibits",
}


class EdgarSubmissionsPreset:
    name = "edgar_submissions"
    option_keys: frozenset[str] = frozenset({"forms", "history_files"})

    def validate(self, options: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        check_text_list(options, "forms", problems)
        check_int(options, "history_files", problems, low=0, high=HISTORY_FILES_LIMIT)
        return problems

    def parse(
        self, document: Any, fetched: Fetched, source: Source, context: ParseContext
    ) -> ParsedSource:
        from signals.sources.json_api import load_json

        recent = _lookup_recent(document)
        company = Company.from_document(document)
        local = zone(source.options.get("timezone", SEC_TIMEZONE))
        forms = _forms(source.options.get("forms"))
        warnings = WarningLog()
        entries = filings(recent, company, forms, local, warnings, "filings.recent")
        history = int(source.options.get("history_files", 0))
        files = document.get("filings", {}).get("files") or []
        first_fill = bool(entries) and not any(context.is_known(e) for e in entries)
        if history and files and first_fill:
            if context.preview:
                warnings.add(
                    "preview", f"preview: did not read {min(history, len(files))} history files"
                )
            else:
                for spec in files[:history]:
                    name = spec.get("name") if isinstance(spec, Mapping) else None
                    if not isinstance(name, str) or not name:
                        warnings.add("history", "filings.files entry without a name; skipped")
                        continue
                    result = context.fetch(urljoin(fetched.url, name))
                    if not isinstance(result, Fetched):
                        error = getattr(result, "error", None) or result.outcome
                        warnings.add("history", f"history file {name}: {result.outcome}: {error}")
                        continue
                    try:
                        older = load_json(result, what=f"history file {name}")
                    except ParseError as exc:
                        warnings.add("history", str(exc))
                        continue
                    if not isinstance(older, Mapping):
                        warnings.add("history", f"history file {name}: not a JSON object")
                        continue
                    entries += filings(older, company, forms, local, warnings, name)
        return ParsedSource(entries=entries, warnings=warnings.done(), title=company.name)


class Company:
    """Who filed: CIK (as a number, the way Archives paths spell it), name, tickers."""

    def __init__(self, cik: int, name: str, tickers: Sequence[str]):
        self.cik = cik
        self.name = name
        self.tickers = list(tickers)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Company:
        raw_cik = document.get("cik")
        try:
            cik = int(str(raw_cik).strip())
        except ValueError:
            raise ParseError(f"edgar_submissions: cik {raw_cik!r} is not a number") from None
        name = document.get("name")
        tickers = document.get("tickers")
        return cls(
            cik=cik,
            name=name.strip() if isinstance(name, str) and name.strip() else f"CIK {cik}",
            tickers=[t for t in tickers if isinstance(t, str)] if isinstance(tickers, list) else [],
        )


def _lookup_recent(document: Any) -> Mapping[str, Any]:
    filings_block = document.get("filings") if isinstance(document, Mapping) else None
    recent = filings_block.get("recent") if isinstance(filings_block, Mapping) else None
    if not isinstance(recent, Mapping):
        raise ParseError(
            "edgar_submissions: no filings.recent block in the response"
            f" ({describe_keys(document)}); is the URL data.sec.gov/submissions/CIK##########.json?"
        )
    return recent


def _forms(value: Any) -> frozenset[str] | None:
    if not value:
        return None
    values = [value] if isinstance(value, str) else value
    return frozenset(v.strip().upper() for v in values)


def _column(columns: Mapping[str, Any], name: str, count: int) -> list[Any]:
    values = columns.get(name)
    return list(values) if isinstance(values, list) else [None] * count


def filings(
    columns: Mapping[str, Any],
    company: Company,
    forms: frozenset[str] | None,
    local: tzinfo,
    warnings: WarningLog,
    where: str,
) -> list[RawEntry]:
    """Entries from EDGAR's parallel arrays (the recent block or a history file)."""
    missing = [name for name in REQUIRED_COLUMNS if not isinstance(columns.get(name), list)]
    if missing:
        raise ParseError(f"edgar_submissions: {where} has no {', '.join(missing)} array")
    lengths = {len(columns[name]) for name in REQUIRED_COLUMNS}
    count = min(lengths)
    if len(lengths) > 1:
        warnings.add("ragged", f"{where}: arrays of different lengths; read the first {count}")
    table = {
        name: _column(columns, name, count)
        for name in (
            *REQUIRED_COLUMNS,
            "reportDate",
            "acceptanceDateTime",
            "items",
            "primaryDocument",
            "primaryDocDescription",
            "size",
        )
    }
    entries: list[RawEntry] = []
    for index in range(count):
        row = {
            name: values[index] if index < len(values) else None for name, values in table.items()
        }
        form = row["form"].strip() if isinstance(row["form"], str) else ""
        if forms is not None and form.upper() not in forms:
            continue
        entry = _filing(row, form, company, local, warnings, f"{where}[{index}]")
        if entry is not None:
            entries.append(entry)
    return entries


def _filing(
    row: Mapping[str, Any],
    form: str,
    company: Company,
    local: tzinfo,
    warnings: WarningLog,
    where: str,
) -> RawEntry | None:
    accession = row["accessionNumber"]
    if not isinstance(accession, str) or not accession.strip() or not form:
        warnings.add("no accession", f"{where} skipped: no accession number or form")
        return None
    accession = accession.strip()
    folder = f"{ARCHIVES}/{company.cik}/{accession.replace('-', '')}"
    index_url = f"{folder}/{accession}-index.htm"
    document = row["primaryDocument"] if isinstance(row["primaryDocument"], str) else ""
    primary_url = f"{folder}/{document.strip()}" if document.strip() else None
    filed = iso_day(row["filingDate"])
    if filed is None:
        warnings.add("bad date", f"{accession}: filingDate {row['filingDate']!r} is not a date")
    items = _items(row["items"])
    described = [
        f"Item {n} {FORM_8K_ITEMS[n]}" if n in FORM_8K_ITEMS else f"Item {n}" for n in items
    ]
    description = row["primaryDocDescription"]
    description = description.strip() if isinstance(description, str) else ""
    # The filing day is in the title: a company's 8-Ks for each quarter would otherwise
    # carry the same title and read (and group) as one story.
    filed_label = f" ({filed})" if filed else ""
    if described:
        title = f"{company.name} {form}{filed_label}: {'; '.join(described)}"
    elif description and description.upper() not in (form.upper(), f"FORM {form.upper()}"):
        title = f"{company.name} {form}{filed_label}: {description}"
    else:
        title = f"{company.name} files {form}{filed_label}"
    report = iso_day(row["reportDate"])
    summary = (
        f"Form {form} filed {filed or 'on an unknown date'} by {company.name} (CIK {company.cik})."
    )
    if described:
        summary += f" {'; '.join(described)}."
    if report:
        summary += f" Report date {report}."
    meta: dict[str, Any] = {
        "form": form,
        "cik": company.cik,
        "company": company.name,
        "accession_number": accession,
        "index_url": index_url,
    }
    optional = {
        "tickers": company.tickers,
        "filing_date": filed,
        "report_date": report,
        "items": items,
        "primary_document": document.strip(),
        "primary_document_url": primary_url,
        "size": row["size"] if isinstance(row["size"], int) else None,
        "accepted_at": row["acceptanceDateTime"]
        if isinstance(row["acceptanceDateTime"], str)
        else None,
    }
    meta.update({key: value for key, value in optional.items() if value})
    return RawEntry(
        guid=accession,
        # The filing index, as EDGAR's Atom feeds link it: the same filing from both
        # kinds of source is then one item, and the index lists the exhibits (a 6-K's
        # substance is usually its EX-99.1, not the cover document).
        link=index_url,
        title=title,
        summary=summary,
        published=_filed_at(filed, local),
        meta=meta,
        facts=[date_fact("publication_date", filed)] if filed else [],
    )


def _items(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _filed_at(filed: str | None, local: tzinfo) -> datetime | None:
    """The filing day at midnight in Washington.

    Not ``acceptanceDateTime``: despite its trailing ``Z`` it is UTC for some filers and
    the New York clock for others (edgartools issue #557), so to the hour it cannot be
    trusted; the raw value is kept in ``meta.accepted_at``.
    """
    return day_start(filed, local) if filed else None
