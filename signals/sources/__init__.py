"""Source kinds: how the bytes of one kind of source become entries.

``SOURCE_KINDS`` maps the ``kind`` in sources.toml to its implementation. A kind declares
the extra keys it accepts, validates them (returning every problem), says what to put in
the Accept header, and parses a fetched response. Built-ins register the same way a new
kind would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from signals.config import Source
    from signals.model import Fetched, FetchResult, ParsedSource, RawEntry


class ParseError(Exception):
    """The response as a whole is unusable; ``outcome`` names why (``parse_error``, ...)."""

    def __init__(self, message: str, outcome: str = "parse_error"):
        super().__init__(message)
        self.outcome = outcome


@dataclass
class ParseContext:
    """What a parser may ask of the pipeline: more pages (politely), and what is known already.

    ``fetch`` goes through the same fetcher, limits and User-Agent as the main request.
    ``is_known`` says whether an entry is already archived for this source, so paging can
    stop at the first page with nothing new (kinds that use it set ``needs_known_keys``).
    """

    fetch: Callable[[str], FetchResult]
    is_known: Callable[[RawEntry], bool]
    timezone: str = "UTC"
    #: ``signals sources check``: show what the first response yields without following
    #: pages or article links (kinds say in a warning what they did not follow).
    preview: bool = False


class SourceKind(Protocol):
    """A kind may also set ``needs_known_keys`` (it calls ``context.is_known``) and
    ``url_identity = False`` (its entries' URLs do not identify documents, so they never
    merge with another source's item of the same URL)."""

    name: str
    accept: str
    option_keys: frozenset[str]

    def validate(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems with the kind-specific keys, as (key path, problem) pairs."""
        ...

    def parse(self, fetched: Fetched, source: Source, context: ParseContext) -> ParsedSource:
        """Entries from one response; raise ParseError when the response is unusable."""
        ...


def _builtin_kinds() -> dict[str, SourceKind]:
    from signals.sources.feed import FeedKind
    from signals.sources.html import HtmlKind
    from signals.sources.json_api import JsonKind
    from signals.sources.table import TableKind

    kinds: list[SourceKind] = [FeedKind(), HtmlKind(), JsonKind(), TableKind()]
    return {kind.name: kind for kind in kinds}


SOURCE_KINDS: dict[str, SourceKind] = _builtin_kinds()
