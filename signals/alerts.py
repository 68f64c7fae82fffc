"""Immediate alerts, evaluated after every poll (``run_cycle``).

Each alert rule looks at what arrived since it last looked (its mark in ``rule_marks``),
so an item stored by a poll that crashed before alerting, or by a manual ``signals
fetch``, is still seen by the next cycle, and nothing is looked at twice. One broken
rule (or a failing Slack) never stops the others, nor the polling.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import sqlite_utils

from signals.config import Config
from signals.dispatch import Dispatcher, Outcome
from signals.logs import event
from signals.rules import RuleSet, load_rules

log = logging.getLogger(__name__)

_reported: tuple[str, ...] = ()


def report_problems(rule_set: RuleSet) -> None:
    """Log rule file problems once per change, not on every tick."""
    global _reported
    if rule_set.problems != _reported:
        for problem in rule_set.problems:
            event(log, "rule_invalid", logging.ERROR, problem=problem)
        _reported = rule_set.problems


def run_alerts(
    config: Config,
    db: sqlite_utils.Database,
    rules_dir: Path,
    *,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> list[Outcome]:
    """Evaluate and send every alert rule of ``rules_dir``; returns what happened."""
    rule_set = load_rules(
        rules_dir,
        known_sources={s.id for s in config.sources},
        retention=config.settings.keep_items_for,
    )
    report_problems(rule_set)
    alerts = [rule for rule in rule_set.rules if not rule.is_digest]
    if not alerts:
        return []
    dispatcher = Dispatcher(
        db,
        env=os.environ if env is None else env,
        outbox=config.settings.outbox,
        timezone=config.settings.timezone,
    )
    outcomes: list[Outcome] = []
    for rule in alerts:
        try:
            outcomes += dispatcher.run_alert(rule, now)
        except Exception:  # one rule's bug must not cost the other rules their alerts
            log.exception("alert rule %s failed; the other rules go on", rule.id)
    return outcomes
