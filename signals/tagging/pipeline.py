"""The spaCy side of tagging: matchers built from the taxonomy, run over tokenized text.

Default: ``spacy.blank("en")`` (nothing to download) with two ``PhraseMatcher``s, one on
``LOWER`` for phrases and entity names, one on ``ORTH`` for exact-case symbols (tickers,
CIKs, ``EAR``), plus a ``Matcher`` for the few token patterns. They are called directly
on the tokenizer's output rather than added as pipeline components: per NOTES.md a
PhraseMatcher runs ~18k docs/s while an EntityRuler of token patterns is 30x slower.
A statistical pipeline (``settings.spacy_model``) is used only when it is installed; its
named entities are then added to the gazetteer's, without canonical ids.

This module is the only one that imports spaCy, and only when a ``Pipeline`` is built.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signals.errors import ConfigError
from signals.tagging.facts import CURRENCY_WORDS
from signals.tagging.taxonomy import EVIDENCE, Taxonomy, Term, TokenPattern

log = logging.getLogger(__name__)

TERM, NEGATIVE, ENTITY, PATTERN = "term", "negative", "entity", "pattern"
#: A match that is no evidence but tells fact extraction what to look for (``Matched.marks``).
MARK = "mark"
CURRENCY = "currency"
STATISTICAL_LABELS = {"ORG", "PRODUCT", "GPE", "LAW", "NORP", "FAC"}
#: Chunks (whitespace-separated strings) whose tokenization the tokenizer remembers.
#: spaCy's default, 10,000, is filled by the taxonomy's own phrases and the first day of
#: news; every chunk after that goes through the prefix/suffix/infix regexes again, which
#: made tokenizing ~3.5x slower (110 against 31 us per news item in bench/tag.py). An
#: entry costs up to ~200 bytes (measured with 4-token chunks), so a full cache ~50 MB; the
#: tagger is rebuilt, cache and all, once its vocabulary grows large (enricher.py).
TOKENIZER_CACHE = 250_000
#: Han, kana and hangul: scripts written without spaces, which the blank English tokenizer
#: leaves as one token per run of text, so a phrase in them is found as a substring.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Target:
    """What a match means: evidence (or counter-evidence) for a category, or an entity."""

    kind: str  # TERM | NEGATIVE | ENTITY | PATTERN
    owner: str  # category id, or entity id
    key: str  # the configured term / pattern id: counted once per item
    weight: float = 0.0
    role: str = EVIDENCE  # evidence | topic | support (taxonomy.ROLES)


@dataclass(slots=True)
class Hit:
    """One match in one text: character offsets and the matched text.

    Not frozen: a frozen dataclass is built through ``object.__setattr__`` at ~4x the cost,
    and a news item makes several of these; nothing mutates them after ``match``.
    """

    target: Target
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Mention:
    """An entity mention; ``entity_id`` is the watchlist id, or None from a statistical NER.

    Not frozen, for the same reason as ``Hit``.
    """

    label: str
    text: str
    start: int
    end: int
    entity_id: str | None


@dataclass(slots=True)
class Matched:
    """What ``Pipeline.match`` found in one text."""

    hits: list[Hit]  # evidence and counter-evidence for categories
    mentions: list[Mention]  # watched entities (and a statistical pipeline's, if any)
    marks: set[str]  # hints for fact extraction: CURRENCY when a currency word is a token


def variants(text: str) -> list[str]:
    """The spellings a phrase also matches: plural of its last word, hyphen <-> space, and
    "ai" spelled out ("artificial intelligence infrastructure") or dotted ("A.I. chips")."""
    forms = {text}
    words = text.split(" ")
    if "ai" in words and len(words) > 1:
        # "A.I." in capitals: the tokenizer keeps it one token only so (it splits the final
        # dot off "a.i."), and matching on LOWER then finds it in any case
        for spelling in ("artificial intelligence", "A.I."):
            forms.add(" ".join(spelling if word == "ai" else word for word in words))
    last = words[-1]
    if last.isalpha() and len(last) > 2 and last.islower():
        if last.endswith("y") and last[-2] not in "aeiou":
            plural = last[:-1] + "ies"
        elif last.endswith(("s", "x", "ch", "sh")):
            plural = last + "es" if not last.endswith("s") else last
        else:
            plural = last + "s"
        for form in list(forms):
            if form.endswith(last):
                forms.add(form[: -len(last)] + plural)
    for form in list(forms):
        if " " in form:
            forms.add(form.replace(" ", "-"))
        if "-" in form:
            forms.add(form.replace("-", " "))
    return sorted(forms)


class Pipeline:
    """Matchers over one spaCy vocabulary, built once per process from a taxonomy."""

    def __init__(self, taxonomy: Taxonomy):
        from spacy.matcher import Matcher, PhraseMatcher

        self.taxonomy = taxonomy
        self.nlp, self.statistical = _language(taxonomy.settings.spacy_model)
        self.nlp.tokenizer.max_cache_size = TOKENIZER_CACHE
        vocab = self.nlp.vocab
        self.lower = PhraseMatcher(vocab, attr="LOWER")
        self.exact = PhraseMatcher(vocab, attr="ORTH")
        self._matcher_class = Matcher
        self.tokens = Matcher(vocab, validate=True)  # token patterns without a prefilter
        self.gated: list[_Gated] = []
        self.targets: dict[int, Target] = {}
        self.cjk: list[tuple[str, Target]] = []  # substring phrases, longest first
        self.labels = {entity.id: entity.label for entity in taxonomy.entities}
        phrases: dict[str, set[str]] = {}
        symbols: dict[str, set[str]] = {}
        for category in taxonomy.categories:
            for kind, terms in ((TERM, category.terms), (NEGATIVE, category.negative)):
                # a generated spelling never shadows a term the file lists itself
                listed = {t.text.lower() for t in terms if not t.exact_case}
                for term in terms:
                    self._term(kind, category.id, term, phrases, symbols, listed)
            for pattern in category.patterns:
                where = f"categories.{category.id}.patterns.{pattern.id}"
                self._pattern(
                    Target(PATTERN, category.id, pattern.id, pattern.weight, pattern.role),
                    pattern,
                    where,
                )
        currency = self._register(Target(MARK, CURRENCY, CURRENCY))
        phrases[currency] = set(CURRENCY_WORDS)
        for entity in taxonomy.entities:
            target = Target(ENTITY, entity.id, entity.id)
            key = self._register(target)
            for name in entity.names:
                phrases.setdefault(key, set()).update(variants(name.lower()))
            for symbol in entity.symbols:
                symbols.setdefault(key, set()).add(symbol)
            for pattern in entity.patterns:
                self._pattern(target, pattern, f"entity.{entity.id}.patterns.{pattern.id}")
        make = self.nlp.make_doc
        for key, forms in phrases.items():
            target = self.targets[self.nlp.vocab.strings[key]]
            spaced = sorted(form for form in forms if not CJK.search(form))
            self.cjk += [(form, target) for form in forms if CJK.search(form)]
            if spaced:
                self.lower.add(key, [make(form) for form in spaced])
        self.cjk.sort(key=lambda entry: (-len(entry[0]), entry[0]))
        for key, forms in symbols.items():
            self.exact.add(key, [make(form) for form in sorted(forms)])

    def _register(self, target: Target) -> str:
        key = f"{target.kind}|{target.owner}|{target.key}"
        self.targets[self.nlp.vocab.strings.add(key)] = target
        return key

    def _term(
        self,
        kind: str,
        owner: str,
        term: Term,
        phrases: dict[str, set[str]],
        symbols: dict[str, set[str]],
        listed: set[str],
    ) -> None:
        key = self._register(Target(kind, owner, term.text.lower(), term.weight, term.role))
        if term.exact_case:
            symbols.setdefault(key, set()).add(term.text)
        else:
            text = term.text.lower()
            forms = {f for f in variants(text) if f == text or f not in listed}
            phrases.setdefault(key, set()).update(forms)

    def _pattern(self, target: Target, pattern: TokenPattern, where: str) -> None:
        key = self._register(target)
        gated = pattern.prefilter is not None
        matcher = self._matcher_class(self.nlp.vocab, validate=True) if gated else self.tokens
        try:
            matcher.add(key, [[dict(token) for token in pattern.pattern]])
            reach = _reach(pattern.pattern)  # after spaCy's check, which names a bad OP
        except Exception as exc:  # spaCy's schema check: name the pattern, not a traceback
            label = self.taxonomy.path.parent.name + "/" + self.taxonomy.path.name
            message = " ".join(str(exc).split())[:300]
            raise ConfigError(
                [f"{label}: {where}: not a valid spaCy token pattern: {message}"]
            ) from exc
        if pattern.prefilter is not None:
            self.gated.append(_Gated(pattern.prefilter, matcher, pattern.title_only, reach))

    def docs(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[Any]:
        """Tokenized docs: the bare tokenizer, or the statistical pipeline when configured."""
        if self.statistical:
            return iter(self.nlp.pipe(texts, batch_size=batch_size))
        return iter(self.nlp.tokenizer.pipe(texts, batch_size=batch_size))

    def match(self, doc: Any, text: str, lowered: str | None = None) -> Matched:
        """Category hits and entity mentions (longest non-overlapping alias wins) of a doc.

        ``text`` is the doc's text, passed in because ``doc.text`` rebuilds it token by token.
        """
        hits: list[Hit] = []
        marks: set[str] = set()
        entity_spans: list[tuple[int, int, Target]] = []
        matchers: list[Any] = [m for m in (self.lower, self.exact) if len(m)]
        if len(self.tokens):
            matchers.append(self.tokens)
        if lowered is None:
            lowered = text.lower()
        targets: list[tuple[Any, Any]] = [(matcher, doc) for matcher in matchers]
        aligned = len(lowered) == len(text)  # lower() may lengthen a few non-ASCII letters
        scanned: dict[re.Pattern[str], list[tuple[int, int]]] = {}  # patterns share prefilters
        for gated in self.gated:
            found = scanned.get(gated.prefilter)
            if found is None:
                found = scanned[gated.prefilter] = [
                    hit.span() for hit in gated.prefilter.finditer(lowered)
                ]
            if not found:
                continue
            if gated.title_only:
                targets.append((gated.matcher, _title(doc, text)))
            elif gated.reach is None or not aligned:
                targets.append((gated.matcher, doc))
            else:
                targets += [(gated.matcher, w) for w in _windows(doc, found, gated.reach)]
        for matcher, doclike in targets:
            offset = doclike.start if doclike is not doc else 0  # a span's matches count from it
            for match_id, first, after in matcher(doclike):
                start, end = first + offset, after + offset
                target = self.targets[match_id]
                if target.kind == ENTITY:
                    entity_spans.append((start, end, target))
                    continue
                if target.kind == MARK:
                    marks.add(target.owner)
                    continue
                begin, finish = _char_offsets(doc, start, end)
                hits.append(Hit(target, begin, finish, text[begin:finish]))
        mentions = self._mentions(doc, text, entity_spans)
        if self.cjk and not text.isascii() and CJK.search(text):
            self._cjk_matches(lowered, text, hits, mentions)
        return Matched(hits, mentions, marks)

    def _cjk_matches(
        self, lowered: str, text: str, hits: list[Hit], mentions: list[Mention]
    ) -> None:
        """Phrases and aliases in CJK script, found as substrings (longest first)."""
        taken: list[tuple[int, int]] = [(m.start, m.end) for m in mentions]
        found = False
        for phrase, target in self.cjk:
            start = lowered.find(phrase)
            while start >= 0:
                end = start + len(phrase)
                if target.kind != ENTITY:
                    hits.append(Hit(target, start, end, text[start:end]))
                elif not any(s < end and start < e for s, e in taken):
                    taken.append((start, end))
                    label = self.labels[target.owner]
                    mentions.append(Mention(label, text[start:end], start, end, target.owner))
                    found = True
                start = lowered.find(phrase, end)
        if found:
            mentions.sort(key=lambda m: m.start)

    def _mentions(
        self, doc: Any, text: str, spans: Sequence[tuple[int, int, Target]]
    ) -> list[Mention]:
        labels = self.labels
        taken: set[int] = set()
        mentions: list[Mention] = []
        if len(spans) > 1:
            spans = sorted(spans, key=lambda s: (s[0] - s[1], s[0]))
        for start, end, target in spans:
            if not taken.isdisjoint(range(start, end)):
                continue
            taken.update(range(start, end))
            begin, finish = _char_offsets(doc, start, end)
            mentions.append(
                Mention(labels[target.owner], text[begin:finish], begin, finish, target.owner)
            )
        if self.statistical:
            for ent in doc.ents:
                if ent.label_ in STATISTICAL_LABELS and not taken.intersection(
                    range(ent.start, ent.end)
                ):
                    mentions.append(
                        Mention(ent.label_, ent.text, ent.start_char, ent.end_char, None)
                    )
        if len(mentions) > 1:
            mentions.sort(key=lambda m: m.start)
        return mentions


def _char_offsets(doc: Any, start: int, end: int) -> tuple[int, int]:
    """Character offsets of tokens ``start:end``: two Token objects, cheaper than a Span."""
    first = doc[start]
    if end - start == 1:
        return first.idx, first.idx + len(first)
    last = doc[end - 1]
    return first.idx, last.idx + len(last)


@dataclass(frozen=True)
class _Gated:
    """A token pattern tried only where its prefilter regex finds something."""

    prefilter: re.Pattern[str]
    matcher: Any
    title_only: bool
    reach: int | None  # the most tokens one match spans; None: unbounded


def _reach(pattern: Sequence[Mapping[str, Any]]) -> int | None:
    """The most tokens a match of ``pattern`` can span (None when ``*``/``+`` allow any)."""
    total = 0
    for token in pattern:
        op = token.get("OP", "1")
        if op in ("*", "+") or (op.startswith("{") and op.rstrip("}").endswith(",")):
            return None
        if op.startswith("{"):
            total += int(op.strip("{}").split(",")[-1])
        else:
            total += 1  # "1", "?" and "!" each take at most one token
    return total


def _windows(doc: Any, found: Sequence[tuple[int, int]], reach: int) -> list[Any]:
    """The spans where a match containing a prefilter hit can lie, overlapping ones merged.

    Every match of a prefiltered pattern contains a prefilter hit (the taxonomy's contract),
    so it lies within ``reach`` tokens of one; trying the Matcher only there, rather than on
    the whole text, matters because spaCy's Matcher steps token by token in Python.
    """
    windows: list[tuple[int, int]] = []
    for start, end in found:
        span = doc.char_span(start, max(end, start + 1), alignment_mode="expand")
        if span is None:  # a hit on whitespace alone: no token to start from, so look everywhere
            return [doc]
        begin, finish = max(0, span.end - reach), min(len(doc), span.start + reach)
        if windows and begin <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(finish, windows[-1][1]))
        else:
            windows.append((begin, finish))
    return [doc[begin:finish] for begin, finish in windows]


def _title(doc: Any, text: str) -> Any:
    """The title's tokens (the text's first line) as a span, for title-only patterns."""
    end = text.find("\n")
    if end < 0:
        return doc
    return doc.char_span(0, end, alignment_mode="contract") or doc[:0]


def _language(model: str | None) -> tuple[Any, bool]:
    """A statistical pipeline if configured and installed, else the blank English one."""
    import spacy

    if model:
        try:
            nlp = spacy.load(model, exclude=["lemmatizer", "textcat"])
        except (OSError, ImportError) as exc:
            log.warning("spaCy pipeline %s is not installed (%s); using the blank one", model, exc)
        else:
            return nlp, True
    nlp = spacy.blank("en")
    # English tokenizer exceptions ("don't", "U.S.", emoticons) are found by a matcher pass
    # over every text that costs ~4x the rest of tokenizing; phrases and aliases are
    # tokenized by this same tokenizer, so they match alike without them (see bench/tag.py).
    nlp.tokenizer.rules = {}  # type: ignore[union-attr]
    return nlp, False
