"""From matches to category scores in 0..1, with the evidence behind each. Pure: no spaCy.

For each category: the weights of the distinct terms, patterns and watched entities that
matched (a term inside a longer term of the same category counts once, as the longer
one; a match in the title counts ``title_weight`` times), minus the weights of its
down-weighting terms. A category the source leans to (priors) gets ``hint_prior`` more,
but only when the text itself has evidence for it, so every tag has matched spans behind
it. Weak terms only support: a category is assigned only when at least one match weighs
``anchor`` or more on its own. Matches have roles (taxonomy.ROLES): ``evidence`` as just
said; ``topic`` (what the item is about) and ``support`` (what kind of item it is: a rule,
a release) count only together, and then anchor like evidence. A ``support`` match also
counts beside anchored evidence of the category itself or of its ``topic_from``
categories; the prior needs evidence or a counted topic. The score is
``1 - exp(-evidence)``: one strong term (weight 1) gives 0.63, two give 0.86, and it never
reaches 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from signals.tagging.pipeline import ENTITY, NEGATIVE, Hit, Mention
from signals.tagging.taxonomy import EVIDENCE, ROLES, SUPPORT, TOPIC, Taxonomy

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
    entity_roles = taxonomy.entity_roles
    named: dict[str, list[Mention]] = {}
    for mention in mentions:
        if mention.entity_id in entity_weights:
            for cid in entity_weights[mention.entity_id]:
                named.setdefault(cid, []).append(mention)
    matched: dict[str, _Matched] = {}
    for category in taxonomy.categories:
        found = matched[category.id] = _Matched()
        for hit in _outermost(positive.get(category.id, [])):
            boost = settings.title_weight if hit.start < title_end else 1.0
            found.add(hit.target.role, f"t:{hit.target.key}", hit.target.weight, boost, hit)
        for mention in named.get(category.id, []):
            entity_id = mention.entity_id or ""
            boost = settings.title_weight if mention.start < title_end else 1.0
            role = entity_roles.get(entity_id, {}).get(category.id, EVIDENCE)
            base = entity_weights[entity_id][category.id]
            found.add(role, f"e:{entity_id}", base, boost, mention)
    own_anchor = {
        cid: found.strongest[EVIDENCE] >= settings.anchor for cid, found in matched.items()
    }
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    assigned: list[str] = []
    for category in taxonomy.categories:
        found = matched[category.id]
        has = {role: bool(found.weights[role]) for role in ROLES}
        # a topic counts beside evidence or support of this category; support counts when
        # the item is about something (a topic, or anchored evidence here or in topic_from)
        use_topic = has[TOPIC] and (has[EVIDENCE] or has[SUPPORT])
        about = use_topic or own_anchor[category.id]
        about = about or any(own_anchor[other] for other in category.topic_from)
        use_support = has[SUPPORT] and about
        counted = [EVIDENCE] + [TOPIC] * use_topic + [SUPPORT] * use_support
        raw = sum(sum(found.weights[role].values()) for role in counted)
        raw -= sum(negative.get(category.id, {}).values())
        # a source's prior only adds to what the text itself says the item is about
        if raw > 0 and category.id in priors and (has[EVIDENCE] or use_topic):
            raw += settings.hint_prior
        value = min(round(1.0 - math.exp(-raw), 3), 0.999) if raw > 0 else 0.0
        scores[category.id] = value
        spans = [span for role in counted for span in found.spans[role]]
        if spans and raw > 0:
            evidence[category.id] = _distinct(spans)
        anchored = own_anchor[category.id] or (
            use_support and max(found.strongest[TOPIC], found.strongest[SUPPORT]) >= settings.anchor
        )
        if value >= category.threshold and anchored and category.id in evidence:
            assigned.append(category.id)
    return CategoryScores(categories=tuple(assigned), scores=scores, evidence=evidence)


class _Matched:
    """One category's distinct matches of one text, by role: weights, strongest, spans."""

    def __init__(self) -> None:
        self.weights: dict[str, dict[str, float]] = {role: {} for role in ROLES}
        self.strongest: dict[str, float] = dict.fromkeys(ROLES, 0.0)
        self.spans: dict[str, list[tuple[int, str]]] = {role: [] for role in ROLES}

    def add(self, role: str, key: str, base: float, boost: float, match: Hit | Mention) -> None:
        weights = self.weights[role]
        weights[key] = max(weights.get(key, 0.0), base * boost)
        self.strongest[role] = max(self.strongest[role], base)
        self.spans[role].append((match.start, match.text))


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
