"""Does an item meet a rule's ``[when]`` conditions? Pure functions of the item.

Everything a condition set names must hold; within one list any entry is enough; and of
the ``[[when.any]]`` alternatives at least one must hold. Terms match whole words or
phrases, case-insensitively, in the title, summary and body.
"""

from __future__ import annotations

import re
from functools import lru_cache

from signals.rules.model import Conditions, FactCondition
from signals.snapshot import Fact, ItemView


@lru_cache(maxsize=512)
def term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a list of terms: whole words, any spacing, any case."""
    parts = sorted((r"\s+".join(map(re.escape, t.split())) for t in terms), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def found_terms(terms: tuple[str, ...], text: str) -> list[str]:
    """The configured terms present in ``text``, spelled as configured, in config order."""
    if not terms:
        return []
    hits = {" ".join(m.group(0).split()).casefold() for m in term_pattern(terms).finditer(text)}
    return [t for t in terms if " ".join(t.split()).casefold() in hits]


def category_score(conditions: Conditions, item: ItemView, category: str) -> float | None:
    """The item's score in ``category`` if it counts there under these conditions."""
    tag = item.tags.get(category)
    if tag is None or tag.score < conditions.min_score:
        return None
    return tag.score


def matched_categories(
    conditions: Conditions, item: ItemView, universe: tuple[str, ...]
) -> list[str]:
    """The categories (of ``conditions.categories`` or else ``universe``) the item counts in."""
    wanted = conditions.categories or universe
    return [c for c in wanted if category_score(conditions, item, c) is not None]


def fact_matches(condition: FactCondition, fact: Fact) -> bool:
    if fact.kind != condition.kind:
        return False
    if condition.unit is not None and (fact.unit or "").casefold() != condition.unit.casefold():
        return False
    if condition.min is not None and (fact.value is None or fact.value < condition.min):
        return False
    if condition.max is not None and (fact.value is None or fact.value > condition.max):
        return False
    if condition.text:
        wanted = {t.casefold() for t in condition.text}
        if (fact.text or "").strip().casefold() not in wanted:
            return False
    return True


def matches(conditions: Conditions, item: ItemView) -> bool:
    """True when the item meets every condition of the set."""
    if conditions.categories and not any(
        category_score(conditions, item, c) is not None for c in conditions.categories
    ):
        return False
    if (
        not conditions.categories
        and conditions.min_score > 0
        and not any(tag.score >= conditions.min_score for tag in item.tags.values())
    ):
        return False
    if conditions.sources and not set(item.sources) & set(conditions.sources):
        return False
    if conditions.source_kinds and item.source_kind not in conditions.source_kinds:
        return False
    if conditions.entities:
        present = {e.entity_id for e in item.entities}
        if not present & set(conditions.entities):
            return False
    if conditions.facts and not any(
        fact_matches(c, f) for c in conditions.facts for f in item.facts
    ):
        return False
    text = item.text
    if conditions.terms and not term_pattern(conditions.terms).search(text):
        return False
    if conditions.exclude_terms and term_pattern(conditions.exclude_terms).search(text):
        return False
    return not conditions.any or any(matches(alt, item) for alt in conditions.any)


def reasons(conditions: Conditions, item: ItemView, category: str | None) -> list[str]:
    """Why the item is here, for the "why" of a digest line or an alert.

    The tagger's evidence for the category first (the spans that made it
    ``policy_shifts``), then the rule's own terms and facts that matched, without repeats.
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        key = " ".join(text.split()).casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(text.split()))

    if category is not None and category in item.tags:
        for span in item.tags[category].evidence:
            add(span)
    for term in found_terms(conditions.all_terms(), item.text):
        add(term)
    for condition in _all_fact_conditions(conditions):
        for fact in item.facts:
            if fact_matches(condition, fact):
                add(fact.text or fact.kind)
    return out


def _all_fact_conditions(conditions: Conditions) -> list[FactCondition]:
    found = list(conditions.facts)
    for alternative in conditions.any:
        found += _all_fact_conditions(alternative)
    return found
