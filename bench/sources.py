"""Parse speed of the non-feed kinds, each next to its floor measured in the same run.

* html: a 200-card list page (~200 KB) through ``HtmlKind.parse``; floor: bs4 + lxml
  parsing the same bytes and running the item selector alone.
* json/edgar_submissions: NVIDIA's recorded submissions JSON (1,000 filings); floor:
  ``json.loads`` of the same bytes.
* table/mlperf: 4,000 MLPerf-shaped rows; floor: ``json.loads`` of the same bytes.
* follow_links extraction: trafilatura on a recorded news article, per article.

Prints JSON lines (medians of a few runs). Run: ``python bench/sources.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signals.config import Source  # noqa: E402
from signals.model import Fetched  # noqa: E402
from signals.sources import SOURCE_KINDS, ParseContext  # noqa: E402
from tests.conftest import REAL  # noqa: E402

RUNS = 5


def median_seconds(work: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fetched(body: bytes, content_type: str) -> Fetched:
    return Fetched(
        url="https://example.org/list",
        status=200,
        headers={"content-type": content_type},
        body=body,
        etag=None,
        last_modified=None,
        duration_ms=0,
    )


def source(kind: str, **options: Any) -> Source:
    from datetime import timedelta

    return Source(
        id="bench",
        kind=kind,
        url="https://example.org/list",
        every=timedelta(hours=1),
        options=MappingProxyType(options),
    )


CONTEXT = ParseContext(fetch=lambda url: None, is_known=lambda entry: False)  # type: ignore[arg-type, return-value]


def report(name: str, count: int, seconds: float, floor_seconds: float, unit: str) -> None:
    print(
        json.dumps(
            {
                "bench": name,
                unit: count,
                "seconds": round(seconds, 4),
                f"{unit}_per_s": round(count / seconds),
                "floor": "same bytes, parser alone",
                "floor_seconds": round(floor_seconds, 4),
                "ratio_to_floor": round(seconds / floor_seconds, 2),
            }
        )
    )


def bench_html() -> None:
    cards = "".join(
        f'<li class="news-item" data-date="2026-01-{n % 28 + 1:02d}"><a href="/press-release/item-{n}">'
        f'<div class="text-sm"><span>Press Release</span> | <span class="date">January {n % 28 + 1}, 2026</span></div>'
        f'<h3 class="text-xl font-bold">Commerce adds {n} entities to the Entity List for diverting advanced chips</h3></a>'
        f'<p class="teaser">{"The Bureau of Industry and Security published a rule today. " * 8}</p>'
        f'<ul class="tags"><li>Entity List</li><li>Semiconductors</li></ul></li>'
        for n in range(200)
    )
    body = f"<html><head><title>News</title></head><body><ul>{cards}</ul></body></html>".encode()
    select = {
        "item": "li[data-date]",
        "title": "h3",
        "link": "a[href]",
        "date": "span.date",
        "summary": "p",
    }
    kind = SOURCE_KINDS["html"]
    src = source("html", select=select, date_format="%B %d, %Y")
    response = fetched(body, "text/html; charset=utf-8")

    def floor() -> None:
        from bs4 import BeautifulSoup

        BeautifulSoup(body, "lxml", from_encoding="utf-8").select("li[data-date]")

    seconds = median_seconds(lambda: kind.parse(response, src, CONTEXT))
    report(
        f"html list page ({len(body) // 1024} KB)", 200, seconds, median_seconds(floor), "entries"
    )


def bench_edgar() -> None:
    path = REAL / "edgar" / "data.sec.gov-submissions-CIK0001045810-nvidia.json"
    if not path.exists():
        print(json.dumps({"bench": "edgar_submissions", "skipped": f"{path} not found"}))
        return
    body = path.read_bytes()
    kind = SOURCE_KINDS["json"]
    src = source("json", preset="edgar_submissions")
    response = fetched(body, "application/json")
    count = len(json.loads(body)["filings"]["recent"]["form"])
    seconds = median_seconds(lambda: kind.parse(response, src, CONTEXT))
    report(
        "json edgar_submissions (NVIDIA)",
        count,
        seconds,
        median_seconds(lambda: json.loads(body)),
        "entries",
    )


def bench_table() -> None:
    rows = [
        {
            "Submitter": f"Vendor{n % 40}", "Category": "closed", "Suite": "datacenter",
            "System": f"System {n}", "Platform": f"platform_{n}", "Model": f"model-{n % 12}",
            "Scenario": ("Offline", "Server", "Interactive")[n % 3], "Accelerator": f"Chip {n % 25}",
            "a#": 8.0, "version": "v5.1", "Details": f"https://github.com/mlcommons/r/{n}",
            "Performance_Result": 1000.0 + (n * 7919) % 100000, "Performance_Units": "Tokens/s",
        }
        for n in range(4000)
    ]  # fmt: skip
    body = json.dumps(rows).encode()
    kind = SOURCE_KINDS["table"]
    src = source("table", preset="mlperf")
    response = fetched(body, "application/json")
    seconds = median_seconds(lambda: kind.parse(response, src, CONTEXT), runs=3)
    report(
        "table mlperf (4,000 rows)",
        len(rows),
        seconds,
        median_seconds(lambda: json.loads(body)),
        "rows",
    )


def bench_extraction() -> None:
    path = REAL / "news" / "theverge-article-2019-ios13.html"
    if not path.exists():
        print(json.dumps({"bench": "trafilatura", "skipped": f"{path} not found"}))
        return
    from signals.sources.html import extract_main_text

    body = path.read_bytes()
    headers = {"content-type": "text/html"}
    extract_main_text(body, headers, "https://www.theverge.com/")  # warm up imports
    seconds = median_seconds(lambda: extract_main_text(body, headers, "https://www.theverge.com/"))

    def floor() -> None:
        from bs4 import BeautifulSoup

        BeautifulSoup(body, "lxml").get_text()

    report(
        f"follow_links extraction ({len(body) // 1024} KB article)",
        1,
        seconds,
        median_seconds(floor),
        "articles",
    )


if __name__ == "__main__":
    print(json.dumps({"started": datetime.now(UTC).isoformat(timespec="seconds")}))
    bench_html()
    bench_edgar()
    bench_table()
    bench_extraction()
