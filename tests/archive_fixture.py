"""An analysts' fixture archive: a real poll of a feed, then a realistic mix of tagged items.

The poll goes through the real CLI and local HTTP server (sources, items, fetches as the
product writes them); the rest goes through ``ArchiveBuilder`` (tags, entities, facts,
stories, item_sources) so every documented example query has rows to find, relative to
now: a quiet source, a failing one, Alibaba capex in two quarters, a new accelerator on a
benchmark table, a new leaderboard leader, a sent digest.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from signals.times import to_utc_iso, utcnow
from tests.archive_builder import ArchiveBuilder, week_of_news
from tests.conftest import TESTS, fetch_json, write_sources
from tests.httpserver import LocalServer, Reply

SMALL_FEED = TESTS / "data" / "feeds" / "small.rss.xml"


def build_analyst_archive(directory: Path, server: LocalServer | None = None) -> Path:
    """Build the archive in ``directory`` and return its path."""
    path = directory / "archive.db"
    if server is not None:
        url = server.route("/feed", Reply.file(SMALL_FEED))
        sources = write_sources(directory, [{"id": "small-news", "url": url}])
        fetch_json(sources)
    now = utcnow().replace(microsecond=0)
    builder = ArchiveBuilder(path)
    try:
        week_of_news(builder, now)
        _extras(builder, now)
    finally:
        builder.close()
    return path


def _extras(b: ArchiveBuilder, now: datetime) -> None:
    day = timedelta(days=1)
    b.source("old-blog")
    b.item("A look back at last year's cloud outages", source="old-blog", first_seen=now - 60 * day)
    b.poll("old-blog", now - 2 * day)
    b.source(
        "bis-press",
        kind="html",
        status="timeout",
        last_ok_at=now - 3 * day,
        error_count=3,
        last_error="timed out after 20s reading www.bis.gov",
    )
    b.poll("bis-press", now - 3 * day, "ok")
    b.poll("bis-press", now - 2 * day, "timeout")
    for days_ago, amount, text in ((100, 120e9, "RMB 120 billion"), (10, 380e9, "RMB 380 billion")):
        b.item(
            f"Alibaba raises capex to {text} for AI and cloud",
            source="reuters-tech",
            first_seen=now - days_ago * day,
            summary=f"Alibaba Group said capital expenditure will reach {text} as it builds"
            " AI data centers; capex guidance was raised again.",
            tags={"financial_posture": (0.9, ["capex"]), "infrastructure": (0.6, ["data centers"])},
            entities=[("ORG", "Alibaba Group", "alibaba")],
            facts=[("money", amount, "CNY", text)],
        )
    first = b.item(
        "MLPerf Inference v5.0: result for Acme-8xH100 on llama2-70b-99 Offline",
        source="mlperf-inference",
        first_seen=now - 20 * day,
        tags={"model_performance": 0.7},
        facts=[
            ("accelerator", 8.0, "count", "NVIDIA H100"),
            ("benchmark_result", 31000.0, "Tokens/s", "llama2-70b-99 Offline: Acme-8xH100"),
        ],
    )
    second = b.item(
        "MLPerf Inference v5.1: result for Zeta-8xTPUv6e on llama2-70b-99 Offline",
        source="mlperf-inference",
        first_seen=now - 2 * day,
        tags={"model_performance": 0.75, "chip_ecosystem": (0.6, ["TPU"])},
        facts=[
            ("accelerator", 8.0, "count", "Google TPU v6e"),
            ("benchmark_result", 35500.0, "Tokens/s", "llama2-70b-99 Offline: Zeta-8xTPUv6e"),
        ],
    )
    leader = b.item(
        "New #1 in MLPerf · v5.1 · datacenter · closed · llama2-70b-99 · Offline: Zeta-8xTPUv6e",
        source="mlperf-inference",
        first_seen=now - 2 * day,
        tags={"model_performance": 0.8},
        facts=[
            ("benchmark_rank", 1.0, "rank", None),
            ("benchmark_result", 35500.0, "Tokens/s", "llama2-70b-99 Offline: Zeta-8xTPUv6e"),
        ],
    )
    b.db.execute(
        "UPDATE facts SET origin = 'source' WHERE item_id IN (?, ?, ?)", [first, second, leader]
    )
    b.db.execute(
        "UPDATE items SET meta = ? WHERE id = ?",
        [
            json.dumps(
                {
                    "event": "rank",
                    "baseline": False,
                    "benchmark": "llama2-70b-99 Offline",
                    "system": "Zeta-8xTPUv6e",
                    "previous": "Acme-8xH100",
                }
            ),
            leader,
        ],
    )
    sent = to_utc_iso(now - day)
    b.db.execute(
        "INSERT INTO deliveries (rule, channel, window_start, window_end, status, item_ids,"
        " sent_at, external_id, transport, attempts) VALUES (?, ?, ?, ?, 'sent', ?, ?, ?, ?, 1)",
        [
            "daily-slack",
            "slack",
            to_utc_iso(now - 2 * day),
            sent,
            json.dumps(["a", "b", "c"]),
            sent,
            "1732435200.000100",
            "slack_api",
        ],
    )
    b.db.conn.commit()
