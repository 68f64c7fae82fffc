"""Cron schedules on a local wall clock, and the window of time each fire covers.

A digest rule says ``schedule = "0 8 * * mon-fri"`` and ``timezone = "America/New_York"``:
people mean 08:00 on *their* clock, winter and summer. So the cron expression is matched
on wall-clock time (APScheduler's ``CronTrigger`` does the field matching, in UTC so that
it never sees a DST jump), and each wall-clock fire is then placed in real time:

- a wall time that does not exist (spring forward, 02:30) fires once, at the same offset
  from midnight on the new clock (03:30), as cron and APScheduler do;
- a wall time that happens twice (fall back, 01:30) fires once, at its first occurrence,
  where APScheduler 3.11 with a timezone fires twice.

Windows are pure functions of the fire time, so a digest's ledger key (rule, channel,
window start, window end) is the same whoever computes it and whenever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from signals.times import to_utc_iso

_SEARCH_SPANS = (timedelta(hours=2), timedelta(days=1), timedelta(days=8), timedelta(days=32))
_LONGEST_SPAN = timedelta(days=370)


@dataclass(frozen=True)
class Window:
    """A stretch of real time ``[start, end)``, shown to people in ``timezone``."""

    start: datetime
    end: datetime
    timezone: str = "UTC"

    @property
    def start_iso(self) -> str:
        return to_utc_iso(self.start)

    @property
    def end_iso(self) -> str:
        return to_utc_iso(self.end)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def previous(self) -> Window:
        """The window of the same length just before this one (for week-on-week counts)."""
        return Window(self.start - self.length, self.start, self.timezone)


class Schedule:
    """A five-field cron expression evaluated on the wall clock of an IANA timezone."""

    def __init__(self, expression: str, timezone: str):
        self.expression = expression
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)

    @cached_property
    def _trigger(self) -> Any:
        from apscheduler.triggers.cron import CronTrigger

        # UTC stands in for "naive wall clock": no DST, so no skipped or doubled hours.
        return CronTrigger.from_crontab(self.expression, timezone=UTC)

    @staticmethod
    def validate(expression: str) -> str | None:
        """None if the expression is valid, else why not (for the rule loader)."""
        from apscheduler.triggers.cron import CronTrigger

        if not isinstance(expression, str) or len(expression.split()) != 5:
            return (
                "expected a five-field cron expression such as '0 8 * * mon-fri' "
                f"(minute hour day month weekday), got {expression!r}"
            )
        try:
            CronTrigger.from_crontab(expression, timezone=UTC)
        except ValueError as exc:
            return f"invalid cron expression {expression!r}: {exc}"
        return None

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=UTC)

    def _instant(self, wall: datetime) -> datetime:
        # fold=0: the first of a doubled wall time; a missing one lands after the gap.
        return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def _fires_from(self, instant: datetime) -> Iterator[datetime]:
        """Fire instants after ``instant`` (strictly), in order, each real moment once."""
        wall = self._wall(instant) - timedelta(hours=3)  # room for any DST shift
        last: datetime | None = None
        while True:
            fire_wall = self._trigger.get_next_fire_time(None, wall)
            if fire_wall is None:
                return
            wall = fire_wall + timedelta(microseconds=1)
            fire = self._instant(fire_wall)
            if last is not None and fire <= last:
                continue  # the gap's mapped time and the real one coincide: fire once
            last = fire
            if fire > instant:
                yield fire

    def next_after(self, instant: datetime) -> datetime | None:
        """The first fire strictly after ``instant``."""
        return next(self._fires_from(instant), None)

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        """The most recent fire at or before ``instant`` (None if none within a year)."""
        for span in (*_SEARCH_SPANS, _LONGEST_SPAN):
            latest = None
            for fire in self._fires_from(instant - span):
                if fire > instant:
                    break
                latest = fire
            if latest is not None:
                return latest
        return None

    def fires_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every fire in ``(start, end]``, oldest first."""
        fires = []
        for fire in self._fires_from(start):
            if fire > end:
                break
            fires.append(fire)
        return fires


def digest_window(
    schedule: Schedule, window: timedelta | None, fire: datetime, timezone: str
) -> Window:
    """The window a digest firing at ``fire`` covers.

    With a fixed length it is ``[fire - length, fire)``; without one it runs from the
    previous fire, so consecutive digests tile time with no gap or overlap, across
    weekends (Monday's covers Friday 08:00 to Monday 08:00) and DST changes alike.
    """
    if window is not None:
        return Window(fire - window, fire, timezone)
    previous = schedule.latest_at_or_before(fire - timedelta(microseconds=1))
    start = previous if previous is not None else fire - timedelta(days=1)
    return Window(start, fire, timezone)
