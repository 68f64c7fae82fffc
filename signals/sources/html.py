"""``kind = "html"``: a list page (press releases, news) scraped with CSS selectors.

beautifulsoup4 with the lxml parser reads the page; ``[source.select]`` says where each
entry is (``item``) and, inside it, its ``title``, ``link``, ``date`` and ``summary``.
The page's bytes are decoded the way a browser would: the charset in the Content-Type
header, else a BOM or ``<meta charset>``, else detection (bs4 + charset-normalizer), so a
Shift_JIS or windows-1252 page without a header comes through intact.

When the item selector matches nothing on a page that answered 200, the layout changed:
that is ``selector_empty``, a failure recorded on the source (it backs off and shows in
``signals sources``), never a silent "no news". With ``follow_links = true`` each NEW
entry's page is fetched (through the same polite fetcher, at most ``follow_max`` per poll)
and its main text, extracted by trafilatura, becomes the item's body for tagging.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import tzinfo
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from signals.config import Source
from signals.model import Fetched, ParsedSource, RawEntry
from signals.sources import ParseContext, ParseError
from signals.sources._common import (
    Problems,
    WarningLog,
    check_bool,
    check_date_format,
    check_int,
    check_table,
    check_text,
    check_timezone,
    check_unknown,
    parse_date,
    zone,
)

if TYPE_CHECKING:
    from bs4 import Tag

log = logging.getLogger(__name__)

ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
SELECT_KEYS = ("item", "title", "link", "date", "summary")
FOLLOW_MAX_DEFAULT = 10
FOLLOW_MAX_LIMIT = 50


class HtmlKind:
    name = "html"
    accept = ACCEPT
    needs_known_keys = True  # follow_links fetches only pages of entries not yet archived
    option_keys: frozenset[str] = frozenset(
        {
            "select",
            "date_format",
            "date_attr",
            "link_attr",
            "timezone",
            "follow_links",
            "follow_max",
        }
    )

    def validate(self, options: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        select = check_table(options, "select", problems, required=True)
        if select is not None:
            check_unknown(select, SELECT_KEYS, "select", problems)
            for key in SELECT_KEYS:
                check_text(
                    select,
                    key,
                    problems,
                    required=key in ("item", "title"),
                    where=f"select.{key}",
                    what="a non-empty CSS selector string",
                )
                if isinstance(select.get(key), str) and select[key].strip():
                    _check_selector(select[key], f"select.{key}", problems)
        check_date_format(options, "date_format", problems)
        check_text(options, "date_attr", problems, what="an attribute name such as 'datetime'")
        check_text(options, "link_attr", problems, what="an attribute name such as 'href'")
        check_timezone(options, "timezone", problems)
        check_bool(options, "follow_links", problems)
        check_int(options, "follow_max", problems, low=1, high=FOLLOW_MAX_LIMIT)
        if "date_format" in options and select is not None and "date" not in select:
            problems.append(("date_format", "set select.date too (which element holds the date)"))
        return problems

    def parse(self, fetched: Fetched, source: Source, context: ParseContext) -> ParsedSource:
        options = source.options
        select: Mapping[str, str] = options["select"]
        soup = _soup(fetched.body, fetched.headers)
        base = _base_url(soup, fetched.url)
        items = soup.select(select["item"])
        if not items:
            raise ParseError(
                f"select.item {select['item']!r} matched nothing on the page"
                f" ({_page_label(soup, fetched.url)}); the layout may have changed",
                outcome="selector_empty",
            )
        local = zone(options["timezone"]) if "timezone" in options else zone(context.timezone)
        warnings = WarningLog()
        entries: list[RawEntry] = []
        for position, element in enumerate(items, start=1):
            entry = _entry(element, position, select, options, base, local, warnings)
            if entry is not None:
                entries.append(entry)
        if not entries:
            raise ParseError(
                f"select.title {select['title']!r} matched nothing in any of the"
                f" {len(items)} items found by select.item; the layout may have changed",
                outcome="selector_empty",
            )
        if options.get("follow_links"):
            limit = int(options.get("follow_max", FOLLOW_MAX_DEFAULT))
            _follow(entries, context, limit, warnings)
        title = soup.title.get_text(" ", strip=True) if soup.title else None
        return ParsedSource(entries=entries, warnings=warnings.done(), title=title)


def _check_selector(selector: str, where: str, problems: Problems) -> None:
    import soupsieve

    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        reason = str(exc.args[0]).splitlines()[0]  # soupsieve adds a caret drawing below
        problems.append((where, f"invalid CSS selector {selector!r}: {reason}"))


def header_charset(headers: Mapping[str, str]) -> str | None:
    """The charset a Content-Type header declares, if any."""
    content_type = headers.get("content-type", "")
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None


def _soup(body: bytes, headers: Mapping[str, str]) -> Any:
    from bs4 import BeautifulSoup

    # Bytes, not text: bs4 then weighs the header charset, a BOM, <meta charset> and
    # detection in the order browsers do (HTML Standard, "determining the encoding").
    return BeautifulSoup(body, "lxml", from_encoding=header_charset(headers))


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """A page as text, decoded like ``_soup`` decodes it (header, BOM, meta, detection)."""
    from bs4 import UnicodeDammit

    charset = header_charset(headers)
    dammit = UnicodeDammit(
        body, known_definite_encodings=[charset] if charset else [], is_html=True
    )
    return dammit.unicode_markup or body.decode("utf-8", errors="replace")


def _base_url(soup: Any, page_url: str) -> str:
    base = soup.find("base", href=True)
    return urljoin(page_url, base["href"]) if base is not None else page_url


def _page_label(soup: Any, url: str) -> str:
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    return f"{url}, title {title[:80]!r}" if title else url


def _text(element: Tag | None) -> str:
    """An element's text on one line: list-page titles and teasers are inline text, and
    the page source's own line wrapping is not a line break (a browser shows none)."""
    return " ".join(element.get_text(" ").split()) if element is not None else ""


def _entry(
    element: Tag,
    position: int,
    select: Mapping[str, str],
    options: Mapping[str, Any],
    base: str,
    local: tzinfo,
    warnings: WarningLog,
) -> RawEntry | None:
    title = _text(element.select_one(select["title"]))
    if not title:
        warnings.add("no title", f"item {position} skipped: select.title matched no text in it")
        return None
    link_element = (
        element.select_one(select["link"])
        if "link" in select
        else (element if element.name == "a" else element.select_one("a[href]"))
    )
    attribute = options.get("link_attr", "href")
    href = link_element.get(attribute) if link_element is not None else None
    link = urljoin(base, href.strip()) if isinstance(href, str) and href.strip() else None
    if link is None:
        warnings.add("no link", f"item {position} ({title[:60]!r}): no link found")
    published = None
    if "date" in select:
        date_element = element.select_one(select["date"])
        raw_date = (
            date_element.get(options["date_attr"])
            if date_element is not None and "date_attr" in options
            else _text(date_element)
        )
        if isinstance(raw_date, str) and raw_date.strip():
            try:
                published = parse_date(raw_date, options.get("date_format"), local)
            except ValueError as exc:
                warnings.add("bad date", f"item {position} ({title[:60]!r}): {exc}")
        else:
            warnings.add("no date", f"item {position} ({title[:60]!r}): select.date found no date")
    summary = _text(element.select_one(select["summary"])) if "summary" in select else None
    # get_text() gives plain text; escaped, normalize reads it as text ("<NVDA.O>" stays)
    return RawEntry(
        guid=None,
        link=link,
        title=escape(title, quote=False),
        summary=escape(summary, quote=False) if summary else None,
        published=published,
        meta={"list_position": position},
    )


def _follow(
    entries: list[RawEntry], context: ParseContext, limit: int, warnings: WarningLog
) -> None:
    """Fetch the pages of new entries (at most ``limit``) and put their main text in the body."""
    fresh = [e for e in entries if e.link and not context.is_known(e)]
    if context.preview:
        if fresh:
            warnings.add("preview", f"preview: did not follow {len(fresh)} new article links")
        return
    if len(fresh) > limit:
        warnings.add(
            "follow cap",
            f"followed {limit} of {len(fresh)} new article links (follow_max);"
            " the rest are stored with the list text only",
        )
    for entry in fresh[:limit]:
        assert entry.link is not None
        result = context.fetch(entry.link)
        if not isinstance(result, Fetched):
            reason = getattr(result, "error", None) or result.outcome
            warnings.add("follow failed", f"article {entry.link}: {result.outcome}: {reason}")
            continue
        text = extract_main_text(result.body, result.headers, result.url)
        if text:
            entry.body = escape(text, quote=False)
            entry.body_followed = True
        else:
            warnings.add("no article text", f"article {entry.link}: no main text found")


def extract_main_text(body: bytes, headers: Mapping[str, str], url: str) -> str | None:
    """The article text of a page (boilerplate, menus and footers removed), via trafilatura."""
    import trafilatura

    markup = decode_html(body, headers)
    try:
        text: str | None = trafilatura.extract(
            markup, url=url, include_comments=False, include_tables=True, favor_precision=True
        )
    except Exception as exc:  # an extractor crash on one odd page must not cost the poll
        log.warning("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
    return text.strip() if text and text.strip() else None
