"""Read the JSON lines ``signals classify`` and ``signals eval`` take, naming bad lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from signals.errors import UsageError
from signals.model import CATEGORY_IDS
from signals.tagging.tagger import TagInput

MAX_LISTED = 20


@dataclass(frozen=True)
class Example:
    """One input line: what to tag and, for ``eval``, the expected categories."""

    line: int
    input: TagInput
    labels: tuple[str, ...] | None
    record: dict[str, Any]


def read_examples(lines: Iterable[str], name: str, *, labeled: bool = False) -> list[Example]:
    """Every non-blank line as an example; ``UsageError`` listing each bad line."""
    examples: list[Example] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append(f"{name}:{number}: not valid JSON: {exc}")
            continue
        problem = _problem(record, labeled)
        if problem:
            problems.append(f"{name}:{number}: {problem}")
            continue
        examples.append(
            Example(
                line=number,
                input=TagInput(
                    title=record["title"],
                    summary=record.get("summary") or "",
                    body=record.get("body") or "",
                    url=record.get("url") or None,
                    source_kind=record.get("source_kind") or None,
                    hints=tuple(record.get("hint") or ()),
                ),
                labels=tuple(record["labels"]) if labeled else None,
                record=record,
            )
        )
    if problems:
        more = len(problems) - MAX_LISTED
        listed = problems[:MAX_LISTED] + ([f"... and {more} more"] if more > 0 else [])
        raise UsageError("\n".join(listed))
    return examples


def _problem(record: Any, labeled: bool) -> str | None:
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if not isinstance(record.get("title"), str):
        return 'needs "title" (text)'
    for key in ("summary", "body", "url", "source_kind"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f'"{key}" must be text'
    hint = record.get("hint")
    if hint is not None and not _category_list(hint):
        return f'"hint" must be a list of category ids ({", ".join(CATEGORY_IDS)})'
    if labeled:
        labels = record.get("labels")
        if labels is None:
            return 'needs "labels" (a list of category ids, [] for none)'
        if not _category_list(labels):
            return f'"labels" must be a list of category ids ({", ".join(CATEGORY_IDS)})'
    return None


def _category_list(value: Any) -> bool:
    return isinstance(value, list) and all(v in CATEGORY_IDS for v in value)
