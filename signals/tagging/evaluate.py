"""Precision, recall and F1 of predicted categories against gold labels. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from signals.model import CATEGORY_IDS


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass(frozen=True)
class Report:
    items: int
    per_category: dict[str, Counts]
    micro: Counts
    untagged_expected: int  # gold items with no category
    untagged_correct: int  # ... that the tagger also left without one
    exact: int  # items whose predicted set equals the gold set
    errors: list[dict[str, object]] = field(default_factory=list)

    @property
    def macro_f1(self) -> float:
        return sum(c.f1 for c in self.per_category.values()) / len(self.per_category)

    def as_dict(self) -> dict[str, object]:
        def row(c: Counts) -> dict[str, object]:
            return {
                "precision": round(c.precision, 4),
                "recall": round(c.recall, 4),
                "f1": round(c.f1, 4),
                "support": c.support,
                "tp": c.tp,
                "fp": c.fp,
                "fn": c.fn,
            }

        return {
            "items": self.items,
            "categories": {cid: row(c) for cid, c in self.per_category.items()},
            "micro": row(self.micro),
            "micro_f1": round(self.micro.f1, 4),
            "macro_f1": round(self.macro_f1, 4),
            "no_category": {
                "expected": self.untagged_expected,
                "left_untagged": self.untagged_correct,
            },
            "exact_match": self.exact,
        }


def evaluate(
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    ids: Sequence[str] = CATEGORY_IDS,
) -> Report:
    """Compare predicted category sets with gold ones, item by item, in the same order."""
    counts = {cid: [0, 0, 0] for cid in ids}
    untagged_expected = untagged_correct = exact = 0
    errors: list[dict[str, object]] = []
    for index, (want_list, got_list) in enumerate(zip(gold, predicted, strict=True)):
        want, got = set(want_list), set(got_list)
        for cid in ids:
            if cid in want and cid in got:
                counts[cid][0] += 1
            elif cid in got:
                counts[cid][1] += 1
            elif cid in want:
                counts[cid][2] += 1
        if not want:
            untagged_expected += 1
            untagged_correct += not got
        if want == got:
            exact += 1
        else:
            errors.append(
                {"index": index, "missed": sorted(want - got), "extra": sorted(got - want)}
            )
    per_category = {cid: Counts(*values) for cid, values in counts.items()}
    micro = Counts(
        sum(c.tp for c in per_category.values()),
        sum(c.fp for c in per_category.values()),
        sum(c.fn for c in per_category.values()),
    )
    return Report(
        items=len(gold),
        per_category=per_category,
        micro=micro,
        untagged_expected=untagged_expected,
        untagged_correct=untagged_correct,
        exact=exact,
        errors=errors,
    )
