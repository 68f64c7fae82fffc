"""The small typed objects the pipeline stages hand to each other.

fetch -> ``Fetched`` | ``NotModified`` | ``FetchFailed``; parse -> ``RawEntry``;
normalize -> ``Item``. None of them does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The watch categories. The ids are a contract with rules, digests and analysts' queries.
CATEGORY_IDS: tuple[str, ...] = (
    "infrastructure",
    "model_performance",
    "customer_traction",
    "chip_ecosystem",
    "policy_shifts",
    "financial_posture",
)


@dataclass(frozen=True)
class Fetched:
    """A 2xx response whose body was read completely and within the size cap."""

    url: str  # final URL after redirects
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    etag: str | None
    last_modified: str | None
    duration_ms: int
    outcome: str = "ok"
    #: Where a permanent redirect (301/308) sent the request: the URL to configure instead.
    moved_to: str | None = None
    #: Seconds the server says the response stays fresh (Cache-Control max-age minus Age).
    fresh_for_s: float | None = None


@dataclass(frozen=True)
class NotModified:
    """The server answered 304 to our conditional GET: nothing to parse."""

    url: str
    status: int
    etag: str | None
    last_modified: str | None
    duration_ms: int
    outcome: str = "not_modified"
    moved_to: str | None = None
    fresh_for_s: float | None = None


@dataclass(frozen=True)
class FetchFailed:
    """A named failure (``http_404``, ``timeout``, ``too_large``, ...) and what the server asked."""

    outcome: str
    error: str
    status: int | None = None
    retry_after_s: float | None = None
    duration_ms: int = 0
    bytes_read: int = 0


FetchResult = Fetched | NotModified | FetchFailed


@dataclass
class RawEntry:
    """One entry as a parser saw it, before normalization. Text may still hold HTML."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None = None  # HTML or text
    body: str | None = None  # HTML or text; the full content where the source gives it
    published: datetime | None = None  # aware, any zone
    updated: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # kind-specific facts (form type, ...)
    facts: list[dict[str, Any]] = field(default_factory=list)  # (kind, value, unit, text)
    #: The body was fetched from the entry's link (html ``follow_links``), not carried by the
    #: list itself: later polls see the entry without it, so it is left out of change detection.
    body_followed: bool = False


@dataclass
class ParsedSource:
    """What a parser found in one response: entries plus warnings about what it skipped."""

    entries: list[RawEntry]
    warnings: list[str] = field(default_factory=list)
    title: str | None = None


@dataclass
class Item:
    """A normalized entry: canonical URL, clean text, UTC times and a stable identity."""

    id: str
    entry_key: str  # identity within its source: guid > canonical url > content hash
    url: str | None
    title: str
    summary: str
    body: str
    published_at: str  # ISO 8601 UTC
    date_estimated: bool  # True when published_at is the time first seen, not the source's
    content_hash: str
    meta: dict[str, Any] = field(default_factory=dict)
    facts: list[dict[str, Any]] = field(default_factory=list)
