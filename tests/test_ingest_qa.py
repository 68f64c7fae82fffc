"""Regressions found by black-box QA of the ingest path on real-world input.

Each test names the user-visible effect that was wrong; real recorded responses are read
in place from ../shared/fixtures/real (skipped with a reason when absent), small shapes the
recordings do not cover are written inline.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx

from signals.config import load_config
from signals.fetch import Fetcher, FetchRequest
from signals.model import FetchFailed, Item
from signals.politeness import HostLimit, HostLimiter
from signals.poll import normalize_entries
from signals.sources.feed import parse_feed
from tests.conftest import real, write_sources

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _fetcher(tmp_path: Path, transport: httpx.BaseTransport) -> Fetcher:
    config = load_config(write_sources(tmp_path, []))
    limiter = HostLimiter({}, HostLimit(rate=1000.0, concurrency=2))
    return Fetcher(config.settings, limiter, transport=transport)


def test_an_offline_machine_reports_dns_error_not_connect_error(tmp_path: Path) -> None:
    # Offline, glibc says "Temporary failure in name resolution" (EAI_AGAIN), which the
    # summary used to file under connect_error, sending operators to look at the server.
    def offline(request: httpx.Request) -> httpx.Response:
        cause = socket.gaierror(-3, "Temporary failure in name resolution")
        raise httpx.ConnectError(f"[Errno -3] {cause.strerror}", request=request) from cause

    with _fetcher(tmp_path, httpx.MockTransport(offline)) as fetcher:
        result = fetcher.fetch(FetchRequest(url="https://www.bis.gov/news-updates"))
    assert isinstance(result, FetchFailed)
    assert result.outcome == "dns_error"
    assert "cannot resolve www.bis.gov" in result.error


def _items_of(fixture: str, headers: dict[str, str] | None = None) -> list[Item]:
    parsed = parse_feed(real(fixture).read_bytes(), headers or {})
    items, _ = normalize_entries(parsed.entries, "qa", "https://example.org/feed", NOW)
    return items


def test_html_summaries_are_not_broken_where_the_feed_source_wrapped_lines() -> None:
    # ikiwiki (Tails) wraps the HTML of each paragraph at ~70 columns; a browser shows one
    # paragraph, the archive used to keep every source line break mid-sentence.
    items = {i.title: i for i in _items_of("malformed/tails-news-rss-html-heavy.rss.xml")}
    summary = items["Tails 4.8 is out"].summary
    assert (
        "This release fixes many security vulnerabilities. You should upgrade as soon as"
        " possible." in summary.split("\n")
    )
    assert "New features" in summary.split("\n")  # a heading still stands on its own line


def test_preformatted_code_keeps_its_lines() -> None:
    items = _items_of("malformed/huge-entries-full-content.rss.xml")
    text = next(i.summary + i.body for i in items if "removeDuplicates" in i.summary + i.body)
    assert "func removeDuplicates(s []mytype) []mytype {\nslices.SortFunc(s, less)" in text
