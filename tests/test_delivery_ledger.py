"""The deliveries ledger and the daemon's retries: bounded waits, durable records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from signals.delivery import BACKOFF_MAX, backoff
from signals.dispatch import Dispatcher, Outcome
from signals.rules import load_rules
from tests.archive_builder import ArchiveBuilder, utc
from tests.delivery_helpers import END, ledger_rows, setup_project, slack, slack_env
from tests.slackserver import FakeSlack

__all__ = ["slack"]


@pytest.mark.parametrize("attempts", [0, 1, 2, 6, 41, 42, 43, 64, 1000, 10**9])
def test_backoff_is_capped_and_never_overflows(attempts: int) -> None:
    wait = backoff(attempts)
    assert timedelta(minutes=1) <= wait <= BACKOFF_MAX
    if attempts >= 6:
        assert wait == BACKOFF_MAX


def test_a_digest_failing_a_thousand_times_is_still_retried_every_half_hour(
    tmp_path: Path, slack: FakeSlack
) -> None:
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    clock = [END + timedelta(minutes=5)]
    dispatcher = Dispatcher(
        builder.db, env=slack_env(slack), outbox=tmp_path / "outbox", clock=lambda: clock[0]
    )
    slack.fail_with = "channel_not_found"
    assert [o.status for o in dispatcher.deliver_due(rule)] == ["failed"]
    builder.db.execute("UPDATE deliveries SET attempts = 1000")
    builder.db.conn.commit()
    slack.fail_with = None
    clock[0] += timedelta(minutes=29)
    assert dispatcher.deliver_due(rule) == []  # still waiting, and no OverflowError
    clock[0] += timedelta(minutes=1)
    assert [o.status for o in dispatcher.deliver_due(rule)] == ["sent"]
    assert [(r["status"], r["attempts"]) for r in ledger_rows(builder)] == [("sent", 1001)]
    assert len(slack.messages) == 1


def _dispatcher(builder: ArchiveBuilder, slack: FakeSlack, tmp_path: Path) -> Dispatcher:
    return Dispatcher(builder.db, env=slack_env(slack), outbox=tmp_path / "outbox")


def _window_ends(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    return [(o.window.end_iso, o.status) for o in outcomes]


def test_after_downtime_every_missed_window_goes_out_oldest_first_so_no_item_is_lost(
    tmp_path: Path, slack: FakeSlack
) -> None:
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    dispatcher = _dispatcher(builder, slack, tmp_path)
    assert _window_ends(dispatcher.deliver_due(rule, END + timedelta(minutes=5))) == [
        ("2026-11-24T13:00:00Z", "sent")
    ]
    # The daemon is down from Tuesday to Friday; news keeps arriving (fetch from cron).
    wednesday = builder.item(
        "Equinix opens a 40 MW AI campus in Ashburn",
        source="dcd-news",
        first_seen="2026-11-25T03:00:00Z",
        tags={"infrastructure": 0.9},
    )
    thursday = builder.item(
        "Commerce tightens advanced computing rule",
        source="fr-bis",
        first_seen="2026-11-26T20:00:00Z",
        tags={"policy_shifts": 0.95},
    )
    builder.db.conn.commit()
    friday = utc("2026-11-27T15:00")  # Friday 10:00 in New York: the daemon starts
    caught_up = dispatcher.deliver_due(rule, friday)
    assert _window_ends(caught_up) == [
        ("2026-11-25T13:00:00Z", "sent"),
        ("2026-11-26T13:00:00Z", "sent"),
        ("2026-11-27T13:00:00Z", "sent"),
    ]
    told = [set(o.document.item_ids) for o in caught_up if o.document is not None]
    assert wednesday in told[0] and thursday in told[2]
    assert dispatcher.deliver_due(rule, friday + timedelta(minutes=10)) == []
    assert len(slack.messages) == 4


def test_catch_up_is_capped_and_a_new_rule_starts_with_its_latest_window(
    tmp_path: Path, slack: FakeSlack
) -> None:
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    dispatcher = _dispatcher(builder, slack, tmp_path)
    # No window of this rule was ever recorded: one digest, not one per day of the archive.
    assert len(dispatcher.deliver_due(rule, END + timedelta(minutes=5))) == 1
    # A month away: only the windows within the rule's max_age (7 days) are worth sending.
    later = END + timedelta(days=30, minutes=5)
    caught_up = dispatcher.deliver_due(rule, later)
    assert rule.max_age == timedelta(days=7)
    assert [o.status for o in caught_up] == ["sent"] * 5  # the five weekdays of the last week
    assert caught_up[0].window.end >= later - rule.max_age
    assert dispatcher.deliver_due(rule, later) == []


def test_an_older_failed_window_is_retried_after_a_newer_one_went_out(
    tmp_path: Path, slack: FakeSlack
) -> None:
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    clock = [END + timedelta(minutes=5)]
    dispatcher = Dispatcher(
        builder.db, env=slack_env(slack), outbox=tmp_path / "outbox", clock=lambda: clock[0]
    )
    slack.fail_with = "channel_not_found"
    assert [o.status for o in dispatcher.deliver_due(rule)] == ["failed"]
    slack.fail_with = None
    clock[0] = END + timedelta(days=1, minutes=5)  # Wednesday's digest is due
    assert _window_ends(dispatcher.deliver_due(rule)) == [
        ("2026-11-24T13:00:00Z", "sent"),
        ("2026-11-25T13:00:00Z", "sent"),
    ]


def test_a_frequent_schedule_catches_up_at_most_the_newest_windows(tmp_path: Path) -> None:
    from signals.dispatch import CATCH_UP_LIMIT

    _, builder, folder = setup_project(tmp_path, ())
    (folder / "hourly.toml").write_text(
        'action = "digest"\n[digest]\nschedule = "0 * * * *"\ntimezone = "UTC"\n'
        'window = "1h"\n[notify.outbox]\n'
    )
    [rule] = load_rules(folder).rules
    dispatcher = Dispatcher(builder.db, env={}, outbox=tmp_path / "outbox")
    assert len(dispatcher.deliver_due(rule, END)) == 1
    later = END + timedelta(days=1, minutes=1)  # a day down: 24 windows missed
    caught_up = dispatcher.deliver_due(rule, later)
    assert len(caught_up) == CATCH_UP_LIMIT
    assert caught_up[-1].window.end == END + timedelta(days=1)
    assert dispatcher.deliver_due(rule, later) == []


def test_ledger_commits_are_synced_to_disk_and_the_archive_setting_restored(
    tmp_path: Path,
) -> None:
    from signals.archive import open_archive
    from signals.delivery import Claimed, Ledger, LedgerKey

    db = open_archive(tmp_path / "archive.db")
    before = db.execute("PRAGMA synchronous").fetchone()[0]
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    ledger = Ledger(db)
    key = LedgerKey("r", "outbox", "2026-11-23T13:00:00Z", "2026-11-24T13:00:00Z")
    claim = ledger.claim(key, now=END, transport="outbox")
    assert isinstance(claim, Claimed)
    claim.attempt.checkpoint(parts=1)
    ledger.mark_sent(claim.attempt, "x", END)
    db.conn.set_trace_callback(None)
    commits = [i for i, s in enumerate(statements) if s == "COMMIT"]
    assert len(commits) == 3
    for index in commits:
        setting = [s for s in statements[:index] if s.startswith("PRAGMA synchronous =")][-1]
        assert setting == "PRAGMA synchronous = FULL"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == before


def test_outbox_files_are_on_disk_before_the_window_is_recorded_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    _, builder, folder = setup_project(tmp_path, ())
    (folder / "daily.toml").write_text(
        'action = "digest"\n[digest]\nschedule = "0 8 * * *"\ntimezone = "UTC"\n[notify.outbox]\n'
    )
    [rule] = load_rules(folder).rules
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    dispatcher = Dispatcher(builder.db, env={}, outbox=tmp_path / "outbox")
    [outcome] = dispatcher.deliver_due(rule, END)
    assert outcome.status == "sent" and outcome.external_id is not None
    assert outcome.external_id + ".tmp" in synced  # the content, before the rename
    assert str(Path(outcome.external_id).parent) in synced  # the rename itself


def test_a_send_that_cannot_be_recorded_stops_everything_after_it(
    tmp_path: Path, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from signals.delivery import Ledger
    from signals.errors import SignalsError

    _, builder, folder = setup_project(tmp_path)
    rule_file = folder / "daily-slack.toml"
    rule_file.write_text(rule_file.read_text() + "[notify.outbox]\n")
    [rule] = load_rules(folder).rules
    assert rule.channels == ("slack", "outbox")

    def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Ledger, "mark_sent", locked)
    dispatcher = _dispatcher(builder, slack, tmp_path)
    with pytest.raises(SignalsError) as caught:
        dispatcher.deliver_due(rule, END + timedelta(minutes=5))
    assert "but the archive could not record it (database is locked)" in str(caught.value)
    assert len(slack.messages) == 1 and not (tmp_path / "outbox").exists()
    [row] = ledger_rows(builder)
    assert (row["channel"], row["status"]) == ("slack", "pending")  # maybe sent: guard first


def test_a_story_told_in_one_digest_is_not_repeated_in_the_next(tmp_path: Path) -> None:
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    dispatcher = Dispatcher(builder.db, env={}, outbox=tmp_path / "outbox")
    monday = builder.item(
        "Microsoft books 2 GW of capacity with Nebius",
        source="dcd-news",
        first_seen=END - timedelta(hours=3),
        tags={"customer_traction": 0.9},
    )
    builder.db.conn.commit()
    [first] = dispatcher.deliver_due(rule, END + timedelta(minutes=5))
    assert first.document is not None and monday in first.document.item_ids
    # Tuesday: a second source reports the same deal (same story), and something new.
    follow_up = builder.item(
        "Nebius confirms the Microsoft capacity deal",
        source="reuters",
        first_seen=END + timedelta(hours=3),
        tags={"customer_traction": 0.9},
        story="s-nebius",
    )
    builder.db.execute("UPDATE items SET story_id = 's-nebius' WHERE id = ?", [monday])
    fresh = builder.item(
        "CoreWeave signs a new hyperscaler customer",
        source="dcd-news",
        first_seen=END + timedelta(hours=4),
        tags={"customer_traction": 0.9},
    )
    builder.db.conn.commit()
    [second] = dispatcher.deliver_due(rule, END + timedelta(days=1, minutes=5))
    assert second.document is not None
    assert fresh in second.document.item_ids and follow_up not in second.document.item_ids
    # The same holds whoever builds that window again (a dry run, rules test).
    again = dispatcher.digest(rule, second.window)
    assert again.item_ids == second.document.item_ids


def test_an_internal_error_never_logs_a_secret(
    tmp_path: Path,
    slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    import signals.digest.slack
    from tests.slackserver import TOKEN

    def broken(document: object) -> list[object]:
        raise RuntimeError(f"bug while rendering with token={TOKEN}")

    monkeypatch.setattr(signals.digest.slack, "render_slack", broken)
    _, builder, folder = setup_project(tmp_path)
    [rule] = load_rules(folder).rules
    with caplog.at_level(logging.DEBUG):
        [outcome] = _dispatcher(builder, slack, tmp_path).deliver_due(rule, END)
    assert outcome.status == "failed" and "internal error: RuntimeError" in outcome.message
    logged = "\n".join(
        r.getMessage()
        + (caplog.handler.formatter or logging.Formatter()).formatException(r.exc_info)
        if r.exc_info
        else r.getMessage()
        for r in caplog.records
    )
    assert "RuntimeError" in logged and "Traceback" in logged  # still debuggable
    assert TOKEN not in logged and TOKEN not in outcome.message
    [row] = ledger_rows(builder)
    assert TOKEN not in (row["error"] or "")
