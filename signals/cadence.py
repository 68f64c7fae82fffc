"""How often something usually publishes, and whether it has gone quiet. Pure functions.

Used by ``flatline`` rules and by the digest's health footer. The usual cadence is the
median gap between the moments new items arrived: robust to one long pause, and a burst
(a feed's first poll brings fifty items at once) adds no gaps, so a new source has no
cadence yet and is never called quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median


@dataclass(frozen=True)
class Quiet:
    last: datetime
    usual_gap: timedelta
    silent_for: timedelta


def usual_gap(times: Sequence[datetime], min_items: int = 5) -> timedelta | None:
    """Median gap between consecutive times (any order), or None with too little history."""
    ordered = sorted(set(times))
    if len(ordered) < min_items:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(ordered)]
    positive = [g for g in gaps if g > 0]
    if not positive:
        return None
    return timedelta(seconds=median(positive))


def quiet(
    times: Sequence[datetime],
    now: datetime,
    *,
    factor: float = 3.0,
    min_quiet: timedelta = timedelta(days=1),
    min_items: int = 5,
) -> Quiet | None:
    """A Quiet when nothing appeared for ``factor`` times the usual gap (and min_quiet)."""
    past = [t for t in times if t <= now]
    gap = usual_gap(past, min_items)
    if gap is None:
        return None
    last = max(past)
    silent = now - last
    if silent > max(gap * factor, min_quiet):
        return Quiet(last=last, usual_gap=gap, silent_for=silent)
    return None
