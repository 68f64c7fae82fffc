"""What a rule file means once validated: small frozen dataclasses, no I/O, no TOML.

A rule is a file in ``rules/`` (its id is the file name without ``.toml``). It says which
items it cares about (``[when]``), what kind of signal it looks for (``type``: every
matching item, a spike, a source or category going quiet, an entity never seen before),
what to do with it (``action``: alert now, or a digest on a cron schedule) and where to
send it (``[notify.*]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ALERT = "alert"
DIGEST = "digest"
ACTIONS = (ALERT, DIGEST)

#: Fact kinds the archive holds, and whether their ``value`` is a number (else only
#: ``text``): the tagger's money/percent/eccn/cfr_part, the Federal Register and EDGAR
#: dates (text YYYY-MM-DD), and the table sources' benchmark numbers. A rule naming any
#: other kind could never match, so the loader refuses it.
FACT_KINDS: dict[str, bool] = {
    "money": True,
    "percent": True,
    "eccn": False,
    "cfr_part": False,
    "effective_date": False,
    "comment_deadline": False,
    "publication_date": False,
    "benchmark_result": True,
    "benchmark_rank": True,
    "accelerator": True,
}


@dataclass(frozen=True)
class FactCondition:
    """One fact the item must carry, e.g. money >= 1e9 USD, or an ECCN among 3A090/4A090."""

    kind: str
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    text: tuple[str, ...] = ()  # any of these (case-insensitive, exact)


@dataclass(frozen=True)
class Conditions:
    """Everything given must hold (AND); within one list, any entry is enough (OR).

    ``any`` holds alternative condition sets of which at least one must hold, so a rule
    can say "policy_shifts, and (these terms or an ECCN fact)".
    """

    categories: tuple[str, ...] = ()
    min_score: float = 0.0
    terms: tuple[str, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    source_kinds: tuple[str, ...] = ()
    facts: tuple[FactCondition, ...] = ()
    any: tuple[Conditions, ...] = ()

    def all_terms(self) -> tuple[str, ...]:
        """Every positive term, including those of the ``any`` alternatives (for "why")."""
        found = list(self.terms)
        for alternative in self.any:
            found += [t for t in alternative.all_terms() if t not in found]
        return tuple(found)


@dataclass(frozen=True)
class DigestSpec:
    """When a digest rule fires and which stretch of time each digest covers."""

    schedule: str  # five-field cron, evaluated on the wall clock of ``timezone``
    timezone: str  # IANA name
    window: timedelta | None  # None: from the previous fire time to this one
    per_category: int = 5
    compare_previous: bool = False
    upcoming: timedelta | None = None  # show effective dates and deadlines this far ahead


@dataclass(frozen=True)
class SlackTarget:
    channel: str


@dataclass(frozen=True)
class EmailTarget:
    to: tuple[str, ...]
    sender: str
    subject: str


@dataclass(frozen=True)
class OutboxTarget:
    """``[notify.outbox]``: files in settings.outbox, whatever else is configured."""


@dataclass(frozen=True)
class Rule:
    """One validated rule file."""

    id: str
    path: Path
    title: str
    type: str
    action: str
    when: Conditions
    notify: tuple[tuple[str, Any], ...]  # (channel name, its target), in file order
    options: Any = None  # the rule type's own frozen options (SpikeOptions, ...)
    digest: DigestSpec | None = None
    realert: timedelta = timedelta(hours=24)
    max_age: timedelta = timedelta(days=3)
    description: str = ""

    @property
    def is_digest(self) -> bool:
        return self.action == DIGEST

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.notify)

    def target(self, channel: str) -> Any:
        return dict(self.notify)[channel]
