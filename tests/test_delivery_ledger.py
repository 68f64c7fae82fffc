"""The deliveries ledger and the daemon's retries: bounded waits, durable records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from signals.delivery import BACKOFF_MAX, backoff
from signals.dispatch import Dispatcher
from signals.rules import load_rules
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
