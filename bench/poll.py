"""Poll benchmark: 300 sources on a loopback server, cold (50 new items each) and warm (all 304).

Prints JSON lines. The floor is feedparser alone on the same bytes in the same run, so the
ratio says how much fetch, normalize and store add on top of parsing (``poll_cold``, the
ingest path, target >= 0.5). ``poll_cold_enriched`` runs the same cold poll as the daemon
does, with tagging (``rules/categories.toml``) and story grouping inside each source's
transaction, beside the same floor. Titles and summaries draw real words (the labeled
dev set's vocabulary, Zipf-weighted), so matchers and story candidates see text shaped
like news rather than a handful of repeated words.
Run: ``python bench/poll.py [--sources 300] [--items 50]``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.httpserver import LocalServer, Reply  # noqa: E402

WORDS = [
    "export",
    "controls",
    "entity",
    "list",
    "advanced",
    "computing",
    "semiconductor",
    "data",
    "center",
    "capacity",
    "gigawatt",
    "cluster",
    "accelerator",
    "benchmark",
    "inference",
    "training",
    "model",
    "release",
    "revenue",
    "capex",
    "guidance",
    "quarter",
    "cloud",
    "region",
    "customer",
    "contract",
    "partnership",
    "fab",
    "lithography",
    "memory",
    "bandwidth",
    "power",
    "substation",
    "cooling",
    "rack",
    "network",
    "fabric",
    "tariff",
    "procurement",
    "filing",
]


def vocabulary() -> tuple[list[str], list[float]]:
    """Real words by frequency (the dev set's), Zipf-weighted; the domain words otherwise."""
    dev = ROOT / "tests" / "data" / "gold" / "dev.jsonl"
    counts: dict[str, int] = dict.fromkeys(WORDS, 1)
    if dev.exists():
        for line in dev.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for word in f"{row['title']} {row.get('summary', '')}".split():
                word = word.strip(".,;:()[]\"'").lower()
                if word.isalpha():
                    counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return ranked, [1 / (rank + 1) for rank in range(len(ranked))]


VOCABULARY: tuple[list[str], list[float]] = (WORDS, [1.0] * len(WORDS))


def make_feed(source: int, items: int, rng: random.Random) -> bytes:
    words, weights = VOCABULARY
    entries = []
    for n in range(items):
        title = " ".join(rng.choices(words, weights, k=9)).capitalize()
        text = " ".join(rng.choices(words, weights, k=70))
        entries.append(
            f"<item><title>{title} {source}-{n}</title>"
            f"<link>https://news.example.org/{source}/{n}?utm_source=rss</link>"
            f"<guid isPermaLink='false'>bench-{source}-{n}</guid>"
            f"<pubDate>Tue, 24 Nov 2026 {n % 24:02d}:00:00 GMT</pubDate>"
            f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Bench {source}</title><link>https://news.example.org/</link>"
        f"{''.join(entries)}</channel></rss>"
    ).encode()


def feedparser_floor(bodies: list[bytes], repeats: int = 3) -> float:
    """Entries per second of feedparser alone on the same bytes: the best of a few runs."""
    import feedparser

    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(len(feedparser.parse(io.BytesIO(body)).entries) for body in bodies)
        best = max(best, count / (time.perf_counter() - start))
    return best


def serve(directory: str) -> None:
    """Child process: serve every feed body (with an ETag) until terminated."""
    feeds = sorted(Path(directory).glob("f*.xml"), key=lambda p: int(p.stem[1:]))
    server = LocalServer().start()
    for path in feeds:
        server.route(f"/{path.stem}", Reply(body=path.read_bytes(), etag=f'"{path.stem}"'))
    print(server.port, flush=True)
    signal.sigwait({signal.SIGTERM})


def start_server(directory: Path, bodies: list[bytes]) -> tuple[int, subprocess.Popen[str]]:
    """The feeds are served by another process, as real sites are: no GIL shared with us."""
    feeds = directory / "feeds"
    feeds.mkdir()
    for i, body in enumerate(bodies):
        (feeds / f"f{i}.xml").write_bytes(body)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(feeds)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    return int(child.stdout.readline()), child


def write_config(directory: Path, port: int, count: int) -> Path:
    lines = [
        "[settings]",
        'database = "bench.db"',
        'user_agent = "signals-bench (bench@example.org)"',
        'host_rate = "100000/s"  # one loopback host stands in for 300 sites',
        "host_concurrency = 8",
        "jitter = 0.0",
    ]
    for i in range(count):
        url = f"http://127.0.0.1:{port}/f{i}"
        lines += ["[[source]]", f'id = "bench-{i:03d}"', f'url = "{url}"']
    path = directory / "sources.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    rng = random.Random(7)
    global VOCABULARY
    VOCABULARY = vocabulary()
    bodies = [make_feed(i, args.items, rng) for i in range(args.sources)]
    floor_rate = feedparser_floor(bodies)

    with tempfile.TemporaryDirectory() as tmp:
        port, server = start_server(Path(tmp), bodies)
        try:
            path = write_config(Path(tmp), port, args.sources)
            cold, warm, per_item = measure(path, args.sources * args.items, enrich=False)
            enriched, _, enriched_per_item = measure(
                path, args.sources * args.items, enrich=True, repeats=1
            )
        finally:
            server.terminate()
            server.wait(10)
    items = args.sources * args.items

    def cold_line(name: str, rate: float, **extra: object) -> None:
        emit(
            bench=name,
            sources=args.sources,
            items=items,
            seconds=round(items / rate, 3),
            items_per_s=round(rate, 1),
            feedparser_floor_items_per_s=round(floor_rate, 1),
            ratio_to_floor=round(rate / floor_rate, 3),
            **extra,
        )

    cold_line("poll_cold", cold, target_ratio=0.5)
    cold_line("poll_cold_enriched", enriched, bytes_per_item=enriched_per_item)
    emit(bench="poll_warm_304", sources=args.sources, seconds=round(warm, 3), target_seconds=2.0)
    emit(bench="poll_archive", bytes_per_item=per_item)


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def measure(
    path: Path, expected: int, *, enrich: bool, repeats: int = 2
) -> tuple[float, float, int]:
    """Best cold rate (items/s, fresh archive each time) and best warm time (s, all 304).

    ``enrich``: tag and group stories as the daemon does; else the bare ingest path.
    """
    from signals.archive import open_archive
    from signals.config import load_config
    from signals.cycle import run_poll as daemon_poll
    from signals.poll import poll_sources

    def run_poll(config: Any, db: Any) -> Any:
        if enrich:
            return daemon_poll(config, db, rules_dir=ROOT / "rules")
        return poll_sources(config, db, enrich=None)

    best_cold, best_warm, per_item = 0.0, float("inf"), 0
    for attempt in range(repeats):
        database = path.parent / f"bench-{attempt}-{enrich}.db"
        config = load_config(path, db_override=str(database))
        db = open_archive(database)
        start = time.perf_counter()
        reports = run_poll(config, db)
        elapsed = time.perf_counter() - start
        new = sum(r.new for r in reports)
        if new != expected or any(not r.ok for r in reports):
            raise SystemExit(f"cold poll stored {new} of {expected} items: {reports[:3]}")
        best_cold = max(best_cold, new / elapsed)
        for _ in range(2):
            start = time.perf_counter()
            reports = run_poll(config, db)
            if any(r.outcome != "not_modified" for r in reports):
                raise SystemExit("warm poll expected 304 from every source")
            best_warm = min(best_warm, time.perf_counter() - start)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # size the rows, not the file's lag
        per_item = round(database.stat().st_size / new)
        db.close()
    return best_cold, best_warm, per_item


if __name__ == "__main__":
    main()
