"""Rule types: what a rule looks for. ``RULE_TYPES`` maps ``type = "..."`` to its code.

Each type declares its own options table (``[spike]``, ``[flatline]``, ``[new_term]``),
validates it, says which archive span it needs for a window, and evaluates (purely) to
``Event``s, each with a suppression key: the same key does not alert again within the
rule's ``realert``. A new type registers the same way the built-ins do.

- ``match``: every item meeting the conditions; one event per story.
- ``spike``: a category or entity gets ``factor`` times its trailing baseline.
- ``flatline``: a source or category quiet for longer than its usual cadence allows.
- ``new_term``: an entity never seen before in the archive (a new party on the Entity List).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from signals.cadence import quiet
from signals.model import CATEGORY_IDS
from signals.rules.conditions import matched_categories, matches
from signals.rules.model import ALERT, DIGEST, Rule
from signals.rules.schedule import Window
from signals.snapshot import ItemView, SourceView
from signals.units import format_duration, parse_duration

#: (key path, problem) reporter handed to option parsers by the loader.
Report = Callable[[str, str], None]


@dataclass(frozen=True)
class Event:
    """Something a rule found. ``key`` is what suppression (``realert``) remembers."""

    key: str
    headline: str  # plain text; renderers escape it
    items: tuple[ItemView, ...] = ()


@dataclass(frozen=True)
class Inputs:
    """What evaluation reads, loaded by the caller for the span the rule type asked for."""

    items: Sequence[ItemView] = ()
    sources: Sequence[SourceView] = ()
    first_seen: Mapping[str, datetime] = field(default_factory=dict)  # entity key -> first seen
    archive_started_at: datetime | None = None


class RuleType(Protocol):
    name: str
    table: str | None  # its options table, or None
    actions: tuple[str, ...]
    default_realert: timedelta
    check_every: timedelta  # how often the daemon needs to evaluate it

    def parse(self, table: Mapping[str, Any], report: Report) -> Any: ...

    def span(self, rule: Rule, window: Window, now: datetime) -> tuple[datetime, datetime]: ...

    def evaluate(
        self, rule: Rule, inputs: Inputs, window: Window, now: datetime
    ) -> list[Event]: ...


def suppress(
    rule: Rule, events: Sequence[Event], recent_keys: set[str], delivered_items: set[str]
) -> list[Event]:
    """Drop what was already told: keys alerted within ``realert``, items already sent.

    ``recent_keys`` are the suppression keys of this rule's deliveries within its
    ``realert``; ``delivered_items`` the items those deliveries carried: for ``match``
    rules a story that grows a second source is told again only after ``realert``, and
    an item never twice.
    """
    kept = []
    for found in events:
        if found.key in recent_keys:
            continue
        if rule.type == "match":
            fresh = tuple(i for i in found.items if i.id not in delivered_items)
            if not fresh:
                continue
            found = Event(key=found.key, headline=found.headline, items=fresh)
        kept.append(found)
    return kept


# ------------------------------------------------------------------ option helpers


def _duration(
    table: Mapping[str, Any], key: str, default: str, where: str, report: Report
) -> timedelta:
    raw = table.get(key, default)
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        report(f"{where}.{key}", str(exc))
        return parse_duration(default)
    if value <= timedelta(0):
        report(f"{where}.{key}", f"expected a duration above zero, got {raw!r}")
        return parse_duration(default)
    return value


def _number(
    table: Mapping[str, Any], key: str, default: float, where: str, report: Report, above: float
) -> float:
    raw = table.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= above:
        report(f"{where}.{key}", f"expected a number above {above:g}, got {raw!r}")
        return default
    return float(raw)


def _count(
    table: Mapping[str, Any], key: str, default: int, where: str, report: Report, least: int
) -> int:
    raw = table.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < least:
        report(f"{where}.{key}", f"expected a whole number of at least {least}, got {raw!r}")
        return default
    return raw


def _choice(
    table: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str, report: Report
) -> str:
    raw = table.get(key, choices[0])
    if raw not in choices:
        listed = " or ".join(f'"{c}"' for c in choices)
        report(f"{where}.{key}", f"expected {listed}, got {raw!r}")
        return choices[0]
    return str(raw)


def _unknown_keys(table: Mapping[str, Any], known: set[str], where: str, report: Report) -> None:
    for key in table:
        if key not in known:
            report(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _stories(items: Sequence[ItemView]) -> dict[str, list[ItemView]]:
    stories: dict[str, list[ItemView]] = defaultdict(list)
    for item in items:
        stories[item.story_key].append(item)
    return stories


def _best_first(rule: Rule, items: Sequence[ItemView]) -> tuple[ItemView, ...]:
    def score(item: ItemView) -> float:
        wanted = rule.when.categories or CATEGORY_IDS
        return max((item.tags[c].score for c in wanted if c in item.tags), default=0.0)

    return tuple(sorted(items, key=lambda i: (-score(i), i.first_seen_at, i.id)))


# ------------------------------------------------------------------ match


class MatchType:
    """Every item that meets the conditions: one event per story, keyed by the story."""

    name: str = "match"
    table: str | None = None
    actions: tuple[str, ...] = (ALERT, DIGEST)
    default_realert: timedelta = timedelta(hours=24)
    check_every: timedelta = timedelta(0)

    def parse(self, table: Mapping[str, Any], report: Report) -> None:
        return None

    def span(self, rule: Rule, window: Window, now: datetime) -> tuple[datetime, datetime]:
        return window.start, window.end

    def evaluate(self, rule: Rule, inputs: Inputs, window: Window, now: datetime) -> list[Event]:
        oldest = now - rule.max_age
        chosen = [
            item
            for item in inputs.items
            if item.published_at >= oldest and matches(rule.when, item)
        ]
        return [
            Event(key=f"story:{key}", headline="", items=_best_first(rule, items))
            for key, items in _stories(chosen).items()
        ]


# ------------------------------------------------------------------ spike


@dataclass(frozen=True)
class SpikeOptions:
    by: str = "category"
    window: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=14)
    factor: float = 3.0
    min_count: int = 3


class SpikeType:
    """A category or entity with ``factor`` times its usual number of stories in a window."""

    name: str = "spike"
    table: str | None = "spike"
    actions: tuple[str, ...] = (ALERT,)
    default_realert: timedelta = timedelta(hours=24)
    check_every: timedelta = timedelta(minutes=15)

    def parse(self, table: Mapping[str, Any], report: Report) -> SpikeOptions:
        _unknown_keys(table, {"by", "window", "baseline", "factor", "min_count"}, "spike", report)
        options = SpikeOptions(
            by=_choice(table, "by", ("category", "entity"), "spike", report),
            window=_duration(table, "window", "24h", "spike", report),
            baseline=_duration(table, "baseline", "14d", "spike", report),
            factor=_number(table, "factor", 3.0, "spike", report, above=1),
            min_count=_count(table, "min_count", 3, "spike", report, least=1),
        )
        if options.baseline < options.window * 2:
            report(
                "spike.baseline",
                f"must be at least twice spike.window (got {format_duration(options.baseline)}"
                f" for a {format_duration(options.window)} window)",
            )
        return options

    def span(self, rule: Rule, window: Window, now: datetime) -> tuple[datetime, datetime]:
        options: SpikeOptions = rule.options
        return now - options.window - options.baseline, now

    def evaluate(self, rule: Rule, inputs: Inputs, window: Window, now: datetime) -> list[Event]:
        options: SpikeOptions = rule.options
        split = now - options.window
        history_from = split - options.baseline
        if inputs.archive_started_at is None or inputs.archive_started_at > history_from:
            return []  # no full baseline yet: everything would look like a spike
        current: dict[str, dict[str, ItemView]] = defaultdict(dict)
        before: dict[str, set[str]] = defaultdict(set)
        for item in inputs.items:
            if not history_from <= item.first_seen_at < now or not matches(rule.when, item):
                continue
            for key in self._keys(rule, item):
                if item.first_seen_at >= split:
                    current[key].setdefault(item.story_key, item)
                else:
                    before[key].add(item.story_key)
        periods = options.baseline / options.window
        events = []
        for key, stories in sorted(current.items()):
            usual = len(before.get(key, ())) / periods
            count = len(stories)
            if count >= max(options.min_count, options.factor * usual):
                name = key.partition(":")[2]
                ratio = f"{count / usual:.1f}x" if usual else "new"
                headline = (
                    f"{name}: {count} stories in the last {format_duration(options.window)},"
                    f" usually {usual:.1f} ({ratio})"
                )
                events.append(
                    Event(
                        key=key,
                        headline=headline,
                        items=_best_first(rule, list(stories.values()))[:5],
                    )
                )
        return events

    @staticmethod
    def _keys(rule: Rule, item: ItemView) -> list[str]:
        options: SpikeOptions = rule.options
        if options.by == "category":
            return [f"category:{c}" for c in matched_categories(rule.when, item, CATEGORY_IDS)]
        ids = {e.entity_id for e in item.entities if e.entity_id}
        if rule.when.entities:
            ids &= set(rule.when.entities)
        return [f"entity:{i}" for i in sorted(ids)]


# ------------------------------------------------------------------ flatline


@dataclass(frozen=True)
class FlatlineOptions:
    by: str = "source"
    factor: float = 3.0
    min_quiet: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(days=60)
    min_items: int = 5


class FlatlineType:
    """A source or category that went quiet for longer than its usual cadence allows."""

    name: str = "flatline"
    table: str | None = "flatline"
    actions: tuple[str, ...] = (ALERT,)
    default_realert: timedelta = timedelta(hours=24)
    check_every: timedelta = timedelta(minutes=15)

    def parse(self, table: Mapping[str, Any], report: Report) -> FlatlineOptions:
        keys = {"by", "factor", "min_quiet", "lookback", "min_items"}
        _unknown_keys(table, keys, "flatline", report)
        return FlatlineOptions(
            by=_choice(table, "by", ("source", "category"), "flatline", report),
            factor=_number(table, "factor", 3.0, "flatline", report, above=1),
            min_quiet=_duration(table, "min_quiet", "1d", "flatline", report),
            lookback=_duration(table, "lookback", "60d", "flatline", report),
            min_items=_count(table, "min_items", 5, "flatline", report, least=3),
        )

    def span(self, rule: Rule, window: Window, now: datetime) -> tuple[datetime, datetime]:
        options: FlatlineOptions = rule.options
        if options.by == "source":
            return now, now  # source timelines come with the sources, no items needed
        return now - options.lookback, now

    def evaluate(self, rule: Rule, inputs: Inputs, window: Window, now: datetime) -> list[Event]:
        options: FlatlineOptions = rule.options
        timelines: dict[str, list[datetime]] = {}
        names: dict[str, str] = {}
        if options.by == "source":
            for source in inputs.sources:
                if not source.enabled:
                    continue
                if rule.when.sources and source.id not in rule.when.sources:
                    continue
                if rule.when.source_kinds and source.kind not in rule.when.source_kinds:
                    continue
                timelines[f"source:{source.id}"] = list(source.recent)
                names[f"source:{source.id}"] = source.name or source.id
        else:
            oldest = now - options.lookback
            for item in inputs.items:
                if item.first_seen_at < oldest or not matches(rule.when, item):
                    continue
                for category in matched_categories(rule.when, item, CATEGORY_IDS):
                    timelines.setdefault(f"category:{category}", []).append(item.first_seen_at)
                    names[f"category:{category}"] = category
        events = []
        for key, times in sorted(timelines.items()):
            found = quiet(
                times,
                now,
                factor=options.factor,
                min_quiet=options.min_quiet,
                min_items=options.min_items,
            )
            if found is None:
                continue
            headline = (
                f"{names[key]} has been quiet for {format_duration(found.silent_for)}"
                f" (usually every {format_duration(found.usual_gap)};"
                f" last item {found.last:%Y-%m-%d %H:%M} UTC)"
            )
            events.append(Event(key=key, headline=headline))
        return events


# ------------------------------------------------------------------ new_term


@dataclass(frozen=True)
class NewTermOptions:
    labels: tuple[str, ...] = ()
    min_history: timedelta = timedelta(days=14)


def entity_key(label: str, text: str, entity_id: str | None) -> str:
    """Canonical id where the tagger gave one, else label and folded surface text."""
    return (
        f"entity:{entity_id}" if entity_id else f"text:{label}:{' '.join(text.split()).casefold()}"
    )


class NewTermType:
    """An entity that appears for the first time in the archive."""

    name: str = "new_term"
    table: str | None = "new_term"
    actions: tuple[str, ...] = (ALERT,)
    default_realert: timedelta = timedelta(days=3650)  # a first appearance happens once
    check_every: timedelta = timedelta(0)

    def parse(self, table: Mapping[str, Any], report: Report) -> NewTermOptions:
        _unknown_keys(table, {"labels", "min_history"}, "new_term", report)
        labels = table.get("labels", [])
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            report(
                "new_term.labels",
                f"expected a list of entity labels such as ['ORG'], got {labels!r}",
            )
            labels = []
        return NewTermOptions(
            labels=tuple(labels),
            min_history=_duration(table, "min_history", "14d", "new_term", report),
        )

    def span(self, rule: Rule, window: Window, now: datetime) -> tuple[datetime, datetime]:
        return window.start, window.end

    def candidates(self, rule: Rule, items: Sequence[ItemView]) -> dict[str, tuple[ItemView, str]]:
        """Entity key -> (first item in the window that names it, its surface text)."""
        options: NewTermOptions = rule.options
        found: dict[str, tuple[ItemView, str]] = {}
        for item in sorted(items, key=lambda i: (i.first_seen_at, i.id)):
            if not matches(rule.when, item):
                continue
            for entity in item.entities:
                if options.labels and entity.label not in options.labels:
                    continue
                key = entity_key(entity.label, entity.text, entity.entity_id)
                found.setdefault(key, (item, f"{entity.text} ({entity.label})"))
        return found

    def evaluate(self, rule: Rule, inputs: Inputs, window: Window, now: datetime) -> list[Event]:
        options: NewTermOptions = rule.options
        started = inputs.archive_started_at
        if started is None or started > window.start - options.min_history:
            return []  # a young archive has seen nothing yet: everything would be "new"
        events = []
        for key, (item, label) in sorted(self.candidates(rule, inputs.items).items()):
            first = inputs.first_seen.get(key)
            if first is not None and first < window.start:
                continue
            events.append(Event(key=key, headline=f"First appearance: {label}", items=(item,)))
        return events


RULE_TYPES: dict[str, RuleType] = {
    "match": MatchType(),
    "spike": SpikeType(),
    "flatline": FlatlineType(),
    "new_term": NewTermType(),
}
