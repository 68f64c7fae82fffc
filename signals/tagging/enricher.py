"""The poll's tagging step: tag new and changed items inside the store transaction.

The taxonomy is read and validated when the enrichers are built (cheap, no spaCy), so an
invalid ``categories.toml`` stops ``signals fetch`` with every problem listed (exit 2).
The spaCy pipeline is built on the first item that needs it and then kept for the life
of the process; it is rebuilt only when the file changes. A daemon whose taxonomy file
becomes invalid keeps tagging with the last valid one and logs the problems; a pipeline
that cannot be built at all leaves items untagged (logged) for ``signals tag`` to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from signals.errors import ConfigError
from signals.logs import event
from signals.tagging.taxonomy import Taxonomy, load_taxonomy, taxonomy_path
from signals.times import to_utc_iso, utcnow

if TYPE_CHECKING:
    from signals.config import Source
    from signals.store import StoredItem
    from signals.tagging.tagger import Tagger

log = logging.getLogger(__name__)

_TAXONOMIES: dict[Path, tuple[tuple[int, int], Taxonomy]] = {}
_TAGGERS: dict[tuple[Path, str], Tagger] = {}


def current_taxonomy(path: Path) -> Taxonomy:
    """The taxonomy at ``path``, re-read only when the file changed."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the taxonomy: {exc.strerror or exc}"]) from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _TAXONOMIES.get(resolved)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        taxonomy = load_taxonomy(path)
    except ConfigError as exc:
        if cached is None:
            raise
        event(log, "taxonomy_invalid", logging.ERROR, path=str(path), error=str(exc))
        return cached[1]
    _TAXONOMIES[resolved] = (stamp, taxonomy)
    return taxonomy


#: spaCy's vocabulary keeps every string it has ever tokenized (each new number, name and
#: URL of the news), so a daemon's tagger grows for as long as it runs: ~14 strings per item
#: at first. Once it has gained this many the tagger is built afresh (under a second with
#: the blank pipeline), which bounds the memory after weeks of polling; tags do not change.
VOCABULARY_LIMIT = 300_000


def tagger_for(taxonomy: Taxonomy) -> Tagger:
    """One tagger (spaCy vocab + matchers) per taxonomy version and process."""
    from signals.tagging.tagger import Tagger

    key = (taxonomy.path.resolve(), taxonomy.digest)
    tagger = _TAGGERS.get(key)
    if tagger is not None and tagger.vocabulary_growth > VOCABULARY_LIMIT:
        event(log, "tagger_renewed", logging.INFO, new_strings=tagger.vocabulary_growth)
        tagger = None
    if tagger is None:
        _TAGGERS.clear()  # an older version of the file (or vocabulary) is not needed any more
        tagger = _TAGGERS[key] = Tagger(taxonomy)
    return tagger


def load_tagger(rules_dir: str | Path) -> Tagger:
    """The tagger for ``rules_dir/categories.toml``; ``ConfigError`` if missing or invalid."""
    return tagger_for(current_taxonomy(taxonomy_path(rules_dir)))


class TaggingEnricher:
    """Called by the poll with the items it stored; writes tags, entities and facts."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(
        self, db: sqlite_utils.Database, stored: Sequence[StoredItem], source: Source
    ) -> None:
        from signals.tagging.archive import store_tagged
        from signals.tagging.tagger import TagInput

        try:
            tagger = tagger_for(current_taxonomy(self.path))
        except ConfigError as exc:
            # e.g. a token pattern spaCy rejects (found only when the pipeline is built):
            # store the items untagged rather than lose every source's poll; `signals tag`
            # tags them once the file is fixed.
            event(log, "tagging_skipped", logging.ERROR, source=source.id, error=str(exc))
            return
        inputs = [
            TagInput(
                title=entry.item.title,
                summary=entry.item.summary,
                body=entry.item.body,
                url=entry.item.url,
                source_kind=source.kind,
                hints=tuple(source.hint),
            )
            for entry in stored
        ]
        results = list(tagger.tag(inputs))
        pairs = [(entry.item.id, result) for entry, result in zip(stored, results, strict=True)]
        store_tagged(db, pairs, tagger.taxonomy.digest, to_utc_iso(utcnow()))


def tagging_enricher(rules_dir: Path) -> TaggingEnricher | None:
    """The enricher, after validating the taxonomy; None (and a warning) when there is none."""
    path = taxonomy_path(rules_dir)
    if not path.exists():
        event(log, "taxonomy_missing", logging.WARNING, path=str(path), effect="items not tagged")
        return None
    current_taxonomy(path)
    return TaggingEnricher(path)
