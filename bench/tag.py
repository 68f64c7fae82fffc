"""Tagging speed: the full tagging step next to the spaCy tokenizer floor, same texts.

20,000 news-length texts (a title and a summary of ~40-90 words; then, as a second line,
20,000 headline-length ones: a title and 8-20 words) are built from the
real recorded feeds in ../shared/fixtures/real (English entries only; each text joins a
title with sentences of other entries, so no two texts are alike), plus the labeled
dev set when present. Measured in the same run, medians of three passes over all texts,
the two taken in turns so other load on the machine slows both alike, each result dropped
as it streams out (as the poll does):

* floor: ``nlp.pipe`` of ``spacy.blank("en")``: the bare tokenizer;
* tag: ``Tagger.tag``, the whole step the poll runs (tokenize, phrase and token
  matchers, scoring with evidence, entities, fact extraction).

The tagger's tokenizer is the blank English one without its special-case exceptions
("don't", "U.S."): finding those costs most of tokenizing, and the taxonomy's phrases go
through the same tokenizer, so they match alike. That tokenizer alone is printed too
(``floor_tagger_tokenizer_docs_per_s``), so the share of what remains can be read off.
Its chunk cache holds 250,000 entries (spaCy's default is 10,000, full after the taxonomy
and a day of news), so the medians are the daemon's steady state; the first pass of a
freshly built tagger, cache empty (a ``signals run --once`` from cron), is printed as
``tag_first_pass_docs_per_s``.

Targets (issue 4): >= 5,000 docs/s single process and >= 25% of the floor.
Prints JSON lines. Run: ``python bench/tag.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signals.tagging.enricher import load_tagger  # noqa: E402
from signals.tagging.tagger import Tagger, TagInput  # noqa: E402
from tests.conftest import REAL  # noqa: E402

DOCS = 20_000
RUNS = 3
TARGET_DOCS_PER_S = 5_000
TARGET_SHARE_OF_FLOOR = 0.25


def english_entries() -> list[tuple[str, str]]:
    """(title, summary) of every recorded English feed entry and dev-set line."""
    import feedparser

    entries: list[tuple[str, str]] = []
    files = sorted(REAL.glob("*/*.xml")) + sorted(REAL.glob("*/*feed*.json"))
    for path in files:
        parsed = feedparser.parse(path.read_bytes())
        for entry in parsed.entries:
            title = entry.get("title", "")
            summary = re.sub(r"<[^>]+>", " ", entry.get("summary", ""))
            summary = " ".join(summary.split())
            if title and _mostly_ascii(title + summary):
                entries.append((title, summary))
    dev = ROOT / "tests" / "data" / "gold" / "dev.jsonl"
    if dev.exists():
        for line in dev.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            entries.append((record["title"], record.get("summary") or ""))
    return entries


def _mostly_ascii(text: str) -> bool:
    return sum(c.isascii() for c in text) >= 0.9 * max(1, len(text))


def build_texts(
    entries: list[tuple[str, str]], count: int, words_range: tuple[int, int] = (40, 90)
) -> list[TagInput]:
    """News-length items: one entry's title, then sentences from others, 40-90 words."""
    rng = random.Random(4)
    sentences = [s for _, summary in entries for s in re.split(r"(?<=[.!?])\s+", summary) if s]
    items = []
    for _ in range(count):
        title, _ = rng.choice(entries)
        words: list[str] = []
        target = rng.randint(*words_range)
        while len(words) < target:
            words += rng.choice(sentences).split()
        items.append(TagInput(title=title, summary=" ".join(words[:target])))
    return items


def drain(results: Iterable[object]) -> None:
    deque(results, maxlen=0)


def interleaved_medians(*works: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Median seconds of each work, run in turns so that a busy machine slows all alike."""
    times: list[list[float]] = [[] for _ in works]
    for _ in range(runs):
        for index, work in enumerate(works):
            start = time.perf_counter()
            work()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    import spacy

    if not REAL.exists():
        print(json.dumps({"bench": "tag", "skipped": f"no real fixtures under {REAL}"}))
        return
    entries = english_entries()
    floor_nlp = spacy.blank("en")
    tagger = load_tagger(ROOT / "rules")
    # "news": a title and a summary (the shape); "headline": a title and a one-line
    # lede, where the tokenizer floor itself is fast enough for the 5,000 docs/s target.
    for shape, words_range in (("news", (40, 90)), ("headline", (8, 20))):
        measure(shape, build_texts(entries, DOCS, words_range), floor_nlp, tagger)


def measure(shape: str, items: list[TagInput], floor_nlp: Any, tagger: Any) -> None:
    texts = [f"{item.title}\n{item.summary}" for item in items]
    words = sum(len(t.split()) for t in texts) / len(texts)
    fresh = Tagger(tagger.taxonomy)  # nothing tokenized yet but the taxonomy's phrases
    start = time.perf_counter()
    drain(fresh.tag(items))
    first_rate = DOCS / (time.perf_counter() - start)
    own = tagger.pipeline.nlp.tokenizer
    # each result is dropped as it streams out, as the poll stores and drops them; keeping
    # 20,000 docs or results alive only makes the garbage collector walk them
    floor, own_floor, full = interleaved_medians(
        lambda: drain(floor_nlp.pipe(texts, batch_size=256)),
        lambda: drain(own.pipe(texts, batch_size=256)),
        lambda: drain(tagger.tag(items)),
    )
    floor_rate, own_rate, tag_rate = DOCS / floor, DOCS / own_floor, DOCS / full
    print(
        json.dumps(
            {
                "bench": "tag",
                "shape": shape,
                "docs": DOCS,
                "words_per_doc": round(words, 1),
                "tag_docs_per_s": round(tag_rate),
                "tag_first_pass_docs_per_s": round(first_rate),
                "floor_tokenizer_docs_per_s": round(floor_rate),
                "share_of_floor": round(tag_rate / floor_rate, 3),
                "floor_tagger_tokenizer_docs_per_s": round(own_rate),
                "target_docs_per_s": TARGET_DOCS_PER_S,
                "target_share_of_floor": TARGET_SHARE_OF_FLOOR,
                "ok": tag_rate >= TARGET_DOCS_PER_S
                and tag_rate / floor_rate >= TARGET_SHARE_OF_FLOOR,
                "load_average": round(os.getloadavg()[0], 2),  # other work on the machine
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
