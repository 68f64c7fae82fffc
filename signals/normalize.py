"""Turn a parser's ``RawEntry`` into an ``Item``: canonical URL, clean text, UTC dates, identity.

Identity is what makes re-polls idempotent: an entry is keyed within its source by its
guid, else its canonical URL, else a hash of title and text; the item id is derived from
(source, key), so the same entry seen again maps to the same row, and a changed title or
text shows up as a different ``content_hash`` on the same id.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit, urlunsplit

from signals.model import Item, RawEntry
from signals.times import to_utc_iso

#: Query parameters that only track the click, never select the document.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "vero_conv",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "ref_src", "cmpid", "_ga", "_gl",
        "spm", "scm", "share_source", "wt.mc_id", "wt_mc", "wt_zmc", "ncid", "sr_share",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")

#: A summary longer than this (a feed carrying whole articles in its description) is
#: stored as the body, with an excerpt of about SUMMARY_EXCERPT characters as the summary.
#: Above the longest real abstracts (arXiv allows 1,920 characters), which stay whole.
SUMMARY_LIMIT = 2500
SUMMARY_EXCERPT = 600

#: Entries dated further ahead than this are treated as undated (a broken clock or template).
FUTURE_TOLERANCE = timedelta(days=2)
#: Entries dated before this carry a placeholder (the Unix epoch of a CMS without dates),
#: not a date: dated by when first seen, they are not mistaken for decades-old news and
#: left out of every digest window.
PAST_FLOOR = datetime(1990, 1, 1, tzinfo=UTC)

_BLOCK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|pre|section|article|header|footer"
    r"|figure|figcaption|hr|dd|dt|dl)\b[^>]*>",
    re.IGNORECASE,
)
_DROP = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg)\b.*?</\1\s*>|<!--.*?-->|<!\[CDATA\[|\]\]>",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<![^>]*>")
#: Table cells sit side by side: "<td>Revenue</td><td>$5.2B</td>" reads "Revenue $5.2B".
_CELL = re.compile(r"</?t[dh]\b[^>]*>", re.IGNORECASE)
_PRE_OPEN = re.compile(r"<pre\b", re.IGNORECASE)
_PRE = re.compile(r"(<pre\b[^>]*>.*?</pre\s*>)", re.IGNORECASE | re.DOTALL)
#: Whitespace that is not already one plain space: each run becomes one space, and single
#: spaces (most of them) are left alone instead of being replaced by themselves.
_SOURCE_WHITESPACE = re.compile(r"\s{2,}|[^\S ]")
_FEED_FOOTER = re.compile(r"The post .+ appeared first on .+\.?$")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]|[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters or fragment; None if not a web URL."""
    if not url:
        return None
    url = url.strip()
    if base and not url.startswith(("http://", "https://")):
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if port and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not _is_tracking(pair.split("=", 1)[0])
    )
    path = parts.path.replace(" ", "%20") or "/"
    return urlunsplit((scheme, host, path, query, ""))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def clean_text(value: str | None) -> str:
    """Plain text from HTML or text: tags and scripts dropped, entities decoded, spaces folded.

    Paragraph and line breaks survive as single newlines so a body stays readable.
    """
    if not value:
        return ""
    if "<" in value or "&" in value:
        value = _html_to_text(value)
    value = unicodedata.normalize("NFC", value)
    value = _INVISIBLE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    return "\n".join(line for line in lines if line)


def clean_line(value: str | None) -> str:
    """clean_text on one line: for titles, where a newline is never meaningful."""
    return " ".join(clean_text(value).split("\n"))


def _html_to_text(markup: str) -> str:
    # Regular expressions, not a DOM: feed HTML arrives sanitized by feedparser (or is a
    # short snippet), we keep only text, and this is 20x faster than lxml on summaries.
    text = _DROP.sub(" ", markup)
    if _TAG.search(text):
        # In HTML a line break in the source is a space (feeds wrap paragraphs at 70-80
        # columns); only block elements break lines, and <pre> keeps its own.
        if _PRE_OPEN.search(text):
            parts = _PRE.split(text)
            text = "".join(
                part if index % 2 else _SOURCE_WHITESPACE.sub(" ", part)
                for index, part in enumerate(parts)
            )
        else:
            text = _SOURCE_WHITESPACE.sub(" ", text)
    text = _BLOCK.sub("\n", text)
    text = _CELL.sub(" ", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


def short_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def entry_key(raw: RawEntry, url: str | None, title: str, text: str) -> str:
    """Identity of an entry within its source: guid, else canonical URL, else content hash.

    Without a guid, a link's fragment stays in the key (not in the stored URL): comment
    feeds link every entry to one page and tell them apart only by ``#comment-N``.
    """
    guid = (raw.guid or "").strip()
    if guid:
        return f"guid:{guid}"
    if url:
        fragment = urlsplit(raw.link or "").fragment
        return f"url:{url}#{fragment}" if fragment else f"url:{url}"
    return f"hash:{short_hash(title, text)}"


def item_id(source_id: str, key: str) -> str:
    return short_hash(source_id, key)


def rekey_shared_links(items: list[Item], source_id: str) -> None:
    """Entries without a guid that share one link are told apart by their content.

    Some feeds point every entry at the same page (a newsroom front page, a notices
    index). Keyed by that URL alone they would collapse into one item, and each poll's
    newest entry would overwrite the last; keyed by URL plus content they stay separate.
    """
    counts = Counter(item.entry_key for item in items if item.entry_key.startswith("url:"))
    for item in items:
        if counts.get(item.entry_key, 0) > 1:
            item.entry_key = f"url+text:{short_hash(item.entry_key, item.content_hash)}"
            item.id = item_id(source_id, item.entry_key)


def normalize(raw: RawEntry, source_id: str, base_url: str, seen_at: datetime) -> Item:
    """Normalize one entry. ``seen_at`` stands in for a missing or implausible date."""
    url = canonical_url(raw.link, base_url)
    summary = clean_text(raw.summary)
    body = clean_text(raw.body)
    if body == summary:
        body = ""
    title = clean_line(raw.title)
    if not title:
        title = _title_from_text(summary or body) or (url or "(untitled)")
    key = entry_key(raw, url, title, summary + "\n" + body)
    content_hash = short_hash(title, summary, "" if raw.body_followed else body)
    summary, body = _without_footer(summary), _without_footer(body)
    if len(summary) > SUMMARY_LIMIT and not body:
        # A feed that puts whole articles in <description>: the text is the body, and the
        # summary an excerpt. Identity and content hash stay those of the text as given.
        summary, body = excerpt(summary, SUMMARY_EXCERPT), summary
    plausible = [
        moment
        for moment in (raw.published, raw.updated)
        if moment is not None and PAST_FLOOR <= moment <= seen_at + FUTURE_TOLERANCE
    ]
    estimated = not plausible
    published = plausible[0] if plausible else seen_at
    return Item(
        id=item_id(source_id, key),
        entry_key=key,
        url=url,
        title=title,
        summary=summary,
        body=body,
        published_at=to_utc_iso(published),
        date_estimated=estimated,
        content_hash=content_hash,
        meta=dict(raw.meta),
        facts=list(raw.facts),
    )


def _without_footer(text: str) -> str:
    """Drop WordPress's (Yoast's) closing "The post X appeared first on SITE." line: it
    repeats the title and the site name in every summary, and tags would match them."""
    head, _, last = text.rpartition("\n")
    return head if head and _FEED_FOOTER.match(last) else text


def excerpt(text: str, limit: int) -> str:
    """The leading paragraphs of ``text`` that fit in ``limit`` characters, else the first
    paragraph cut at a word (or, for text without spaces, a character) with an ellipsis."""
    kept: list[str] = []
    size = 0
    for paragraph in text.split("\n"):
        if size + len(paragraph) > limit:
            break
        kept.append(paragraph)
        size += len(paragraph) + 1
    if kept:
        return "\n".join(kept)
    cut = text[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def _title_from_text(text: str, limit: int = 90) -> str:
    first = text.split("\n", 1)[0]
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "…"
