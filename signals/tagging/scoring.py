"""From matches to category scores in 0..1, with the evidence behind each. Pure: no spaCy.

For each category: the weights of the distinct terms, patterns and watched entities that
matched (a term inside a longer term of the same category counts once, as the longer
one; a match in the title counts ``title_weight`` times), minus the weights of its
down-weighting terms. A category the source leans to (priors) gets ``hint_prior`` more,
but only when the text itself has evidence for it, so every tag has matched spans behind
it. Weak terms only support: a category is assigned only when at least one match weighs
``anchor`` or more on its own. Matches have roles (taxonomy.ROLES): ``evidence`` as just
said; ``topic`` (what the item is about) and ``support`` (what kind of item it is: a rule,
a release) count only together, and then support matches weighing ``anchor`` together
anchor.
A ``support`` match also
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
from signals.tagging.taxonomy import EVIDENCE, SUPPORT, TOPIC, Taxonomy

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
    title_weight = settings.title_weight
    for cid, category_hits in positive.items():
        found = matched[cid] = _Matched()
        for hit in _outermost(category_hits):
            target = hit.target
            boost = title_weight if hit.start < title_end else 1.0
            found.add(target.role, "t:" + target.key, target.weight, boost, hit)
    for cid, category_mentions in named.items():
        into = matched.get(cid) or matched.setdefault(cid, _Matched())
        for mention in category_mentions:
            entity_id = mention.entity_id or ""
            boost = title_weight if mention.start < title_end else 1.0
            role = entity_roles.get(entity_id, {}).get(cid, EVIDENCE)
            into.add(role, "e:" + entity_id, entity_weights[entity_id][cid], boost, mention)
    anchor = settings.anchor
    own_anchor = {cid for cid, m in matched.items() if m.strongest[EVIDENCE] >= anchor}
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    assigned: list[str] = []
    for category in taxonomy.categories:
        if category.id not in matched:  # most categories of most texts: nothing matched
            scores[category.id] = 0.0
            continue
        found = matched[category.id]
        weights = found.weights
        has_evidence = bool(weights[EVIDENCE])
        has_topic = bool(weights[TOPIC])
        has_support = bool(weights[SUPPORT])
        # a topic counts beside evidence or support of this category; support counts when
        # the item is about something (a topic, or anchored evidence here or in topic_from)
        use_topic = has_topic and (has_evidence or has_support)
        anchored_here = category.id in own_anchor
        about = use_topic or anchored_here or not own_anchor.isdisjoint(category.topic_from)
        use_support = has_support and about
        counted = (EVIDENCE,) + (TOPIC,) * use_topic + (SUPPORT,) * use_support
        raw = sum(weights[EVIDENCE].values())
        if use_topic:
            raw += sum(weights[TOPIC].values())
        if use_support:
            raw += sum(weights[SUPPORT].values())
        if category.id in negative:
            raw -= sum(negative[category.id].values())
        # a source's prior only adds to what the text itself says the item is about
        if raw > 0 and category.id in priors and (has_evidence or use_topic):
            raw += settings.hint_prior
        value = min(round(1.0 - math.exp(-raw), 3), 0.999) if raw > 0 else 0.0
        scores[category.id] = value
        if raw <= 0:
            continue
        spans = [span for role in counted for span in found.spans[role]]
        if spans:
            evidence[category.id] = _distinct(spans)
        # one strong support match, or several weak ones ("government", "license") together
        anchored = anchored_here or (use_support and found.support_base >= anchor)
        if value >= category.threshold and anchored and spans:
            assigned.append(category.id)
    return CategoryScores(categories=tuple(assigned), scores=scores, evidence=evidence)


class _Matched:
    """One category's distinct matches of one text, by role: weights, strongest, spans."""

    def __init__(self) -> None:
        self.weights: dict[str, dict[str, float]] = {EVIDENCE: {}, TOPIC: {}, SUPPORT: {}}
        self.strongest: dict[str, float] = {EVIDENCE: 0.0, TOPIC: 0.0, SUPPORT: 0.0}
        self.spans: dict[str, list[tuple[int, str]]] = {EVIDENCE: [], TOPIC: [], SUPPORT: []}
        self.support_keys: dict[str, float] = {}  # support key -> weight without title boost

    @property
    def support_base(self) -> float:
        return sum(self.support_keys.values())

    def add(self, role: str, key: str, base: float, boost: float, match: Hit | Mention) -> None:
        weights = self.weights[role]
        weights[key] = max(weights.get(key, 0.0), base * boost)
        self.strongest[role] = max(self.strongest[role], base)
        if role == SUPPORT:
            self.support_keys[key] = base
        self.spans[role].append((match.start, match.text))


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop hits lying inside a longer hit of the same category ("chip" in "AI chip").

    Of hits on the same span, an ``evidence`` one is kept before a topic or support one,
    and then the one that weighs most.
    """
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []

    def rank(hit: Hit) -> tuple[int, int, bool, float]:
        return (hit.start - hit.end, hit.start, hit.target.role != EVIDENCE, -hit.target.weight)

    for hit in sorted(hits, key=rank):
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
