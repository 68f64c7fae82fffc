"""Helpers shared by the rule commands (imported only when one of them runs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signals.cli import App
    from signals.config import Config
    from signals.rules import RuleSet


def load_rule_set(app: App, config: Config | None) -> RuleSet:
    """The rules folder, with source ids checked against sources.toml when it loaded."""
    from signals.rules import load_rules

    known = {s.id for s in config.sources} if config is not None else None
    retention = config.settings.keep_items_for if config is not None else None
    return load_rules(app.rules_path, known_sources=known, required=True, retention=retention)


def parse_now(text: str | None) -> datetime:
    from signals.errors import UsageError
    from signals.times import parse_utc_iso, utcnow

    if not text:
        return utcnow()
    try:
        return parse_utc_iso(text)
    except ValueError:
        raise UsageError(
            f"--now: expected an ISO 8601 time such as 2026-11-24T13:05:00Z, got {text!r}"
        ) from None
