"""Invariants of the labeled gold set in tests/data/gold (issue 4).

The set is hand-labelled data, so nothing else checks it: a typo in a category id, a
missing key or the same headline in both splits would silently skew `signals eval`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

GOLD = Path(__file__).parent / "data" / "gold"
SPLITS = ("dev", "heldout")
CATEGORIES = frozenset(
    {
        "infrastructure",
        "model_performance",
        "customer_traction",
        "chip_ecosystem",
        "policy_shifts",
        "financial_posture",
    }
)
KEYS = {"id", "title", "summary", "url", "source_kind", "source", "labels"}
SOURCE_KINDS = {"feed", "html", "json"}


def load(split: str) -> list[dict[str, Any]]:
    """Every line of one split, parsed; a broken line fails with its file and line number."""
    path = GOLD / f"{split}.jsonl"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            pytest.fail(f"{path.name}:{number}: not JSON ({error})")
        assert isinstance(row, dict), f"{path.name}:{number}: not a JSON object"
        rows.append(row)
    return rows


def problems(split: str, rows: list[dict[str, Any]]) -> list[str]:
    """What is wrong with one split's rows (an empty list when nothing is)."""
    found = []
    for number, row in enumerate(rows, start=1):
        where = f"{split}.jsonl:{number}"
        if set(row) != KEYS:
            found.append(f"{where}: keys {sorted(row)} != {sorted(KEYS)}")
            continue
        for key in ("id", "title", "source"):
            if not isinstance(row[key], str) or not row[key].strip():
                found.append(f"{where}: {key} must be a non-empty string")
        for key in ("summary", "url"):
            if not isinstance(row[key], str):
                found.append(f"{where}: {key} must be a string")
        if row["source_kind"] not in SOURCE_KINDS:
            found.append(f"{where}: source_kind {row['source_kind']!r}")
        labels = row["labels"]
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            found.append(f"{where}: labels must be a list of strings")
            continue
        unknown = set(labels) - CATEGORIES
        if unknown:
            found.append(f"{where}: unknown labels {sorted(unknown)}")
        if len(set(labels)) != len(labels):
            found.append(f"{where}: repeated label")
    return found


@pytest.fixture(scope="module")
def gold() -> dict[str, list[dict[str, Any]]]:
    return {split: load(split) for split in SPLITS}


def test_every_line_has_the_contract_keys_and_known_labels(
    gold: dict[str, list[dict[str, Any]]],
) -> None:
    found = [problem for split in SPLITS for problem in problems(split, gold[split])]
    assert found == []


def test_the_checker_catches_bad_rows() -> None:
    bad = [
        {"id": "x", "title": "t", "summary": "", "url": "", "source_kind": "feed",
         "source": "s", "labels": ["chips"]},
        {"id": "y", "title": "t", "summary": "", "url": "", "source_kind": "rss",
         "source": "s", "labels": []},
        {"id": "z", "title": "t", "labels": []},
    ]  # fmt: skip
    assert len(problems("bad", bad)) == 3


def test_ids_are_unique_and_no_title_is_in_both_splits(
    gold: dict[str, list[dict[str, Any]]],
) -> None:
    ids = Counter(row["id"] for split in SPLITS for row in gold[split])
    assert [i for i, n in ids.items() if n > 1] == []
    titles = {split: {row["title"].strip().casefold() for row in gold[split]} for split in SPLITS}
    for split in SPLITS:
        assert len(titles[split]) == len(gold[split]), f"duplicate titles within {split}"
    assert titles["dev"] & titles["heldout"] == set()


def test_size_split_and_coverage(gold: dict[str, list[dict[str, Any]]]) -> None:
    dev, heldout = gold["dev"], gold["heldout"]
    total = len(dev) + len(heldout)
    assert total >= 360
    assert 0.25 <= len(heldout) / total <= 0.40
    everything = dev + heldout
    assert sum(1 for row in everything if not row["labels"]) / total >= 0.25
    overall = Counter(label for row in everything for label in row["labels"])
    held = Counter(label for row in heldout for label in row["labels"])
    for category in sorted(CATEGORIES):
        assert overall[category] >= 45, f"{category}: {overall[category]} positives overall"
        assert held[category] >= 12, f"{category}: {held[category]} positives in heldout"
