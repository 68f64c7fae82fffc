"""Archive size and query speed at 100k and 1M realistic items (issue 6 targets).

Builds archives with the package's own schema (migrations, FTS5 triggers, views) and
realistic rows: titles from news-like templates with real company, chip and regulator
names; summaries and bodies drawn from the word frequencies of the real recorded feeds
in ../shared/fixtures/real (a built-in vocabulary when they are absent); tags,
entities, facts, stories and extra carrying sources in the proportions a year of polling
gives. Rows go in with the store's INSERT in batches of 1,000 per transaction: the first
20,000 with the FTS triggers firing, as in a poll; the rest in bulk (triggers dropped,
the FTS index rebuilt once, the triggers restored), as an import would.

Prints JSON lines:
- ``insert``: items/s with everything (tags, entities, facts, indexes) on the poll path
  (FTS triggers) and in bulk (FTS rebuild included), beside the floor: a bare
  ``executemany`` of the same item rows into a table without indexes.
- ``size``: file bytes per item (tables, indexes and FTS, after a checkpoint) and the
  bytes of each part (dbstat), target < 4096.
- ``fts_query``: p50/p95 ms of ``signals query`` searches (signals.search.search, ranked,
  highlighted, with filters), target p50 < 20 ms and p95 < 100 ms at 1M; beside it the
  unbounded ``ORDER BY bm25`` over all matches of the same texts, and the floor, a bare
  MATCH in rowid order.
- ``listing``: newest-first listings with filters and no text.
- ``example``: each docs/archive.md example query (median of 3 runs).

Run: ``python bench/query.py [--sizes 100000,1000000] [--queries 200] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signals.archive import open_archive  # noqa: E402
from signals.archive_schema import EXAMPLES  # noqa: E402
from signals.model import CATEGORY_IDS  # noqa: E402
from signals.normalize import short_hash  # noqa: E402
from signals.search import WEIGHTS, Filters, search, tune_for_reading  # noqa: E402
from signals.times import to_utc_iso  # noqa: E402

REAL = ROOT.parent / "shared" / "fixtures" / "real"
NOW = datetime.now(UTC).replace(microsecond=0)
#: The first items go in as a poll stores them (FTS triggers firing); the rest in bulk.
POLL_PATH_ITEMS = 20_000
#: Results per search: signals query's default.
LIMIT = 20
SPAN_DAYS = 3 * 365

ORGS = [
    *("Alibaba", "Alibaba Cloud", "Microsoft", "Amazon", "AWS", "Google", "Meta", "Oracle"),
    *("Nvidia", "AMD", "Intel", "TSMC", "Samsung", "SK Hynix", "Huawei", "Tencent", "Baidu"),
    *("ByteDance", "CoreWeave", "Nebius", "Equinix", "Digital Realty", "OpenAI", "Anthropic"),
    *("Mistral", "DeepSeek", "Moonshot", "Zhipu", "Broadcom", "Arm", "ASML", "Applied Materials"),
    *("Lam Research", "SMIC", "Cambricon", "T-Head", "Inspur", "Lenovo", "Dell", "Supermicro"),
    *("HPE", "Cisco", "Arista", "Marvell", "Micron", "Foxconn", "Wistron", "Quanta", "IBM"),
    *("Salesforce", "SAP", "Snowflake", "Databricks", "xAI", "Cohere", "Scale AI", "Lambda"),
]
CHIPS = [
    *("H20", "H100", "H200", "B200", "GB200", "B300", "MI300X", "MI325X", "MI355X", "Gaudi 3"),
    *("Ascend 910C", "Ascend 920", "TPU v5e", "TPU v6e", "Trainium2", "Inferentia2", "Maia 100"),
    *("Hanguang 800", "Zhenyue 510", "Yitian 710", "Kunlun P800", "Cambricon MLU590"),
]
REGULATORS = ["BIS", "Commerce Department", "Treasury", "USTR", "SEC", "MIIT", "CAC", "EU"]
PLACES = [
    *("China", "Singapore", "Malaysia", "Johor", "Texas", "Virginia", "Ohio", "Arizona"),
    *("Mexico", "Saudi Arabia", "UAE", "India", "Japan", "South Korea", "Taiwan", "Germany"),
    *("Ireland", "the Netherlands", "Brazil", "Indonesia", "Thailand", "Vietnam", "Chile"),
]
TITLES = [
    "{org} signs {money} AI capacity deal with {org2} for GPU clusters",
    "{org} opens new data center region in {place}",
    "{org} to build {mw} MW data center campus in {place}",
    "{regulator} adds {n} entities to the Entity List over advanced computing",
    "{regulator} issues rule on export controls for {chip} and advanced semiconductors",
    "{chip} shipments to {place} resume after license approvals",
    "{org} unveils {chip} accelerator for inference workloads",
    "{org} quarterly results: cloud revenue up {pct}%, capex {money}",
    "{org} raises capex guidance to {money} for AI infrastructure",
    "{org} model tops leaderboard on tool use and structured output",
    "MLPerf Inference results: {org} posts new record on {chip}",
    "{org} wins contract with {org2} to deploy AI platform across {n} regions",
    "{org} files 6-K: {pct}% growth in AI-related revenue",
    "Tariffs on {chip} imports from {place} take effect",
    "{org} and {org2} announce partnership on {chip} clusters in {place}",
]
PHRASES = [
    "export controls", "Entity List", "advanced computing", "data center", "GPU clusters",
    "free cash flow", "capital expenditure", "interim final rule", "comment deadline",
    "foundry due diligence", "cloud revenue", "inference workloads", "power purchase agreement",
]  # fmt: skip
FALLBACK_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "for",
    "on",
    "with",
    "that",
    "by",
    "is",
    "as",
    "at",
    "from",
    "its",
    "new",
    "will",
    "said",
    "this",
    "are",
    "be",
    "has",
    "company",
    "market",
    "data",
    "center",
    "cloud",
    "revenue",
    "quarter",
    "growth",
    "year",
    "billion",
    "million",
    "percent",
    "chips",
    "export",
    "controls",
    "rule",
    "department",
    "commerce",
    "security",
    "industry",
    "advanced",
    "computing",
    "model",
    "models",
    "training",
    "inference",
    "benchmark",
    "results",
    "performance",
    "capacity",
    "power",
    "network",
    "customers",
    "contract",
    "agreement",
    "partnership",
    "region",
    "regions",
    "deploy",
    "platform",
    "services",
]


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def vocabulary() -> tuple[list[str], list[float]]:
    """Words and cumulative weights: real feed text when available, Zipf-shaped either way."""
    counts: Counter[str] = Counter()
    if REAL.exists():
        for path in REAL.rglob("*"):
            if path.is_file() and path.suffix in (".xml", ".html", ".json") and path.stat().st_size:
                text = re.sub(r"<[^>]+>", " ", path.read_text("utf-8", errors="ignore"))
                counts.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{1,20}", text))
    if len(counts) < 2000:
        counts = Counter({w: 1000 // (rank + 1) + 1 for rank, w in enumerate(FALLBACK_WORDS)})
    words = [w for w, _ in counts.most_common(30000)]
    rng = random.Random(7)
    # A long tail of names and codes news carries (people, places, products, tickers).
    syllables = ["ka", "zu", "ren", "tor", "vi", "lan", "mo", "shi", "dex", "ar", "quin", "bo"]
    words += [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(40000)
    ]
    weights = [1.0 / (rank + 10) ** 1.05 for rank in range(len(words))]
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return words, cumulative


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words, self.cumulative = vocabulary()
        self.sources = [f"src-{n:02d}" for n in range(60)]
        self.entity_ids = (
            [(o, "ORG") for o in ORGS]
            + [(c, "CHIP") for c in CHIPS]
            + [(r, "REGULATOR") for r in REGULATORS]
        )

    def text(self, n: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=n)
        # A domain phrase in about a third of texts: each phrase ends up in a few percent of
        # items, as a topic-focused set of sources gives.
        for _ in range(1 + n // 300 if self.rng.random() < 0.35 else 0):
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(PHRASES))
        return " ".join(words)

    def money(self) -> tuple[float, str, str]:
        amount = self.rng.choice([1.2, 2, 3.5, 5, 10, 15, 25, 40, 120, 380])
        scale, factor = self.rng.choice([("million", 1e6), ("billion", 1e9)])
        unit, sign = self.rng.choice([("USD", "$"), ("USD", "$"), ("CNY", "RMB "), ("EUR", "€")])
        return amount * factor, unit, f"{sign}{amount:g} {scale}"

    def item(self, n: int) -> dict[str, Any]:
        rng = self.rng
        org, org2 = rng.sample(ORGS, 2)
        chip = rng.choice(CHIPS)
        value, unit, money = self.money()
        title = rng.choice(TITLES).format(
            org=org, org2=org2, chip=chip, place=rng.choice(PLACES), money=money,
            regulator=rng.choice(REGULATORS), n=rng.randint(2, 40), mw=rng.randint(20, 1400),
            pct=rng.randint(2, 80),
        )  # fmt: skip
        summary = f"{org} {self.text(rng.randint(25, 60))}"
        body = self.text(rng.randint(250, 600)) if rng.random() < 0.3 else ""
        return {
            "title": title,
            "summary": summary,
            "body": body,
            "org": org,
            "org2": org2,
            "chip": chip,
            "money": (value, unit, money),
        }


def entity_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build(path: Path, size: int, seed: int = 1) -> dict[str, Any]:
    """Fill a fresh archive at ``path``; returns timing figures."""
    gen = Generator(seed)
    rng = gen.rng
    db = open_archive(path)
    db.conn.executemany(
        "INSERT INTO sources (id, name, kind, url, every, enabled, last_status, last_ok_at,"
        " last_checked_at, error_count) VALUES (?, ?, 'feed', ?, '30m', 1, 'ok', ?, ?, 0)",
        [
            (s, s.upper(), f"https://example.org/{s}/feed", to_utc_iso(NOW), to_utc_iso(NOW))
            for s in gen.sources
        ],
    )
    db.conn.commit()
    start = NOW - timedelta(days=SPAN_DAYS)
    step = timedelta(days=SPAN_DAYS) / size
    generate_seconds = 0.0
    insert_seconds = 0.0
    poll_path_seconds = 0.0
    sample_rows: list[tuple[Any, ...]] = []
    batch = 1000
    poll_path_items = min(size, POLL_PATH_ITEMS)
    triggers: list[str] = []
    for first in range(0, size, batch):
        if first == poll_path_items:
            # Bulk load: the FTS triggers go, the index is rebuilt once at the end.
            poll_path_seconds = insert_seconds
            triggers = [
                row[0]
                for row in db.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'items'"
                ).fetchall()
            ]
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'items'"
            ).fetchall():
                db.execute(f"DROP TRIGGER {name}")
        t0 = time.perf_counter()
        items, links, tags, entities, facts, stories = [], [], [], [], [], []
        for n in range(first, min(first + batch, size)):
            spec = gen.item(n)
            seen = start + step * n
            published = seen - timedelta(minutes=rng.randint(5, 600))
            source = rng.choice(gen.sources)
            item_id = short_hash(source, f"guid:{n}")
            story = f"story-{n // 4}" if rng.random() < 0.1 else None
            if story and not n % 4:
                stories.append((story, spec["title"], to_utc_iso(seen), to_utc_iso(seen)))
            elif story:
                story = None  # keep it simple: only the first of four opens a story
            row = (
                item_id, source, f"https://news.example.org/{source}/{n}", spec["title"],
                spec["summary"], spec["body"], to_utc_iso(published), 0, to_utc_iso(seen),
                short_hash(spec["title"], spec["summary"]),
                json.dumps({"author": "Newsroom"}) if rng.random() < 0.2 else None, story,
            )  # fmt: skip
            items.append(row)
            if len(sample_rows) < 50000:
                sample_rows.append(row)
            links.append((item_id, source, f"guid:{n}", to_utc_iso(seen)))
            if rng.random() < 0.05:
                other = rng.choice(gen.sources)
                if other != source:
                    links.append(
                        (
                            item_id,
                            other,
                            f"guid:{other}:{n}",
                            to_utc_iso(seen + timedelta(minutes=20)),
                        )
                    )
            if rng.random() < 0.75:
                for category in rng.sample(CATEGORY_IDS, rng.choice([1, 1, 1, 2, 2, 3])):
                    tags.append(
                        (
                            item_id,
                            category,
                            round(rng.uniform(0.3, 1.0), 3),
                            "rules",
                            json.dumps(["evidence"]),
                        )
                    )
            for name in {spec["org"], spec["org2"], spec["chip"]}:
                label = "CHIP" if name in CHIPS else "ORG"
                entities.append((item_id, label, name, 0, len(name), entity_id(name)))
            if rng.random() < 0.3:
                value, unit, text = spec["money"]
                facts.append((item_id, "money", value, unit, text, "tagger"))
            if rng.random() < 0.1:
                pct = float(rng.randint(2, 80))
                facts.append((item_id, "percent", pct, "%", f"{pct:g}%", "tagger"))
            if rng.random() < 0.02:
                day = (seen + timedelta(days=rng.randint(3, 60))).date().isoformat()
                facts.append(
                    (
                        item_id,
                        rng.choice(["effective_date", "comment_deadline"]),
                        None,
                        "date",
                        day,
                        "source",
                    )
                )
                facts.append(
                    (
                        item_id,
                        "eccn",
                        None,
                        None,
                        rng.choice(["3A090", "4A090", "3B001", "5A992"]),
                        "tagger",
                    )
                )
        t1 = time.perf_counter()
        with db.conn:
            db.conn.executemany(
                "INSERT INTO stories (id, title, first_seen_at, updated_at) VALUES (?, ?, ?, ?)",
                stories,
            )
            db.conn.executemany(
                "INSERT INTO items (id, source_id, url, title, summary, body, published_at,"
                " date_estimated, fetched_at, updated_at, content_hash, meta, story_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                items,
            )
            db.conn.executemany(
                "INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_key, first_seen_at)"
                " VALUES (?, ?, ?, ?)",
                links,
            )
            db.conn.executemany(
                "INSERT OR IGNORE INTO item_tags (item_id, category, score, method, evidence)"
                " VALUES (?, ?, ?, ?, ?)",
                tags,
            )
            db.conn.executemany(
                'INSERT INTO entities (item_id, label, text, start, "end", entity_id)'
                " VALUES (?, ?, ?, ?, ?, ?)",
                entities,
            )
            db.conn.executemany(
                "INSERT INTO facts (item_id, kind, value, unit, text, origin) VALUES (?, ?, ?, ?, ?, ?)",
                facts,
            )
        t2 = time.perf_counter()
        generate_seconds += t1 - t0
        insert_seconds += t2 - t1
    for source in gen.sources:
        db.conn.execute(
            "INSERT INTO fetches (source_id, started_at, outcome, http_status, duration_ms,"
            " items_seen, items_new) VALUES (?, ?, 'ok', 200, 420, 20, 2)",
            [source, to_utc_iso(NOW - timedelta(hours=1))],
        )
    db.conn.commit()
    rebuild_seconds = 0.0
    if triggers:
        t0 = time.perf_counter()
        with db.conn:
            db.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
            for sql in triggers:
                db.execute(sql)
        rebuild_seconds = time.perf_counter() - t0
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    floor = bare_insert_rate(sample_rows)
    return {
        "poll_path_items_per_s": poll_path_items / poll_path_seconds
        if poll_path_seconds
        else size / insert_seconds,
        "bulk_items_per_s": (size - poll_path_items)
        / (insert_seconds - poll_path_seconds + rebuild_seconds)
        if triggers
        else None,
        "rebuild_seconds": rebuild_seconds,
        "insert_seconds": insert_seconds,
        "generate_seconds": generate_seconds,
        "floor_items_per_s": floor,
    }


def bare_insert_rate(rows: Sequence[tuple[Any, ...]]) -> float:
    """The floor: the same item rows into a table with no index, no FTS, one transaction."""
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE items (" + ", ".join(f"c{i}" for i in range(len(rows[0]))) + ")")
    marks = ", ".join("?" * len(rows[0]))
    t0 = time.perf_counter()
    with conn:
        for start in range(0, len(rows), 1000):
            conn.executemany(f"INSERT INTO items VALUES ({marks})", rows[start : start + 1000])
    return len(rows) / (time.perf_counter() - t0)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def query_workload(rng: random.Random, count: int) -> list[tuple[str, Filters]]:
    """Searches an analyst would type: common, medium and rare terms, with and without filters."""
    since_30 = to_utc_iso(NOW - timedelta(days=30))
    since_365 = to_utc_iso(NOW - timedelta(days=365))
    texts = [
        *("cloud", "data center", "export controls", "revenue", "capex"),  # common
        *('"Entity List"', "accelerator inference", "Alibaba capex", "H20 China", "tariffs"),
        *("Nebius", "MI355X", "Ascend", "foundry diligence", "leaderboard tool use"),  # rarer
        *("T-Head", "Johor campus", '"power purchase agreement"', "3A090", "interim final rule"),
    ]
    filters = [
        Filters(),
        Filters(category="policy_shifts"),
        Filters(category="infrastructure", since=since_30),
        Filters(since=since_365),
        Filters(source="src-07"),
        Filters(entity="alibaba"),
        Filters(category="financial_posture", min_score=0.7),
        Filters(entity="nvidia", since=since_30),
    ]
    return [(rng.choice(texts), rng.choice(filters)) for _ in range(count)]


def measure(path: Path, size: int, queries: int) -> None:
    db = open_archive(path, readonly=True)
    tune_for_reading(db)
    rng = random.Random(11)
    workload = query_workload(rng, queries)
    for text, filters in workload[:20]:  # warm the page cache like a running system
        search(db, text, filters, LIMIT)
    latencies = [
        timed(lambda t=text, f=filters: search(db, t, f, LIMIT)) for text, filters in workload
    ]
    emit(
        bench="query", size=size, measure="fts_query", queries=len(latencies),
        **percentiles(latencies), target_p50_ms=20, target_p95_ms=100,
    )  # fmt: skip
    no_filter = [(t, f) for t, f in workload if f == Filters()]
    w_title, w_summary, w_body = WEIGHTS
    unbounded = [
        timed(
            lambda t=text: db.execute(
                f"SELECT rowid FROM items_fts WHERE items_fts MATCH ?"
                f" ORDER BY bm25(items_fts, {w_title}, {w_summary}, {w_body}) LIMIT 20",
                [_fts(t)],
            ).fetchall()
        )
        for text, _ in no_filter
    ]
    floor = [
        timed(
            lambda t=text: db.execute(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT 20",
                [_fts(t)],
            ).fetchall()
        )
        for text, _ in no_filter
    ]
    if no_filter:
        emit(
            bench="query",
            size=size,
            measure="fts_unbounded_bm25",
            queries=len(unbounded),
            **percentiles(unbounded),
        )
        emit(
            bench="query",
            size=size,
            measure="fts_floor_match_rowid_order",
            queries=len(floor),
            **percentiles(floor),
        )
    listings = [
        timed(lambda f=filters: search(db, None, f, LIMIT))
        for _, filters in workload[: max(40, queries // 4)]
    ]
    emit(
        bench="query",
        size=size,
        measure="listing_newest_first",
        queries=len(listings),
        **percentiles(listings),
    )
    for example in EXAMPLES:
        runs = []
        rows = 0
        for _ in range(3):
            t0 = time.perf_counter()
            rows = len(db.execute(example.sql).fetchall())
            runs.append((time.perf_counter() - t0) * 1000)
        emit(
            bench="query",
            size=size,
            measure="example",
            name=example.name,
            rows=rows,
            median_ms=round(statistics.median(runs), 2),
        )
    db.close()


def _fts(text: str) -> str:
    from signals.search import fts_query

    return fts_query(text)


def size_report(path: Path, size: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    parts: dict[str, int] = {}
    try:
        for name, bytes_ in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            group = "fts" if name.startswith("items_fts") else name
            parts[group] = parts.get(group, 0) + bytes_
    except sqlite3.OperationalError:
        parts = {}
    conn.close()
    total = path.stat().st_size
    top = dict(sorted(parts.items(), key=lambda kv: -kv[1])[:12])
    emit(
        bench="query", size=size, measure="size", bytes=total,
        bytes_per_item=round(total / size), target_bytes_per_item=4096, parts=top,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated item counts")
    parser.add_argument("--queries", type=int, default=200, help="searches per size")
    parser.add_argument("--keep", type=Path, help="build archives in this folder and keep them")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    # Latencies move with whatever else runs: the load average says how busy it was.
    emit(bench="query", measure="machine", cpus=os.cpu_count(), loadavg=os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="signals-bench-query-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            path = folder / f"archive-{size}.db"
            if args.keep and path.exists():
                emit(bench="query", size=size, measure="insert", reused=str(path))
            else:
                for stale in folder.glob(f"archive-{size}.db*"):
                    stale.unlink()
                figures = build(path, size)
                emit(
                    bench="query", size=size, measure="insert",
                    poll_path_items_per_s=round(figures["poll_path_items_per_s"]),
                    bulk_items_per_s=round(figures["bulk_items_per_s"] or 0) or None,
                    fts_rebuild_s=round(figures["rebuild_seconds"], 1),
                    floor_bare_executemany_items_per_s=round(figures["floor_items_per_s"]),
                    generate_s=round(figures["generate_seconds"], 1),
                )  # fmt: skip
            size_report(path, size)
            measure(path, size, args.queries)


if __name__ == "__main__":
    main()
