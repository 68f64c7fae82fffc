"""Story grouping and housekeeping over a synthetic archive (default 100k items, one year).

Prints JSON lines. The archive mixes one-source news, events retold by a second or third
source under reworded titles, and look-alike series that must stay apart (daily updates
differing by date, quarterly results differing by quarter). Measured, each beside its
floor from the same run:

* ``stories_rebuild``: ``signals stories --rebuild`` items/s over the whole archive;
  floor: computing the fingerprints alone (no SQLite);
* ``stories_poll``: the enricher on a poll of new items against the full archive;
  ms per item, and the candidate lookup's share;
* ``story_keys_size``: bytes per item of the candidate index;
* ``stories_quality``: pairs grouped that should be (recall) and should not (false joins);
* ``prune``: items/s deleted with cascades and FTS; floor: a bare DELETE of the same
  number of rows from a table without triggers or foreign keys;
* ``backup`` and ``vacuum``: MB/s.

Run: ``python bench/stories.py [--items 100000]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signals.archive import open_archive, write_transaction  # noqa: E402
from signals.maintenance import backup, vacuum  # noqa: E402
from signals.retention import prune  # noqa: E402
from signals.stories import StoryIndex, rebuild  # noqa: E402
from signals.storyprint import key_groups, make_print  # noqa: E402
from signals.times import to_utc_iso  # noqa: E402

END = datetime(2026, 11, 24, 13, tzinfo=UTC)
COMPANIES = [
    "Alibaba", "Nvidia", "Microsoft", "Oracle", "Nebius", "CoreWeave", "AMD", "Huawei",
    "Tencent", "Baidu", "Meta", "Google", "Amazon", "Equinix", "Digital Realty", "T-Head",
]  # fmt: skip
PLACES = ["Texas", "Mexico", "Singapore", "Frankfurt", "Jakarta", "Riyadh", "Tokyo", "Ohio"]
THINGS = ["GPU cluster", "data center campus", "cloud region", "AI factory", "inference fleet"]
VERBS = [
    ("signs", "inks"),
    ("opens", "launches"),
    ("plans", "unveils plan for"),
    ("buys", "acquires"),
]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def events(count: int, rng: random.Random) -> list[tuple[str, list[tuple[str, str]], datetime]]:
    """(event key, [(source, title)], when): retold events and look-alike series."""
    out = []
    reported: set[tuple[str, int, int]] = set()
    for n in range(count):
        when = END - timedelta(days=365) * rng.random()
        company, place, thing = rng.choice(COMPANIES), rng.choice(PLACES), rng.choice(THINGS)
        verb, other_verb = rng.choice(VERBS)
        amount = rng.choice([1, 2, 3, 5, 10, 15, 20, 40]) * rng.choice([1, 10, 100])
        kind = rng.random()
        if kind < 0.2:  # retold by more sources under other words
            titles = [
                ("wire", f"{company} {verb} ${amount} million {thing} deal in {place} (#{n:06d})"),
                ("news", f"{company} {other_verb} {place} {thing} in ${amount}m deal (#{n:06d})"),
            ]
            if rng.random() < 0.3:
                titles.append(
                    (
                        "blog",
                        f"Report: {company} {verb} {thing} deal in {place} worth ${amount} million (#{n:06d})",
                    )
                )
        elif kind < 0.3:  # a daily series: same words, another date
            title = f"{company} daily operations update for {MONTHS[when.month - 1]} {when.day}"
            out.append((title, [(f"ops-{company}", title)], when))  # one event per title
            continue
        elif kind < 0.35 and (company, when.year, (when.month - 1) // 3) not in reported:
            # quarterly results, once a quarter: same words, another quarter
            reported.add((company, when.year, (when.month - 1) // 3))
            title = f"{company} announces Q{(when.month - 1) // 3 + 1} {when.year} results"
            out.append((title, [(f"ir-{company}", title)], when))
            continue
        else:
            words = rng.sample(
                [
                    "record",
                    "capacity",
                    "chips",
                    "export",
                    "rules",
                    "model",
                    "benchmark",
                    "customers",
                    "revenue",
                    "margin",
                    "power",
                    "grid",
                    "cooling",
                    "fabric",
                ],
                4,
            )
            titles = [
                (
                    rng.choice(["wire", "news", "blog", "trade"]),
                    f"{company} {' '.join(words)} {place} #{n:06d}",
                )
            ]
        out.append((f"e{n}", titles, when))
    return out


def fill(db_path: Path, items: int, rng: random.Random) -> dict[str, str]:
    db = open_archive(db_path)
    rows, links, truth = [], [], {}
    n = 0
    for key, titles, when in events(items, rng):
        for offset, (source, title) in enumerate(titles):
            if n >= items:
                break
            seen = when + timedelta(hours=3 * offset)
            item_id = f"i{n:07d}"
            truth[item_id] = key
            rows.append(
                (
                    item_id,
                    source,
                    f"https://{source}.example.org/{n}",
                    title,
                    f"{title}. More about this from {source}.",
                    to_utc_iso(seen),
                    to_utc_iso(seen),
                )
            )
            links.append((item_id, source, f"guid:{n}", to_utc_iso(seen)))
            n += 1
        if n >= items:
            break
    sources = sorted({r[1] for r in rows})
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO sources (id, kind, url, every) VALUES (?, 'feed', ?, '30m')",
            [(s, f"https://{s}.example.org/feed") for s in sources],
        )
        db.conn.executemany(
            "INSERT INTO items (id, source_id, url, title, summary, published_at, fetched_at,"
            " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, 'h')",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO item_sources (item_id, source_id, entry_key, first_seen_at) VALUES (?, ?, ?, ?)",
            links,
        )
        db.conn.executemany(
            "INSERT INTO item_tags (item_id, category, score, method) VALUES (?, 'infrastructure', 0.5, 'rules')",
            [(r[0],) for r in rows],
        )
    db.close()
    return truth


def quality(db_path: Path, truth: dict[str, str]) -> None:
    db = sqlite3.connect(db_path)
    story = dict(db.execute("SELECT id, COALESCE(story_id, id) FROM items").fetchall())
    by_event: dict[str, list[str]] = {}
    for item, event in truth.items():
        by_event.setdefault(event, []).append(item)
    wanted = joined = 0
    for members in by_event.values():
        for a in members[1:]:
            wanted += 1
            joined += story[a] == story[members[0]]
    by_story: dict[str, list[str]] = {}
    for item, key in story.items():
        by_story.setdefault(key, []).append(item)
    false = sum(
        1 for members in by_story.values() for a in members[1:] if truth[a] != truth[members[0]]
    )
    emit(
        bench="stories_quality",
        pairs_to_join=wanted,
        joined=joined,
        recall=round(joined / max(wanted, 1), 3),
        false_joins=false,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--poll", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        truth = fill(path, args.items, rng)
        db = open_archive(path)
        texts = db.execute("SELECT title, substr(summary, 1, 400), url FROM items").fetchall()
        started = time.perf_counter()
        for title, summary, url in texts:
            make_print(title, summary, url)
        floor = len(texts) / (time.perf_counter() - started)
        report = rebuild(db)
        emit(
            bench="stories_rebuild",
            items=report.items,
            items_per_s=round(report.items / report.seconds),
            floor_fingerprints_per_s=round(floor),
            stories=report.stories,
            grouped=report.grouped,
        )
        quality(path, truth)
        pages = (
            db.execute("SELECT count(*) FROM dbstat WHERE name = 'story_keys'").fetchone()[0]
            if _has_dbstat(db)
            else None
        )
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        if pages is not None:
            emit(
                bench="story_keys_size",
                bytes_per_item=round(pages * page_size / report.items),
                rows_per_item=round(
                    db.execute("SELECT count(*) FROM story_keys").fetchone()[0] / report.items, 1
                ),
            )

        # a poll: the newest items again, as if just stored, against the full archive
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM items ORDER BY published_at DESC LIMIT ?", [args.poll]
            )
        ]
        with write_transaction(db):
            db.execute(
                f"UPDATE items SET story_id = NULL WHERE id IN ({','.join('?' * len(ids))})", ids
            )
            index = StoryIndex(db)
            entries = index.load(ids)
            started = time.perf_counter()
            lookup = 0.0
            for entry in entries:
                t = time.perf_counter()
                index.candidates(entry, *key_groups(entry.print))
                lookup += time.perf_counter() - t
                index.assign(entry)
            elapsed = time.perf_counter() - started
        emit(
            bench="stories_poll",
            items=len(entries),
            ms_per_item=round(1000 * elapsed / len(entries), 3),
            lookup_ms_per_item=round(1000 * lookup / len(entries), 3),
            items_per_s=round(len(entries) / elapsed),
            archive_items=report.items,
        )

        size = path.stat().st_size
        started = time.perf_counter()
        copy = backup(path, Path(tmp) / "copy.db")
        emit(
            bench="backup",
            mb=round(copy.bytes / 1e6, 1),
            mb_per_s=round(copy.bytes / 1e6 / (time.perf_counter() - started), 1),
        )
        (Path(tmp) / "copy.db").unlink()

        half = timedelta(days=183)
        started = time.perf_counter()
        pruned = prune(db, half, END)
        elapsed = time.perf_counter() - started
        bare = sqlite3.connect(Path(tmp) / "floor.db")
        bare.execute("CREATE TABLE t (id TEXT PRIMARY KEY, title TEXT, summary TEXT)")
        bare.executemany(
            "INSERT INTO t VALUES (?, ?, ?)", [(f"i{n}", t[0], t[1]) for n, t in enumerate(texts)]
        )
        bare.commit()
        t = time.perf_counter()
        bare.execute("DELETE FROM t WHERE rowid <= ?", [pruned.items])
        bare.commit()
        emit(
            bench="prune",
            items=pruned.items,
            items_per_s=round(pruned.items / elapsed),
            floor_bare_delete_per_s=round(pruned.items / (time.perf_counter() - t)),
            stories=pruned.stories,
        )
        db.close()
        started = time.perf_counter()
        result = vacuum(path)
        emit(
            bench="vacuum",
            mb_before=round(result.before / 1e6, 1),
            mb_after=round(result.after / 1e6, 1),
            seconds=round(time.perf_counter() - started, 2),
            file_mb_before_prune=round(size / 1e6, 1),
        )


def _has_dbstat(db: object) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1")  # type: ignore[attr-defined]
        return True
    except sqlite3.DatabaseError:
        return False


if __name__ == "__main__":
    main()
