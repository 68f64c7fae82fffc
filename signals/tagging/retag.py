"""Re-tag archived items after the taxonomy changed, in batches of one transaction each.

Each batch reads its items, tags them and writes the results in one write transaction,
so an interrupted run keeps every finished batch and can simply be started again (items
already tagged are skipped unless ``everything``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlite_utils

from signals.archive import write_transaction
from signals.tagging.archive import store_tagged
from signals.tagging.tagger import Tagger, TagInput
from signals.times import to_utc_iso, utcnow


def _where(everything: bool, since: datetime | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if not everything:
        clauses.append("i.id NOT IN (SELECT item_id FROM tagged_items)")
    if since is not None:
        clauses.append("i.published_at >= ?")
        params.append(to_utc_iso(since))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_items(db: sqlite_utils.Database, everything: bool, since: datetime | None) -> int:
    where, params = _where(everything, since)
    row = db.execute(f"SELECT count(*) FROM items i{where}", params).fetchone()
    return int(row[0])


def _batches(
    db: sqlite_utils.Database, everything: bool, since: datetime | None, size: int
) -> Iterator[list[tuple[str, TagInput]]]:
    where, params = _where(everything, since)
    last = ""
    joiner = " AND " if where else " WHERE "
    while True:
        rows = db.execute(
            "SELECT i.id, i.title, i.summary, i.body, i.url, s.kind, s.hint"
            f" FROM items i LEFT JOIN sources s ON s.id = i.source_id{where}{joiner}i.id > ?"
            " ORDER BY i.id LIMIT ?",
            [*params, last, size],
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield [
            (
                row[0],
                TagInput(
                    title=row[1] or "",
                    summary=row[2] or "",
                    body=row[3] or "",
                    url=row[4],
                    source_kind=row[5],
                    hints=tuple(json.loads(row[6])) if row[6] else (),
                ),
            )
            for row in rows
        ]


def retag(
    db: sqlite_utils.Database,
    tagger: Tagger,
    *,
    everything: bool = False,
    since: datetime | None = None,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Tag the selected items; return how many. ``on_batch`` gets each batch's size."""
    from signals.tagging.enricher import tagger_for

    done = 0
    # Batches are keyed on item id, so re-tagged items (now in tagged_items) never shift
    # the next page, with or without ``everything``.
    for batch in _batches(db, everything, since, batch_size):
        tagger = tagger_for(tagger.taxonomy)  # renewed when its vocabulary has grown large
        results = tagger.tag(item for _, item in batch)
        pairs = [(item_id, result) for (item_id, _), result in zip(batch, results, strict=True)]
        with write_transaction(db):
            store_tagged(db, pairs, tagger.taxonomy.digest, to_utc_iso(utcnow()))
        done += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return done
