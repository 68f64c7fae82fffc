"""Digest and alert benchmark over a synthetic archive (default 100k items, 24 sources).

Prints JSON lines. Floors measured in the same run: the bare SQL that reads the window's
items (``SELECT ... WHERE fetched_at`` over the same rows) for the load, and
``json.dumps`` of the same number of lines for rendering.
Run: ``python bench/digest.py [--items 100000] [--window-items 2000]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signals.archive import open_archive  # noqa: E402
from signals.digest.build import build_digest  # noqa: E402
from signals.digest.render import render_html, render_text  # noqa: E402
from signals.digest.slack import render_slack  # noqa: E402
from signals.dispatch import Dispatcher  # noqa: E402
from signals.model import CATEGORY_IDS  # noqa: E402
from signals.rules import Window, load_rules  # noqa: E402
from signals.snapshot import load_items, load_sources  # noqa: E402
from signals.times import to_utc_iso  # noqa: E402

END = datetime(2026, 11, 24, 13, tzinfo=UTC)
WORDS = [
    *("export", "controls", "entity", "list", "advanced", "computing", "data", "center"),
    *("capacity", "cluster", "accelerator", "benchmark", "inference", "model", "release"),
    *("revenue", "capex", "cloud", "region", "customer", "contract"),
]


def emit(**fields: object) -> None:
    print(json.dumps(fields))


def fill(db_path: Path, items: int, window_items: int, rng: random.Random) -> None:
    db = open_archive(db_path)
    sources = [f"src-{n:02d}" for n in range(24)]
    db.conn.executemany(
        "INSERT INTO sources (id, name, kind, url, every, enabled, last_status)"
        " VALUES (?, ?, 'feed', ?, '30m', 1, 'ok')",
        [(s, s.upper(), f"https://example.org/{s}") for s in sources],
    )
    span = timedelta(days=365)
    rows, links, tags = [], [], []
    for n in range(items):
        recent = n >= items - window_items
        age = timedelta(hours=24) * rng.random()
        seen = END - (age if recent else timedelta(days=1) + span * rng.random())
        source = rng.choice(sources)
        item_id = f"i{n:07d}"
        title = " ".join(rng.choice(WORDS) for _ in range(10))
        summary = " ".join(rng.choice(WORDS) for _ in range(40))
        published, story = (
            to_utc_iso(seen - timedelta(minutes=30)),
            f"st{n // 3}" if n % 5 == 0 else None,
        )
        rows.append(
            (
                item_id,
                source,
                f"https://ex.org/{n}",
                title,
                summary,
                published,
                to_utc_iso(seen),
                "h",
                story,
            )
        )
        links.append((item_id, source, f"guid:{n}", to_utc_iso(seen)))
        for category in rng.sample(CATEGORY_IDS, 2):
            evidence = json.dumps([rng.choice(WORDS), rng.choice(WORDS)])
            tags.append((item_id, category, round(rng.random(), 3), "rules", evidence))
    stories = {(r[8], to_utc_iso(END)) for r in rows if r[8]}
    db.conn.executemany(
        "INSERT INTO stories (id, title, first_seen_at, updated_at) VALUES (?, 't', ?, ?)",
        [(s, t, t) for s, t in stories],
    )
    db.conn.executemany(
        "INSERT INTO items (id, source_id, url, title, summary, published_at, fetched_at,"
        " content_hash, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.conn.executemany("INSERT INTO item_sources VALUES (?, ?, ?, ?)", links)
    db.conn.executemany("INSERT INTO item_tags VALUES (?, ?, ?, ?, ?)", tags)
    db.conn.execute(
        "INSERT INTO fetches (source_id, started_at, outcome) VALUES ('src-00', ?, 'ok')",
        [to_utc_iso(END - span * 2)],
    )
    db.conn.commit()
    db.close()


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--window-items", type=int, default=2_000)
    args = parser.parse_args()
    rule = {r.id: r for r in load_rules(ROOT / "rules").rules}["daily-slack"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        fill(path, args.items, args.window_items, random.Random(5))
        db = open_archive(path)
        window = Window(END - timedelta(days=1), END, "America/New_York")
        sql = "SELECT id, title, summary, body FROM items WHERE fetched_at >= ? AND fetched_at < ?"
        floor_s, _ = timed(lambda: db.execute(sql, [window.start_iso, window.end_iso]).fetchall())
        load_s, items = timed(lambda: load_items(db, window.start, window.end))
        sources_s, sources = timed(lambda: load_sources(db))
        build_s, digest = timed(lambda: build_digest(rule, window, items, sources=sources))
        lines = [line for s in digest.sections for line in s.lines]
        render_floor_s, _ = timed(lambda: json.dumps([line.title for line in lines]))
        text_s, _ = timed(lambda: render_text(digest))
        html_s, _ = timed(lambda: render_html(digest))
        slack_s, _ = timed(lambda: render_slack(digest))
        full_s, _ = timed(lambda: Dispatcher(db, env={}, outbox=Path(tmp)).digest(rule, window))
        ms = lambda seconds: round(seconds * 1000, 2)  # noqa: E731
        emit(
            bench="digest_load",
            archive_items=args.items,
            window_items=len(items),
            load_items_ms=ms(load_s),
            floor_sql_ms=ms(floor_s),
        )
        emit(bench="digest_sources", sources=len(sources), load_sources_ms=ms(sources_s))
        emit(bench="digest_build", stories=digest.stories, build_ms=ms(build_s))
        emit(
            bench="digest_render",
            lines=len(lines),
            text_ms=ms(text_s),
            html_ms=ms(html_s),
            slack_ms=ms(slack_s),
            floor_json_ms=ms(render_floor_s),
        )
        emit(bench="digest_end_to_end", ms=ms(full_s))
        alert = {r.id: r for r in load_rules(ROOT / "rules").rules}["export-controls-alert"]
        dispatcher = Dispatcher(db, env={}, outbox=Path(tmp))
        tick = Window(END - timedelta(minutes=1), END)
        alert_s, _ = timed(lambda: dispatcher.evaluate(alert, tick, END))
        emit(bench="alert_tick", evaluate_ms=ms(alert_s))


if __name__ == "__main__":
    main()
