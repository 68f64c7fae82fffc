"""Tag texts: categories with scores and evidence, watched entities, and facts.

``Tagger`` is the one entry point the enricher, ``signals classify``, ``signals eval``,
``signals tag`` and ``bench/tag.py`` share, so all of them tag exactly alike. The text
read is ``title``, a newline, ``summary``, a newline, ``body``, cut at
``settings.max_chars``; entity offsets point into that text.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from signals.tagging.facts import Fact, extract_facts
from signals.tagging.pipeline import CURRENCY, Mention, Pipeline
from signals.tagging.scoring import score
from signals.tagging.taxonomy import Taxonomy


@dataclass(frozen=True)
class TagInput:
    title: str
    summary: str = ""
    body: str = ""
    url: str | None = None
    source_kind: str | None = None
    hints: tuple[str, ...] = ()  # the source's `hint` categories (sources.toml)

    def headline_only(self) -> TagInput:
        """The item as a feed that sends titles alone would bring it."""
        return replace(self, summary="", body="")


@dataclass(frozen=True)
class Tagged:
    categories: tuple[str, ...]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    entities: list[Mention] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON line of ``signals classify``."""
        return {
            "categories": list(self.categories),
            "scores": self.scores,
            "evidence": self.evidence,
            "entities": [
                {
                    "id": m.entity_id,
                    "label": m.label,
                    "text": m.text,
                    "start": m.start,
                    "end": m.end,
                }
                for m in self.entities
            ],
            "facts": [f.as_dict() for f in self.facts],
        }


def compose_text(item: TagInput, max_chars: int) -> tuple[str, int]:
    """The text the tagger reads, and where its title ends."""
    title = " ".join(item.title.split())
    parts = [title]
    if item.summary:
        parts.append(item.summary.strip())
    if item.body and item.body.strip() != item.summary.strip():
        parts.append(item.body.strip())
    return "\n".join(parts)[:max_chars], len(title)


class Tagger:
    """Built once per process (spaCy vocab and matchers) and reused for every item."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self.pipeline = Pipeline(taxonomy)
        self._vocabulary_at_start = len(self.pipeline.nlp.vocab.strings)

    @property
    def vocabulary_growth(self) -> int:
        """Strings the spaCy vocabulary gained since it was built: one per new word tagged."""
        return len(self.pipeline.nlp.vocab.strings) - self._vocabulary_at_start

    def priors(self, item: TagInput) -> frozenset[str]:
        """Categories the source leans to: its hints, its kind, its web host."""
        found = set(item.hints)
        if item.source_kind:
            found.update(self.taxonomy.source_kind_priors.get(item.source_kind, ()))
        if item.url and self.taxonomy.host_priors:
            host = (urlsplit(item.url).hostname or "").lower()
            while host:
                found.update(self.taxonomy.host_priors.get(host, ()))
                host = host.partition(".")[2]
        return frozenset(found)

    def tag(self, items: Iterable[TagInput], batch_size: int = 256) -> Iterator[Tagged]:
        """Tag items in order, streaming: docs are tokenized in batches."""
        pending: deque[tuple[TagInput, str, int]] = deque()

        def texts() -> Iterator[str]:
            for item in items:
                text, title_end = compose_text(item, self.taxonomy.settings.max_chars)
                pending.append((item, text, title_end))
                yield text

        for doc in self.pipeline.docs(texts(), batch_size=batch_size):
            item, text, title_end = pending.popleft()
            yield self._tag_doc(doc, item, text, title_end)

    def tag_one(self, item: TagInput) -> Tagged:
        return next(self.tag([item]))

    def _tag_doc(self, doc: Any, item: TagInput, text: str, title_end: int) -> Tagged:
        lowered = text.lower()
        found = self.pipeline.match(doc, text, lowered)
        scored = score(self.taxonomy, found.hits, found.mentions, title_end, self.priors(item))
        return Tagged(
            categories=scored.categories,
            scores=scored.scores,
            evidence=scored.evidence,
            entities=found.mentions,
            facts=extract_facts(text, lowered, currency_word=CURRENCY in found.marks),
        )
