"""Retention: delete items older than ``keep_items_for``, with everything that hangs off them.

An item goes when it was both first seen (``fetched_at``) and published (``published_at``)
before the cutoff. First seen matters: an old document a source still lists, deleted
because of its publication date alone, would come back as new at the next poll and be
deleted again the next day. With it, a document that comes back stays another full term.

What goes with an item: its tags, entities, facts and item_sources rows (ON DELETE
CASCADE, with ``PRAGMA foreign_keys=ON`` set by ``open_archive``), its full-text row
(the FTS delete trigger), its ``story_keys`` rows (by publication day), and any story
left without items. What stays: the ``deliveries`` ledger (it names items only inside
its JSON ``item_ids``), fetch records and sources. Items listed by a delivery that is
not marked sent are kept until it is, so a retried digest can still load them.

Deletes run in batches, each its own short transaction, so a daemon polling at the same
time waits for one batch at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from signals.archive import write_transaction
from signals.logs import event
from signals.stories import day_of
from signals.times import to_utc_iso

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class PruneReport:
    cutoff: str
    items: int = 0
    stories: int = 0
    kept_for_deliveries: int = 0
    dry_run: bool = False


def _eligible(where_extra: str = "") -> str:
    return (
        "FROM items WHERE fetched_at < :cutoff AND published_at < :cutoff"
        " AND id NOT IN (SELECT j.value FROM deliveries d, json_each(d.item_ids) j"
        " WHERE d.status != 'sent' AND json_valid(d.item_ids))" + where_extra
    )


def _drop_story_keys(
    db: sqlite_utils.Database, before_day: int, should_stop: Callable[[], bool] | None
) -> None:
    """The candidate index of days no new item can match any more, a day per transaction."""
    while should_stop is None or not should_stop():
        with write_transaction(db):
            day = db.execute(
                "SELECT min(day) FROM story_keys WHERE day < ?", [before_day]
            ).fetchone()[0]
            if day is None:
                return
            db.execute("DELETE FROM story_keys WHERE day = ?", [day])


def prune(
    db: sqlite_utils.Database,
    keep_for: timedelta,
    now: datetime,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PruneReport:
    """Delete what retention says is too old; ``dry_run`` only counts it."""
    cutoff = to_utc_iso(now - keep_for)
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    params = {"cutoff": cutoff}
    total = db.execute(f"SELECT count(*) {_eligible()}", params).fetchone()[0]
    old = db.execute(
        "SELECT count(*) FROM items WHERE fetched_at < :cutoff AND published_at < :cutoff", params
    ).fetchone()[0]
    report.kept_for_deliveries = old - total
    if on_start:
        on_start(total)
    if dry_run:
        report.items = total
        report.stories = db.execute(
            "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM items i"
            f" WHERE i.story_id = s.id AND i.id NOT IN (SELECT id {_eligible()}))",
            params,
        ).fetchone()[0]
        return report
    while should_stop is None or not should_stop():
        with write_transaction(db):
            rows = db.execute(
                f"SELECT id, story_id {_eligible()} LIMIT :batch", {**params, "batch": batch}
            ).fetchall()
            if not rows:
                break
            ids = [row[0] for row in rows]
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM items WHERE id IN ({marks})", ids)
            stories = sorted({row[1] for row in rows if row[1] is not None})
            if stories:
                marks = ",".join("?" * len(stories))
                report.stories += db.execute(
                    f"DELETE FROM stories WHERE id IN ({marks}) AND NOT EXISTS"
                    " (SELECT 1 FROM items WHERE items.story_id = stories.id)",
                    stories,
                ).rowcount
        report.items += len(ids)
        if on_progress:
            on_progress(len(ids))
    _drop_story_keys(db, day_of(cutoff), should_stop)
    event(log, "prune", items=report.items, stories=report.stories, cutoff=cutoff)
    return report


def apply_retention(
    db: sqlite_utils.Database,
    keep_for: timedelta | None,
    now: datetime,
    should_stop: Callable[[], bool] | None = None,
) -> PruneReport | None:
    """What the daemon and ``run --once`` call: prune if ``keep_items_for`` is set."""
    if keep_for is None:
        return None
    return prune(db, keep_for, now, should_stop=should_stop)
