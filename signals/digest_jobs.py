"""The daemon's digest side: one cron job per digest rule, catch-up at start, retries.

Each digest rule gets an APScheduler job on a ``WallClockCron`` trigger (the rule's cron
expression on its timezone's wall clock, see ``signals.rules.schedule``), so it fires
at 08:00 local time, not at the next poll tick. At start, and after every poll tick, the
daemon also asks the archive which of each rule's windows have not gone out and sends
them, oldest first: that is the catch-up after downtime (every missed window within the
rule's ``max_age``, at most ``CATCH_UP_LIMIT``; see ``Dispatcher.due_windows``) and the
retry of a failed send (with backoff). The ledger makes the three paths safe to overlap:
a window is claimed before it is sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signals.config import Config
from signals.logs import event
from signals.rules import Rule, Schedule, load_rules

if TYPE_CHECKING:
    from signals.dispatch import Outcome

log = logging.getLogger(__name__)


def wall_clock_trigger(schedule: Schedule) -> Any:
    """An APScheduler trigger that fires when ``schedule`` does (DST handled once, there)."""
    from apscheduler.triggers.base import BaseTrigger

    class WallClockCron(BaseTrigger):  # type: ignore[misc]
        def get_next_fire_time(
            self, previous_fire_time: datetime | None, now: datetime
        ) -> datetime | None:
            after = previous_fire_time or (now - timedelta(microseconds=1))
            return schedule.next_after(max(after, now - timedelta(microseconds=1)))

        def __str__(self) -> str:
            return f"cron[{schedule.expression} {schedule.timezone}]"

    return WallClockCron()


class DigestJobs:
    def __init__(self, load_config: Callable[[], Config | None], db_path: Path, rules_dir: Path):
        self.load_config = load_config
        self.db_path = db_path
        self.rules_dir = rules_dir
        self._jobs: dict[str, tuple[str, str]] = {}  # rule id -> (schedule, timezone)

    def digest_rules(self, config: Config | None) -> list[Rule]:
        from signals.alerts import report_problems

        known = {s.id for s in config.sources} if config is not None else None
        retention = config.settings.keep_items_for if config is not None else None
        rule_set = load_rules(self.rules_dir, known_sources=known, retention=retention)
        report_problems(rule_set)
        return [rule for rule in rule_set.rules if rule.is_digest]

    def sync(self, scheduler: Any, rules: Sequence[Rule]) -> None:
        """One job per digest rule; rules added, changed or removed since are followed."""
        wanted = {r.id: (r.digest.schedule, r.digest.timezone) for r in rules if r.digest}
        for rule_id in list(self._jobs):
            if wanted.get(rule_id) != self._jobs[rule_id]:
                scheduler.remove_job(f"digest:{rule_id}")
                del self._jobs[rule_id]
        for rule_id, (expression, timezone) in wanted.items():
            if rule_id in self._jobs:
                continue
            scheduler.add_job(
                self.run_due,
                wall_clock_trigger(Schedule(expression, timezone)),
                args=[[rule_id]],
                id=f"digest:{rule_id}",
                name=f"digest {rule_id}",
            )
            self._jobs[rule_id] = (expression, timezone)
            event(log, "digest_scheduled", rule=rule_id, schedule=expression, timezone=timezone)

    def refresh(self, scheduler: Any) -> None:
        """Follow rule changes, then catch up and retry (called at start and every tick)."""
        config = self.load_config()
        rules = self.digest_rules(config)
        self.sync(scheduler, rules)
        self._run(config, rules)

    def run_due(self, rule_ids: Sequence[str] | None = None) -> list[Outcome]:
        """Send what is due of these rules (all by default); returns what happened."""
        config = self.load_config()
        rules = [r for r in self.digest_rules(config) if rule_ids is None or r.id in rule_ids]
        return self._run(config, rules)

    def _run(self, config: Config | None, rules: Sequence[Rule]) -> list[Outcome]:
        from signals.archive import open_archive
        from signals.dispatch import Dispatcher

        outcomes: list[Outcome] = []
        if config is None or not rules:
            return outcomes
        db = open_archive(self.db_path)
        try:
            dispatcher = Dispatcher(
                db,
                env=os.environ,
                outbox=config.settings.outbox,
                timezone=config.settings.timezone,
            )
            for rule in rules:
                try:
                    outcomes += dispatcher.deliver_due(rule)
                except Exception:  # one rule's failure must not stop the other digests
                    log.exception("digest %s failed; will retry", rule.id)
        finally:
            db.close()
        return outcomes
