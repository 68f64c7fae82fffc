"""One cycle of the service: poll what is due, then act on what changed.

Both ``signals run`` (every tick) and ``signals fetch`` go through here, so a manual poll
tags and stores exactly like the daemon does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlite_utils

from signals.config import Config, Source
from signals.poll import Enricher, PollReport, poll_sources
from signals.store import StoredItem

log = logging.getLogger(__name__)

DEFAULT_RULES_DIR = Path("rules")


def build_enrichers(config: Config, rules_dir: Path) -> list[Enricher]:
    """What runs on new and changed items inside the store transaction, in order.

    Each enricher gets the archive, the items this poll inserted or changed, and the
    source; it writes its own tables (tags, entities, facts, stories) in the same
    transaction as the items, so a killed process never leaves items without them. The
    tagger goes first (stories and rules read its tags); with no ``categories.toml`` in
    the rules folder items are stored untagged.
    """
    from signals.stories import assign_stories
    from signals.tagging.enricher import tagging_enricher

    enrichers: list[Enricher] = []
    tagger = tagging_enricher(rules_dir)
    if tagger is not None:
        enrichers.append(tagger)
    enrichers.append(assign_stories)  # last: groups items once they are tagged
    return enrichers


def compose(enrichers: Sequence[Enricher]) -> Enricher | None:
    if not enrichers:
        return None

    def enrich(db: sqlite_utils.Database, stored: Sequence[StoredItem], source: Source) -> None:
        for enricher in enrichers:
            enricher(db, stored, source)

    return enrich


def run_poll(
    config: Config,
    db: sqlite_utils.Database,
    source_ids: Sequence[str] | None = None,
    *,
    due_only: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_report: Callable[[PollReport], None] | None = None,
    stop: threading.Event | None = None,
    rules_dir: Path = DEFAULT_RULES_DIR,
) -> list[PollReport]:
    """Poll sources with the configured enrichment."""
    return poll_sources(
        config,
        db,
        source_ids,
        due_only=due_only,
        enrich=compose(build_enrichers(config, rules_dir)),
        on_start=on_start,
        on_report=on_report,
        stop=stop,
    )


def run_cycle(
    config: Config,
    db: sqlite_utils.Database,
    *,
    on_start: Callable[[int], None] | None = None,
    on_report: Callable[[PollReport], None] | None = None,
    stop: threading.Event | None = None,
    rules_dir: Path = DEFAULT_RULES_DIR,
) -> list[PollReport]:
    """Poll every due source, then send the immediate alerts for what arrived."""
    reports = run_poll(
        config,
        db,
        due_only=True,
        on_start=on_start,
        on_report=on_report,
        stop=stop,
        rules_dir=rules_dir,
    )
    if stop is None or not stop.is_set():
        from signals.alerts import run_alerts

        try:  # alerts read what the archive stored since their last look, not only `reports`
            run_alerts(config, db, rules_dir)
        except Exception:  # polling must go on even if alerting is broken
            log.exception("alerts failed; polling goes on")
    return reports
