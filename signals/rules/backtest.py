"""Replay an alert rule over past data: what would it have sent, and when? Pure.

The daemon evaluates alert rules after every poll; the replay does the same at every
moment items were first seen (one tick per poll) for ``match`` and ``new_term`` rules,
and every hour for ``spike`` and ``flatline`` rules (the daemon checks those every 15
minutes). Suppression (``realert``, items already told) is simulated in memory, so the
output is what the channel would have received. Nothing is sent and the ledger is not
touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from signals.digest.build import build_alert
from signals.digest.model import Alert
from signals.rules.model import Rule
from signals.rules.schedule import Window
from signals.rules.types import RULE_TYPES, Inputs, suppress
from signals.snapshot import ItemView, SourceView

HOURLY = ("spike", "flatline")


def ticks(rule: Rule, items: Sequence[ItemView], start: datetime, end: datetime) -> list[datetime]:
    """When the daemon would have evaluated the rule between ``start`` and ``end``."""
    if rule.type in HOURLY:
        first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        hours = int((end - first).total_seconds() // 3600) + 1
        return [
            first + timedelta(hours=n)
            for n in range(max(hours, 0))
            if first + timedelta(hours=n) <= end
        ]
    # Just after each poll stored items: the window [previous tick, tick) holds them.
    seen = sorted({i.first_seen_at for i in items if start <= i.first_seen_at < end})
    return [moment + timedelta(seconds=1) for moment in seen]


def _sources_at(
    sources: Sequence[SourceView], items: Sequence[ItemView], now: datetime
) -> list[SourceView]:
    """Source timelines as they stood at ``now``, rebuilt from the items."""
    times: dict[str, list[datetime]] = {}
    for item in items:
        if item.first_seen_at < now:
            for source in item.sources:
                times.setdefault(source, []).append(item.first_seen_at)
    return [
        replace(s, recent=tuple(sorted(times.get(s.id, ()), reverse=True)[:30])) for s in sources
    ]


def replay(
    rule: Rule,
    items: Sequence[ItemView],
    start: datetime,
    end: datetime,
    *,
    sources: Sequence[SourceView] = (),
    first_seen: Mapping[str, datetime] | None = None,
    archive_started_at: datetime | None = None,
    timezone: str = "UTC",
) -> list[Alert]:
    """Every alert the rule would have sent between ``start`` and ``end``, oldest first."""
    rule_type = RULE_TYPES[rule.type]
    told: list[tuple[datetime, tuple[str, ...], tuple[str, ...]]] = []
    alerts = []
    previous = start
    for tick in ticks(rule, items, start, end):
        window = Window(max(previous, tick - rule.max_age), tick, timezone)
        previous = tick
        since, until = rule_type.span(rule, window, tick)
        inputs = Inputs(
            items=[i for i in items if since <= i.first_seen_at < until],
            sources=_sources_at(sources, items, tick) if rule.type == "flatline" else (),
            first_seen=first_seen or {},
            archive_started_at=archive_started_at,
        )
        recent = {k for t, keys, _ in told if t >= tick - rule.realert for k in keys}
        horizon = tick - max(rule.realert, rule.max_age)
        delivered = {i for t, _, ids in told if t >= horizon for i in ids}
        events = suppress(rule, rule_type.evaluate(rule, inputs, window, tick), recent, delivered)
        if events:
            alert = build_alert(rule, window, events)
            told.append((tick, alert.keys, alert.item_ids))
            alerts.append(alert)
    return alerts
