"""Build a digest or an alert from archive data and a window. Pure: no I/O, no clock.

A digest holds the stories first seen in its window that meet the rule's conditions,
grouped by watch category; a story an earlier digest of the rule told is not repeated.
Each story appears once, under the rule category where it scores highest; its items
from several sources collapse into one line ("+N sources").
Lines are ranked by

    0.7 x score + 0.15 x recency + 0.15 x breadth

where score is the tagger's 0..1 score in that category, recency is 1 for a story
published at the window's end falling to 0 at its start, and breadth grows with the
number of sources that carried it (1 at four or more). Score dominates: recency and
breadth reorder stories of similar score. Each category shows its top
``per_category`` lines, then how many more there are and the ``signals query`` command
that lists them. A health footer names sources that are failing or have gone quiet.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from signals.cadence import quiet
from signals.digest.model import Alert, AlertEntry, Digest, HealthNote, Line, Section, Upcoming
from signals.model import CATEGORY_IDS
from signals.rules.conditions import category_score, matches, reasons
from signals.rules.model import Rule
from signals.rules.schedule import Window
from signals.rules.types import Event
from signals.snapshot import DatedFact, ItemView, SourceView
from signals.times import to_utc_iso
from signals.units import format_duration

CATEGORY_TITLES = {
    "infrastructure": "Infrastructure",
    "model_performance": "Model performance",
    "customer_traction": "Customer traction",
    "chip_ecosystem": "Chip ecosystem",
    "policy_shifts": "Policy shifts",
    "financial_posture": "Financial posture",
}
DATE_KINDS = {"effective_date": "effective", "comment_deadline": "comments due"}
OK_STATUSES = frozenset({"ok", "not_modified"})
TITLE_LIMIT = 300
WHY_LIMIT = 4
WHY_SPAN_LIMIT = 80
UPCOMING_LIMIT = 20
QUIET_FACTOR = 3.0
QUIET_MIN = timedelta(days=2)


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word where possible."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links are ever rendered as links."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def rule_categories(rule: Rule) -> tuple[str, ...]:
    return rule.when.categories or CATEGORY_IDS


def best_category(rule: Rule, items: Sequence[ItemView]) -> str | None:
    """The rule category where the story scores highest (ties: taxonomy order)."""
    best: tuple[float, int] | None = None
    chosen = None
    for position, category in enumerate(rule_categories(rule)):
        score = max(
            (s for i in items if (s := category_score(rule.when, i, category)) is not None),
            default=None,
        )
        if score is not None and (best is None or (score, -position) > best):
            best, chosen = (score, -position), category
    return chosen


def make_line(rule: Rule, items: Sequence[ItemView], category: str | None, window: Window) -> Line:
    """Collapse one story's items into a line, told by its highest-scoring item."""

    def score(item: ItemView) -> float:
        if category is None:
            return max((t.score for t in item.tags.values()), default=0.0)
        return item.tags[category].score if category in item.tags else 0.0

    ordered = sorted(items, key=lambda i: (-score(i), i.first_seen_at, i.id))
    lead = ordered[0]
    carriers: list[str] = []
    for item in ordered:
        carriers += [s for s in item.sources if s not in carriers]
    why: list[str] = []
    for item in ordered:
        why += [w for w in reasons(rule.when, item, category) if w not in why]
    published = max(i.published_at for i in ordered)
    length = max(window.length.total_seconds(), 1.0)
    recency = 1 - min(max((window.end - published).total_seconds() / length, 0.0), 1.0)
    breadth = min((len(carriers) - 1) / 3, 1.0)
    top = score(lead)
    return Line(
        story_key=lead.story_key,
        title=shorten(lead.title, TITLE_LIMIT),
        url=safe_url(lead.url),
        source_id=lead.source_id,
        source_name=lead.source_name or lead.source_id,
        published_at=lead.published_at,
        first_seen_at=min(i.first_seen_at for i in ordered),
        score=top,
        sources=len(carriers),
        why=tuple(shorten(w, WHY_SPAN_LIMIT) for w in why[:WHY_LIMIT]),
        item_ids=tuple(i.id for i in ordered),
        rank=round(0.7 * top + 0.15 * recency + 0.15 * breadth, 6),
    )


def _stories(items: Iterable[ItemView]) -> dict[str, list[ItemView]]:
    stories: dict[str, list[ItemView]] = defaultdict(list)
    for item in items:
        stories[item.story_key].append(item)
    return stories


def placed_stories(
    rule: Rule, items: Iterable[ItemView], window: Window, told: Collection[str] = ()
) -> dict[str, list[list[ItemView]]]:
    """Category -> the stories (lists of items) placed there, for items meeting the rule.

    Stories in ``told`` (story keys an earlier digest of the rule carried) are left out.
    """
    oldest = window.end - rule.max_age
    chosen = [i for i in items if i.published_at >= oldest and matches(rule.when, i)]
    placed: dict[str, list[list[ItemView]]] = defaultdict(list)
    for key, story in _stories(chosen).items():
        if key in told:
            continue
        category = best_category(rule, story)
        if category is not None:
            placed[category].append(story)
    return placed


def more_command(
    rule: Rule, category: str, window: Window, stories: Sequence[Sequence[ItemView]] = ()
) -> str:
    """The ``signals query`` command line that lists everything the cap left out.

    ``signals query`` filters on *published* time, the digest on first-seen time: the
    bounds are the window, widened to the publication times of the section's items (a
    backfilled item first seen in the window may have been published days before), so
    the listing holds every story of the section and little else. The category, the
    rule's minimum score, and its source or entity when it names exactly one narrow it
    the same way the rule does. Times are ISO UTC, as ``--since``/``--until`` take them.
    """
    published = [item.published_at for story in stories for item in story]
    since = min([window.start, *published])
    until = max([window.end, *(p + timedelta(seconds=1) for p in published)])
    parts = ["signals", "query", "--category", category]
    if len(rule.when.sources) == 1:
        parts += ["--source", rule.when.sources[0]]
    if len(rule.when.entities) == 1:
        parts += ["--entity", rule.when.entities[0]]
    parts += ["--since", to_utc_iso(since), "--until", to_utc_iso(until)]
    if rule.when.min_score > 0:
        parts += ["--min-score", f"{rule.when.min_score:g}"]
    return " ".join(shlex.quote(part) for part in parts)


def build_digest(
    rule: Rule,
    window: Window,
    items: Sequence[ItemView],
    *,
    sources: Sequence[SourceView] = (),
    previous_items: Sequence[ItemView] | None = None,
    dated: Sequence[DatedFact] = (),
    told: Collection[str] = (),
) -> Digest:
    """The digest of ``items`` (those first seen in ``window``) for ``rule``.

    ``told``: story keys already carried by the rule's earlier digests; a story is told
    once, in the first window where it meets the rule, not again when another source
    reports it in a later window.
    """
    assert rule.digest is not None, "build_digest needs a digest rule"
    spec = rule.digest
    placed = placed_stories(rule, items, window, told)
    previous = None
    if spec.compare_previous and previous_items is not None:
        before = placed_stories(rule, previous_items, window.previous())
        previous = {category: len(stories) for category, stories in before.items()}
    sections = []
    for category in rule_categories(rule):
        stories = placed.get(category, [])
        lines = sorted(
            (make_line(rule, story, category, window) for story in stories),
            key=lambda line: (-line.rank, line.title.casefold(), line.story_key),
        )
        if not lines and not (previous and previous.get(category)):
            continue
        shown = tuple(lines[: spec.per_category])
        sections.append(
            Section(
                category=category,
                title=CATEGORY_TITLES.get(category, category),
                lines=shown,
                total=len(lines),
                previous_total=None if previous is None else previous.get(category, 0),
                more_command=more_command(rule, category, window, stories)
                if len(lines) > len(shown)
                else None,
            )
        )
    all_items = [i for stories in placed.values() for story in stories for i in story]
    carriers = {s for i in all_items for s in i.sources}
    return Digest(
        rule_id=rule.id,
        title=rule.title,
        window=window,
        sections=tuple(sections),
        stories=sum(len(s) for s in placed.values()),
        source_count=len(carriers),
        item_ids=tuple(sorted(i.id for i in all_items)),
        health=health_notes(sources, window.end, window),
        upcoming=upcoming(rule, dated, window) if spec.upcoming else (),
        compare_previous=previous is not None,
        shows_upcoming=spec.upcoming is not None,
    )


def health_notes(
    sources: Sequence[SourceView], now: datetime, window: Window
) -> tuple[HealthNote, ...]:
    """Enabled sources that are failing, then those that went quiet, for the footer."""
    failing, silent = [], []
    for source in sources:
        if not source.enabled or source.last_status is None:
            continue
        name = source.name or source.id
        if source.last_status not in OK_STATUSES:
            since = (
                f"since {_local(source.last_ok_at, window)}"
                if source.last_ok_at
                else "never succeeded"
            )
            checks = "check" if source.error_count == 1 else "checks"
            failing.append(
                HealthNote(
                    source.id,
                    name,
                    f"failing ({source.last_status}), {since};"
                    f" {source.error_count} failed {checks} in a row",
                )
            )
            continue
        found = quiet(source.recent, now, factor=QUIET_FACTOR, min_quiet=QUIET_MIN)
        if found is not None:
            silent.append(
                HealthNote(
                    source.id,
                    name,
                    f"quiet for {_rough(found.silent_for)} (usually a new item every"
                    f" {_rough(found.usual_gap)})",
                )
            )
    return tuple(failing + silent)


def _rough(delta: timedelta) -> str:
    """Two units at most: "3d4h", "5h20m"."""
    text = format_duration(delta)
    units, out = 0, ""
    for char in text:
        out += char
        if char.isalpha():
            units += 1
            if units == 2:
                break
    return out


def _local(moment: datetime, window: Window) -> str:
    local = window.local(moment)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def upcoming(rule: Rule, dated: Sequence[DatedFact], window: Window) -> tuple[Upcoming, ...]:
    """Effective dates and comment deadlines ahead, from items meeting the rule's conditions."""
    seen: set[tuple[str, str, str]] = set()
    found = []
    for fact in sorted(dated, key=lambda f: (f.date, f.kind, f.item.first_seen_at)):
        if fact.kind not in DATE_KINDS or not matches(rule.when, fact.item):
            continue
        key = (fact.item.story_key, fact.kind, fact.date)
        if key in seen:
            continue
        seen.add(key)
        found.append(
            Upcoming(
                date=fact.date,
                kind=DATE_KINDS[fact.kind],
                title=shorten(fact.item.title, TITLE_LIMIT),
                url=safe_url(fact.item.url),
            )
        )
    return tuple(found[:UPCOMING_LIMIT])


def build_alert(rule: Rule, window: Window, events: Sequence[Event]) -> Alert:
    """An alert message: one entry per event, each with its stories as lines."""
    entries = []
    item_ids: list[str] = []
    for event in events:
        lines = []
        for story in _stories(event.items).values():
            category = best_category(rule, story)
            lines.append(make_line(rule, story, category, window))
            item_ids += [i.id for i in story]
        lines.sort(key=lambda line: (-line.score, line.first_seen_at, line.story_key))
        entries.append(AlertEntry(key=event.key, headline=event.headline, lines=tuple(lines)))
    return Alert(
        rule_id=rule.id,
        title=rule.title,
        window=window,
        entries=tuple(entries),
        item_ids=tuple(sorted(set(item_ids))),
    )
