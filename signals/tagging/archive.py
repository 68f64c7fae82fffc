"""Write tagging results to the archive: ``item_tags``, ``entities``, tagger ``facts``.

Re-tagging an item replaces everything the tagger wrote for it and nothing else: facts
a source stated itself (``origin = 'source'``, e.g. the Federal Register's effective
date) stay, and the tagger does not write a second copy of a fact the source already
gave. ``tagged_items`` remembers which taxonomy version tagged each item, so
``signals tag`` can find the items never tagged. The caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlite_utils

from signals.tagging.tagger import Tagged

METHOD = "rules"


def store_tagged(
    db: sqlite_utils.Database,
    results: Sequence[tuple[str, Tagged]],
    taxonomy: str,
    now: str,
) -> None:
    """Replace the tagger's rows for each ``(item_id, result)``; one executemany per table."""
    if not results:
        return
    ids = [item_id for item_id, _ in results]
    source_facts = _source_facts(db, ids)
    conn = db.conn
    for table, extra in (("item_tags", ""), ("entities", ""), ("facts", " AND origin = 'tagger'")):
        conn.executemany(f"DELETE FROM {table} WHERE item_id = ?{extra}", [(i,) for i in ids])
    tags, entities, facts = [], [], []
    for item_id, tagged in results:
        for category in tagged.categories:
            evidence = json.dumps(tagged.evidence.get(category, []), ensure_ascii=False)
            tags.append((item_id, category, tagged.scores[category], METHOD, evidence))
        for mention in tagged.entities:
            entities.append(
                (
                    item_id,
                    mention.label,
                    mention.text,
                    mention.start,
                    mention.end,
                    mention.entity_id,
                )
            )
        for fact in tagged.facts:
            if (item_id, fact.kind, fact.text) not in source_facts:
                facts.append((item_id, fact.kind, fact.value, fact.unit, fact.text))
    conn.executemany(
        "INSERT INTO item_tags (item_id, category, score, method, evidence) VALUES (?, ?, ?, ?, ?)",
        tags,
    )
    conn.executemany(
        'INSERT INTO entities (item_id, label, text, start, "end", entity_id)'
        " VALUES (?, ?, ?, ?, ?, ?)",
        entities,
    )
    conn.executemany(
        "INSERT INTO facts (item_id, kind, value, unit, text, origin)"
        " VALUES (?, ?, ?, ?, ?, 'tagger')",
        facts,
    )
    conn.executemany(
        "INSERT INTO tagged_items (item_id, taxonomy, tagged_at) VALUES (?, ?, ?)"
        " ON CONFLICT(item_id) DO UPDATE SET taxonomy = excluded.taxonomy,"
        " tagged_at = excluded.tagged_at",
        [(item_id, taxonomy, now) for item_id in ids],
    )


def _source_facts(db: sqlite_utils.Database, ids: Sequence[str]) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = db.execute(
            "SELECT item_id, kind, text FROM facts"
            f" WHERE origin = 'source' AND item_id IN ({marks})",
            chunk,
        ).fetchall()
        found.update((row[0], row[1], row[2]) for row in rows)
    return found
