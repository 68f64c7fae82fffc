"""Regressions found by black-box QA of the ingest path on real-world input.

Each test names the user-visible effect that was wrong; real recorded responses are read
in place from ../shared/fixtures/real (skipped with a reason when absent), small shapes the
recordings do not cover are written inline.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from signals.config import load_config
from signals.fetch import Fetcher, FetchRequest
from signals.model import FetchFailed
from signals.politeness import HostLimit, HostLimiter
from tests.conftest import write_sources


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
