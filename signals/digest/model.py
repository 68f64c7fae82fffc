"""What a digest or an alert says, before it is rendered for a channel. Plain frozen values.

Text in these objects is raw feed text: every renderer escapes it for its own medium
(Slack mrkdwn, HTML); none of them trusts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signals.rules.schedule import Window


@dataclass(frozen=True)
class Line:
    """One story: its best item's title and link, where it came from, and why it is here."""

    story_key: str
    title: str
    url: str | None  # http(s) only, else None
    source_id: str
    source_name: str
    published_at: datetime
    first_seen_at: datetime
    score: float
    sources: int  # distinct sources that carried the story
    why: tuple[str, ...]
    item_ids: tuple[str, ...]
    rank: float = 0.0

    @property
    def extra_sources(self) -> int:
        return max(self.sources - 1, 0)


@dataclass(frozen=True)
class Section:
    """One watch category of a digest: the top lines, and how many more there are."""

    category: str
    title: str
    lines: tuple[Line, ...]
    total: int
    previous_total: int | None = None
    more_command: str | None = None

    @property
    def overflow(self) -> int:
        return self.total - len(self.lines)

    @property
    def change(self) -> int | None:
        return None if self.previous_total is None else self.total - self.previous_total


@dataclass(frozen=True)
class HealthNote:
    source_id: str
    name: str
    problem: str  # "failing: http_503 since Mon 23 Nov 10:00, 14 failed checks in a row"


@dataclass(frozen=True)
class Upcoming:
    date: str  # YYYY-MM-DD
    kind: str  # "effective" or "comments due"
    title: str
    url: str | None


@dataclass(frozen=True)
class Digest:
    rule_id: str
    title: str
    window: Window
    sections: tuple[Section, ...]
    stories: int
    source_count: int
    item_ids: tuple[str, ...]
    health: tuple[HealthNote, ...] = ()
    upcoming: tuple[Upcoming, ...] = ()
    compare_previous: bool = False
    shows_upcoming: bool = False
    kind: str = "digest"

    @property
    def empty(self) -> bool:
        return self.stories == 0

    @property
    def keys(self) -> tuple[str, ...]:
        return ()

    def subject_fields(self) -> dict[str, Any]:
        return _subject_fields(self.title, self.window, self.stories)


@dataclass(frozen=True)
class AlertEntry:
    """One event of an alert: a headline (for spikes, flatlines, new terms) and its stories."""

    key: str
    headline: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Alert:
    rule_id: str
    title: str
    window: Window
    entries: tuple[AlertEntry, ...]
    item_ids: tuple[str, ...]
    kind: str = "alert"

    @property
    def empty(self) -> bool:
        return not self.entries

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.entries)

    @property
    def stories(self) -> int:
        return sum(len(e.lines) for e in self.entries) or len(self.entries)

    def subject_fields(self) -> dict[str, Any]:
        return _subject_fields(self.title, self.window, self.stories)


Document = Digest | Alert


def _subject_fields(title: str, window: Window, stories: int) -> dict[str, Any]:
    end = window.local(window.end)
    return {
        "title": title,
        "date": f"{end:%a} {end.day} {end:%b %Y}",
        "start": window.local(window.start),
        "end": end,
        "stories": stories,
    }
