"""From matches to category scores in 0..1, with the evidence behind each. Pure: no spaCy.

For each category: the weights of the distinct terms, patterns and watched entities that
matched (a term inside a longer term of the same category counts once, as the longer
one; a match in the title counts ``title_weight`` times), minus the weights of its
down-weighting terms. A category the source leans to (priors) gets ``hint_prior`` more,
but only when the text itself has evidence for it, so every tag has matched spans behind
it. Weak terms only support: a category is assigned only when at least one match weighs
``anchor`` or more on its own. The score is ``1 - exp(-evidence)``: one strong term
(weight 1) gives 0.63, two give 0.86, and it never reaches 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from signals.tagging.pipeline import ENTITY, NEGATIVE, Hit, Mention
from signals.tagging.taxonomy import Taxonomy

MAX_EVIDENCE = 12


@dataclass(frozen=True)
class CategoryScores:
    categories: tuple[str, ...]  # assigned, in the taxonomy's order
    scores: dict[str, float]  # every category id -> 0..1
    evidence: dict[str, list[str]]  # category id -> matched text, for categories with any


def score(
    taxonomy: Taxonomy,
    hits: Sequence[Hit],
    mentions: Sequence[Mention],
    title_end: int,
    priors: Collection[str] = (),
) -> CategoryScores:
    settings = taxonomy.settings
    positive: dict[str, list[Hit]] = {}
    negative: dict[str, dict[str, float]] = {}
    for hit in hits:
        if hit.target.kind == NEGATIVE:
            negative.setdefault(hit.target.owner, {})[hit.target.key] = hit.target.weight
        elif hit.target.kind != ENTITY:
            positive.setdefault(hit.target.owner, []).append(hit)
    entity_weights = taxonomy.entity_weights
    named: dict[str, list[Mention]] = {}
    for mention in mentions:
        if mention.entity_id in entity_weights:
            for cid in entity_weights[mention.entity_id]:
                named.setdefault(cid, []).append(mention)
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    assigned: list[str] = []
    for category in taxonomy.categories:
        weights: dict[str, float] = {}
        found: list[tuple[int, str]] = []
        strongest = 0.0
        for hit in _outermost(positive.get(category.id, [])):
            strongest = max(strongest, hit.target.weight)
            boost = settings.title_weight if hit.start < title_end else 1.0
            key = f"t:{hit.target.key}"
            weights[key] = max(weights.get(key, 0.0), hit.target.weight * boost)
            found.append((hit.start, hit.text))
        for mention in named.get(category.id, []):
            boost = settings.title_weight if mention.start < title_end else 1.0
            key = f"e:{mention.entity_id}"
            base = entity_weights[mention.entity_id or ""][category.id]
            strongest = max(strongest, base)
            weight = base * boost
            weights[key] = max(weights.get(key, 0.0), weight)
            found.append((mention.start, mention.text))
        raw = sum(weights.values()) - sum(negative.get(category.id, {}).values())
        if raw > 0 and category.id in priors:
            raw += settings.hint_prior
        value = round(1.0 - math.exp(-raw), 3) if raw > 0 else 0.0
        scores[category.id] = value
        if found and raw > 0:
            evidence[category.id] = _distinct(found)
        anchored = strongest >= settings.anchor
        if value >= category.threshold and anchored and category.id in evidence:
            assigned.append(category.id)
    return CategoryScores(categories=tuple(assigned), scores=scores, evidence=evidence)


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop hits lying inside a longer hit of the same category ("chip" in "AI chip")."""
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if not any(k.start <= hit.start and hit.end <= k.end for k in kept):
            kept.append(hit)
    return kept


def _distinct(found: list[tuple[int, str]]) -> list[str]:
    seen: set[str] = set()
    texts: list[str] = []
    for _, text in sorted(found):
        folded = text.casefold()
        if folded not in seen:
            seen.add(folded)
            texts.append(text)
    return texts[:MAX_EVIDENCE]
