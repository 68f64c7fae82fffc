"""Polite fetching against a real loopback server: every outcome has a name and a consequence."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signals.archive import open_archive
from tests.conftest import TESTS, by_source, fetch_json, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

SMALL = TESTS / "data" / "feeds" / "small.rss.xml"


def _source_row(tmp_path: Path, source_id: str) -> dict[str, object]:
    db = open_archive(tmp_path / "archive.db")
    return dict(db["sources"].get(source_id))


def _parse(iso: object) -> datetime:
    return datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_repoll_uses_conditional_get_and_stores_nothing_new(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route(
        "/feed",
        Reply.file(SMALL, etag='"v1"', last_modified="Tue, 24 Nov 2026 15:00:00 GMT"),
    )
    sources = write_sources(tmp_path, [{"id": "small", "url": url}])
    first = by_source(fetch_json(sources))["small"]
    assert (first["outcome"], first["new"]) == ("ok", 3)
    second = by_source(fetch_json(sources))["small"]
    assert (second["outcome"], second["new"], second["http_status"]) == ("not_modified", 0, 304)
    repoll = server.hits("/feed")[1].headers
    assert repoll["if-none-match"] == '"v1"'
    assert repoll["if-modified-since"] == "Tue, 24 Nov 2026 15:00:00 GMT"
    assert repoll["user-agent"] == "signals-tests/1.0 (tests@example.org)"
    assert "application/rss+xml" in repoll["accept"]
    db = open_archive(tmp_path / "archive.db")
    assert db["items"].count == 3
    assert [r["outcome"] for r in db.query("SELECT outcome FROM fetches ORDER BY id")] == [
        "ok",
        "not_modified",
    ]


def test_429_retry_after_is_honoured_even_by_a_manual_poll(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/busy", Reply(status=429, headers={"Retry-After": "120"}))
    sources = write_sources(tmp_path, [{"id": "busy", "url": url}])
    result = run_cli("fetch", "--json", sources=sources)
    assert result.exit_code == 1
    row = _source_row(tmp_path, "busy")
    assert row["last_status"] == "http_429"
    wait = _parse(row["retry_after_until"]) - datetime.now(UTC)
    assert timedelta(seconds=100) < wait <= timedelta(seconds=121)

    again = by_source(fetch_json(sources))["busy"]
    assert again["outcome"] == "deferred"
    assert len(server.hits("/busy")) == 1, "a deferred source must not be requested"


def test_503_with_an_http_date_retry_after(tmp_path: Path, server: LocalServer) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    header = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    url = server.route("/down", Reply(status=503, headers={"Retry-After": header}))
    sources = write_sources(tmp_path, [{"id": "down", "url": url}])
    fetch_json(sources)
    row = _source_row(tmp_path, "down")
    assert row["last_status"] == "http_503"
    assert abs((_parse(row["retry_after_until"]) - when).total_seconds()) < 5


def test_failures_back_off_exponentially_and_recover(tmp_path: Path, server: LocalServer) -> None:
    url = server.route(
        "/flaky",
        Reply(status=500),
        Reply(status=500),
        Reply(status=500),
        Reply.file(SMALL),
    )
    sources = write_sources(tmp_path, [{"id": "flaky", "url": url, "every": "10m"}])
    waits = []
    for _ in range(3):
        assert by_source(fetch_json(sources))["flaky"]["outcome"] == "http_500"
        row = _source_row(tmp_path, "flaky")
        waits.append(_parse(row["next_check_at"]) - _parse(row["last_checked_at"]))
    assert [round(w.total_seconds() / 60) for w in waits] == [10, 20, 40]
    assert _source_row(tmp_path, "flaky")["error_count"] == 3
    assert by_source(fetch_json(sources))["flaky"]["outcome"] == "ok"
    row = _source_row(tmp_path, "flaky")
    assert row["error_count"] == 0 and row["last_ok_at"] is not None


def test_backoff_is_capped_and_never_gives_up(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/dead", Reply(status=404))
    sources = write_sources(tmp_path, [{"id": "dead", "url": url, "every": "1h"}], backoff_max="4h")
    for _ in range(6):
        fetch_json(sources)
    row = _source_row(tmp_path, "dead")
    assert row["last_status"] == "http_404" and row["error_count"] == 6
    # last_checked_at is when the poll started, the wait counts from when it ended (the
    # same second, or the next one when the poll straddles a second boundary)
    wait = _parse(row["next_check_at"]) - _parse(row["last_checked_at"])
    assert timedelta(hours=4) <= wait <= timedelta(hours=4, seconds=5)


def test_a_server_that_never_finishes_times_out_without_holding_up_others(
    tmp_path: Path, server: LocalServer
) -> None:
    hang = server.route("/hang", Reply.file(SMALL, hang=True))
    good = server.route("/good", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "hang", "url": hang}, {"id": "good", "url": good}])
    started = time.monotonic()
    reports = by_source(fetch_json(sources))
    assert reports["hang"]["outcome"] == "timeout"
    assert reports["good"]["outcome"] == "ok" and reports["good"]["new"] == 3
    assert time.monotonic() - started < 10


def test_a_trickling_server_hits_the_total_deadline(tmp_path: Path, server: LocalServer) -> None:
    body = SMALL.read_bytes()

    def trickle(_seen: object) -> Reply:
        return Reply(body=body, delay=0.0, hang=True)

    url = server.route_fn("/trickle", trickle)
    sources = write_sources(
        tmp_path, [{"id": "t", "url": url}], read_timeout="5s", total_timeout="1s"
    )
    report = by_source(fetch_json(sources))["t"]
    assert report["outcome"] == "timeout"


def test_oversized_bodies_are_refused(tmp_path: Path, server: LocalServer) -> None:
    big = b"<rss>" + b"x" * 300_000 + b"</rss>"
    declared = server.route("/declared", Reply(body=big))
    streamed = server.route("/streamed", Reply(body=big, omit_length=True))
    bomb = server.route("/bomb", Reply(body=b"\0" * 30_000_000, gzip=True))
    ok = server.route("/ok", Reply.file(SMALL, gzip=True))
    sources = write_sources(
        tmp_path,
        [
            {"id": "declared", "url": declared},
            {"id": "streamed", "url": streamed},
            {"id": "bomb", "url": bomb},
            {"id": "ok", "url": ok},
        ],
        max_bytes="200KB",
    )
    reports = by_source(fetch_json(sources))
    assert reports["declared"]["outcome"] == "too_large"
    assert reports["streamed"]["outcome"] == "too_large"
    assert reports["bomb"]["outcome"] == "too_large"
    assert "decompression" in reports["bomb"]["error"]
    assert reports["ok"]["outcome"] == "ok" and reports["ok"]["new"] == 3


def test_junk_and_html_are_parse_errors_of_that_source_only(
    tmp_path: Path, server: LocalServer
) -> None:
    junk = server.route(
        "/junk", Reply(body=bytes(range(256)) * 40, content_type="application/rss+xml")
    )
    page = server.route(
        "/page",
        Reply(body=b"<!doctype html><html><body><p>Hi</p></body></html>", content_type="text/html"),
    )
    good = server.route("/good", Reply.file(SMALL))
    sources = write_sources(
        tmp_path,
        [{"id": "junk", "url": junk}, {"id": "page", "url": page}, {"id": "good", "url": good}],
    )
    result = run_cli("fetch", "--json", sources=sources)
    assert result.exit_code == 1
    import json

    reports = by_source(json.loads(result.stdout))
    assert reports["junk"]["outcome"] == "parse_error"
    assert reports["page"]["outcome"] == "parse_error"
    assert "HTML page" in reports["page"]["error"]
    assert reports["good"]["outcome"] == "ok"
    assert _source_row(tmp_path, "junk")["last_error"]


def test_redirects_are_followed_and_bounded(tmp_path: Path, server: LocalServer) -> None:
    feed = server.route("/feed", Reply.file(SMALL))
    moved = server.route("/moved", Reply(status=301, headers={"Location": "/feed"}))
    server.route("/loop-a", Reply(status=302, headers={"Location": "/loop-b"}))
    loop = server.url("/loop-a")
    server.route("/loop-b", Reply(status=302, headers={"Location": "/loop-a"}))
    sources = write_sources(
        tmp_path, [{"id": "moved", "url": moved}, {"id": "loop", "url": loop}], max_redirects=3
    )
    reports = by_source(fetch_json(sources))
    assert reports["moved"]["outcome"] == "ok" and reports["moved"]["new"] == 3
    assert reports["loop"]["outcome"] == "too_many_redirects"
    assert len(server.hits("/loop-a")) + len(server.hits("/loop-b")) == 4
    assert feed


def test_connection_refused_is_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sources = write_sources(tmp_path, [{"id": "gone", "url": f"http://127.0.0.1:{port}/feed"}])
    assert by_source(fetch_json(sources))["gone"]["outcome"] == "connect_error"


def test_per_host_rate_limit_spaces_requests(tmp_path: Path, server: LocalServer) -> None:
    paths = [f"/f{i}" for i in range(5)]
    sources = [
        {"id": f"s{i}", "url": server.route(p, Reply.file(SMALL))} for i, p in enumerate(paths)
    ]
    config = write_sources(tmp_path, sources, host_rate="4/s", host_concurrency=4)
    fetch_json(config)
    starts = sorted(r.at for r in server.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 5
    assert min(gaps) >= 0.2, gaps  # 4/s means at least 0.25 s apart, minus scheduling noise


def test_secrets_in_urls_stay_out_of_errors(tmp_path: Path, server: LocalServer) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://user:hunter22@127.0.0.1:{port}/feed?api_key=SEKRET123&q=1"
    sources = write_sources(tmp_path, [{"id": "s", "url": url}])
    result = run_cli("fetch", sources=sources)
    assert "SEKRET123" not in result.output and "hunter22" not in result.output
    db = open_archive(tmp_path / "archive.db")
    dump = "\n".join(db.iterdump())
    assert "hunter22" not in dump.replace(url, "")
    for (error,) in db.execute("SELECT error FROM fetches").fetchall():
        assert error is None or ("SEKRET123" not in error and "hunter22" not in error)
