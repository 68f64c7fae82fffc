"""``kind = "feed"``: RSS 0.9x/1.0/2.0 and Atom through feedparser, and JSON Feed.

feedparser gets the fetched bytes and response headers, never a URL (a string that looks
like a URL or a path would make it do I/O). The bozo policy: a feed that yields entries is
usable whatever feedparser complained about (the complaint becomes a warning); a feed
that yields nothing is a ``parse_error`` unless it is a recognisable, empty feed.
JSON Feed (jsonfeed.org) is parsed here because feedparser 6.0 does not read it.
"""

from __future__ import annotations

import calendar
import io
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from signals.config import Source
from signals.model import Fetched, ParsedSource, RawEntry
from signals.sources import ParseContext, ParseError
from signals.sources._common import json_text

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.8, application/json;q=0.7, */*;q=0.5"
)
#: feedparser complaints that say nothing about the feed's content.
HARMLESS_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")


class FeedKind:
    name = "feed"
    accept = ACCEPT
    option_keys: frozenset[str] = frozenset()

    def validate(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return []

    def parse(self, fetched: Fetched, source: Source, context: ParseContext) -> ParsedSource:
        return parse_feed(fetched.body, fetched.headers)


def parse_feed(body: bytes, headers: Mapping[str, str]) -> ParsedSource:
    """Entries from feed bytes and the response headers (which may declare the charset)."""
    if not body.strip():
        raise ParseError("empty response body")
    if _looks_like_json(body, headers):
        return _parse_json_feed(body, headers.get("content-type", ""))
    return _parse_xml_feed(body, headers)


def _looks_like_json(body: bytes, headers: Mapping[str, str]) -> bool:
    """The body decides when it can (a server may label an RSS file ``application/json``);
    the Content-Type only when the first byte says neither (e.g. UTF-16)."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return False
    return start in (b"{", b"[") or "json" in headers.get("content-type", "").lower()


def _parse_xml_feed(body: bytes, headers: Mapping[str, str]) -> ParsedSource:
    import feedparser

    # No base URL for feedparser: relative links inside entry HTML are dropped with the
    # markup (only text is kept), and normalize resolves entry links against the feed URL.
    # Resolving them here too would cost a third of feedparser's time.
    parsed = feedparser.parse(
        io.BytesIO(_declaration_first(body)),
        response_headers=dict(headers),
        resolve_relative_uris=False,
    )
    warnings: list[str] = []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and type(problem).__name__ not in HARMLESS_BOZO:
        warnings.append(f"feed is not well-formed: {_describe(problem)}")
    if not parsed.entries:
        if not parsed.get("version"):
            looks_html = b"<html" in body[:2048].lower()
            hint = " (got an HTML page; is the URL a feed?)" if looks_html else ""
            detail = f": {_describe(problem)}" if problem is not None else ""
            raise ParseError(f"not a feed{hint}{detail}")
        if warnings:
            raise ParseError(warnings[0])
    entries: list[RawEntry] = []
    for position, entry in enumerate(parsed.entries, start=1):
        try:
            entries.append(_entry_from_feedparser(entry))
        except Exception as exc:  # one broken entry must not cost the others
            warnings.append(f"entry {position} skipped: {type(exc).__name__}: {exc}")
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return ParsedSource(entries=entries, warnings=warnings, title=title)


def _declaration_first(body: bytes) -> bytes:
    """Drop blank lines before the XML declaration (a PHP or WordPress plugin's stray
    newline), which makes the feed not well-formed and a warning on every poll."""
    bom = b"\xef\xbb\xbf" if body.startswith(b"\xef\xbb\xbf") else b""
    rest = body[len(bom) :]
    stripped = rest.lstrip(b" \t\r\n")
    if len(stripped) < len(rest) and stripped.startswith(b"<?xml"):
        return bom + stripped
    return body


def _describe(problem: BaseException) -> str:
    text = getattr(problem, "getMessage", lambda: str(problem))()
    line = getattr(problem, "getLineNumber", lambda: None)()
    where = f" at line {line}" if line else ""
    return f"{type(problem).__name__}{where}: {text}"


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _as_markup(value: Any, detail: Any) -> Any:
    """Text in the one form normalize reads (HTML): plain text is escaped, not parsed.

    feedparser types each text construct; a ``text/plain`` title such as
    "Nvidia <NVDA.O> rises" (a Reuters ticker, an Atom ``type="text"`` summary quoting
    markup) would otherwise lose its angle-bracketed words as if they were tags.
    """
    if isinstance(value, str) and (detail or {}).get("type") == "text/plain":
        return escape(value, quote=False)
    return value


def _enclosure(entry: Any) -> str | None:
    """The enclosure's URL for an entry that has no link of its own.

    Filings and notices are often published as a PDF enclosure only; without this the
    item had no URL to open (and, without a guid, no identity but its text).
    """
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and link.get("href"):
            return str(link["href"])
    return None


def _entry_from_feedparser(entry: Any) -> RawEntry:
    summary = entry.get("summary")
    contents = entry.get("content") or []
    body = None
    if contents:
        html = [c for c in contents if "html" in (c.get("type") or "")]
        chosen = (html or contents)[0]
        body = _as_markup(chosen.get("value"), chosen)
        if chosen.get("value") == summary:
            summary = None
    meta: dict[str, Any] = {}
    if author := entry.get("author"):
        meta["author"] = author
    terms = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    if terms:
        meta["feed_categories"] = terms[:20]
    return RawEntry(
        guid=entry.get("id") or None,
        link=entry.get("link") or _enclosure(entry),
        title=_as_markup(entry.get("title"), entry.get("title_detail")),
        summary=_as_markup(summary, entry.get("summary_detail")),
        body=body,
        published=_struct_to_datetime(entry.get("published_parsed")),
        updated=_struct_to_datetime(entry.get("updated_parsed")),
        meta=meta,
    )


def _parse_json_feed(body: bytes, content_type: str = "") -> ParsedSource:
    try:
        document = json.loads(json_text(body, content_type))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
    version = document.get("version", "") if isinstance(document, dict) else ""
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError("JSON response is not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed has no items list")
    entries: list[RawEntry] = []
    warnings: list[str] = []
    for position, item in enumerate(items, start=1):
        try:
            entries.append(_entry_from_json_feed(item))
        except (TypeError, ValueError, AttributeError) as exc:
            warnings.append(f"item {position} skipped: {exc}")
    title = document.get("title") if isinstance(document.get("title"), str) else None
    return ParsedSource(entries=entries, warnings=warnings, title=title)


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _attachment(item: Mapping[str, Any]) -> str | None:
    """A JSON Feed item's first attachment URL (its enclosure), when it has no url."""
    attachments = item.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if isinstance(attachment, dict) and isinstance(attachment.get("url"), str):
                return str(attachment["url"])
    return None


def _plain(value: Any) -> Any:
    return escape(value, quote=False) if isinstance(value, str) else value


def _entry_from_json_feed(item: Any) -> RawEntry:
    if not isinstance(item, dict):
        raise TypeError(f"expected an object, got {type(item).__name__}")
    guid = item.get("id")
    if guid is not None and not isinstance(guid, str | int):
        raise TypeError(f"id must be a string, got {type(guid).__name__}")
    # JSON Feed's title, summary and content_text are plain text; only content_html is HTML
    body = item.get("content_html") or _plain(item.get("content_text"))
    summary = _plain(item.get("summary"))
    meta: dict[str, Any] = {}
    if isinstance(item.get("tags"), list):
        meta["feed_categories"] = [str(t) for t in item["tags"]][:20]
    return RawEntry(
        guid=str(guid) if guid is not None else None,
        link=item.get("url") or item.get("external_url") or _attachment(item),
        title=_plain(item.get("title")),
        summary=summary if isinstance(summary, str) else None,
        body=body if isinstance(body, str) else None,
        published=_json_date(item.get("date_published")),
        updated=_json_date(item.get("date_modified")),
        meta=meta,
    )
