"""Cron schedules on a local wall clock, through the weeks when daylight saving changes.

US clocks: 2026-03-08 02:00 EST -> 03:00 EDT (spring forward), 2026-11-01 02:00 EDT ->
01:00 EST (fall back). Europe: 2026-03-29 and 2026-10-25.
"""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signals.rules import Schedule, digest_window, load_rules
from tests.conftest import TESTS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, zone: str, start: str, end: str) -> list[str]:
    schedule = Schedule(expression, zone)
    return [f.strftime("%a %m-%d %H:%MZ") for f in schedule.fires_between(at(start), at(end))]


def local_times(expression: str, zone: str, start: str, end: str) -> list[str]:
    schedule = Schedule(expression, zone)
    return [
        f.astimezone(schedule.zone).strftime("%a %H:%M %Z")
        for f in schedule.fires_between(at(start), at(end))
    ]


def test_weekday_0800_new_york_stays_0800_local_across_spring_forward() -> None:
    assert fires("0 8 * * mon-fri", "America/New_York", "2026-03-05", "2026-03-11") == [
        "Thu 03-05 13:00Z",
        "Fri 03-06 13:00Z",
        "Mon 03-09 12:00Z",  # 08:00 EDT: one hour earlier in UTC
        "Tue 03-10 12:00Z",
    ]


def test_weekday_0800_new_york_stays_0800_local_across_fall_back() -> None:
    assert local_times("0 8 * * mon-fri", "America/New_York", "2026-10-29", "2026-11-04") == [
        "Thu 08:00 EDT",
        "Fri 08:00 EDT",
        "Mon 08:00 EST",
        "Tue 08:00 EST",
    ]


def test_monday_0700_brief_fires_once_a_week_through_both_changes() -> None:
    spring = fires("0 7 * * mon", "America/New_York", "2026-02-28", "2026-03-17")
    fall = fires("0 7 * * mon", "America/New_York", "2026-10-20", "2026-11-10")
    assert spring == ["Mon 03-02 12:00Z", "Mon 03-09 11:00Z", "Mon 03-16 11:00Z"]
    assert fall == ["Mon 10-26 11:00Z", "Mon 11-02 12:00Z", "Mon 11-09 12:00Z"]


def test_a_time_skipped_by_spring_forward_fires_once_after_the_gap() -> None:
    # 02:30 does not exist on 8 March in New York: cron runs the job once, at 03:30 EDT.
    assert local_times("30 2 * * *", "America/New_York", "2026-03-07", "2026-03-10") == [
        "Sat 02:30 EST",
        "Sun 03:30 EDT",
        "Mon 02:30 EDT",
    ]


def test_a_time_repeated_by_fall_back_fires_once_not_twice() -> None:
    # 01:30 happens twice on 1 November; APScheduler's own timezone handling fires twice.
    got = fires("30 1 * * *", "America/New_York", "2026-10-31", "2026-11-03")
    assert got == ["Sat 10-31 05:30Z", "Sun 11-01 05:30Z", "Mon 11-02 06:30Z"]


def test_half_hourly_schedule_has_each_real_moment_once_in_the_spring_gap() -> None:
    got = fires("*/30 * * * *", "America/New_York", "2026-03-08T06:00", "2026-03-08T08:00")
    assert got == ["Sun 03-08 06:30Z", "Sun 03-08 07:00Z", "Sun 03-08 07:30Z", "Sun 03-08 08:00Z"]
    assert len(set(got)) == len(got)


@pytest.mark.parametrize(
    ("zone", "spring", "fall"),
    [
        ("Europe/Berlin", "2026-03-29", "2026-10-25"),
        ("America/New_York", "2026-03-08", "2026-11-01"),
    ],
)
def test_shipped_digests_tile_time_without_gap_or_overlap_in_dst_weeks(
    zone: str, spring: str, fall: str
) -> None:
    rules = {r.id: r for r in load_rules(TESTS.parent / "rules").rules}
    for rule_id in ("daily-slack", "weekly-email"):
        spec = rules[rule_id].digest
        assert spec is not None
        schedule = Schedule(spec.schedule, zone)
        for change in (spring, fall):
            middle = at(change)
            moments = schedule.fires_between(
                middle - timedelta(days=15), middle + timedelta(days=15)
            )
            windows = [digest_window(schedule, spec.window, f, zone) for f in moments]
            for before, after in itertools.pairwise(windows):
                assert before.end == after.start, (rule_id, before, after)
            local_hours = {w.local(w.end).strftime("%H:%M") for w in windows}
            assert local_hours == {"08:00" if rule_id == "daily-slack" else "07:00"}


def test_daily_digest_on_monday_covers_the_weekend_and_on_tuesday_24_hours() -> None:
    rule = {r.id: r for r in load_rules(TESTS.parent / "rules").rules}["daily-slack"]
    assert rule.digest is not None
    schedule = Schedule(rule.digest.schedule, rule.digest.timezone)
    monday = schedule.latest_at_or_before(at("2026-11-23T15:00"))
    tuesday = schedule.latest_at_or_before(at("2026-11-24T15:00"))
    assert monday == at("2026-11-23T13:00") and tuesday == at("2026-11-24T13:00")
    assert digest_window(schedule, None, monday, "America/New_York").start == at("2026-11-20T13:00")
    assert digest_window(schedule, None, tuesday, "America/New_York").length == timedelta(hours=24)


def test_latest_fire_at_or_before_is_exact_at_the_fire_time() -> None:
    schedule = Schedule("0 8 * * mon-fri", "America/New_York")
    assert schedule.latest_at_or_before(at("2026-03-09T12:00")) == at("2026-03-09T12:00")
    assert schedule.latest_at_or_before(at("2026-03-09T11:59:59")) == at("2026-03-06T13:00")
    assert schedule.next_after(at("2026-03-09T12:00")) == at("2026-03-10T12:00")


def test_the_daemon_trigger_fires_at_the_wall_clock_times_and_follows_rule_edits(
    tmp_path: Path,
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from signals.digest_jobs import DigestJobs, wall_clock_trigger

    trigger = wall_clock_trigger(Schedule("0 8 * * mon-fri", "America/New_York"))
    assert trigger.get_next_fire_time(None, at("2026-03-06T13:00:00.5")) == at("2026-03-09T12:00")
    assert trigger.get_next_fire_time(at("2026-03-09T12:00"), at("2026-03-09T12:00:01")) == at(
        "2026-03-10T12:00"
    )

    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(TESTS.parent / "rules" / "daily-slack.toml", folder / "daily-slack.toml")
    jobs = DigestJobs(lambda: None, tmp_path / "archive.db", folder)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        jobs.sync(scheduler, jobs.digest_rules(None))
        assert [j.id for j in scheduler.get_jobs()] == ["digest:daily-slack"]
        edited = (
            (folder / "daily-slack.toml").read_text().replace('"0 8 * * mon-fri"', '"30 6 * * *"')
        )
        (folder / "daily-slack.toml").write_text(edited)
        jobs.sync(scheduler, jobs.digest_rules(None))
        [job] = scheduler.get_jobs()
        assert str(job.trigger) == "cron[30 6 * * * America/New_York]"
        (folder / "daily-slack.toml").unlink()
        jobs.sync(scheduler, jobs.digest_rules(None))
        assert scheduler.get_jobs() == []
    finally:
        scheduler.shutdown(wait=False)
