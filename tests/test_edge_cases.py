"""Edge cases found in review: each states what a user or a site operator expects."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signals.archive import open_archive, write_transaction
from signals.config import parse_config
from signals.errors import ConfigError
from signals.lock import DaemonLock
from signals.redact import redact_url
from tests.conftest import TESTS, by_source, fetch_json, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

ARTICLE = b"""<html><body><article><h1>Rule on chips</h1>
<p>The Bureau of Industry and Security today added 12 entities to the Entity List for
supporting advanced computing programs, effective immediately.</p>
<p>The rule covers advanced AI chips and semiconductor manufacturing equipment.</p>
</article></body></html>"""


def _rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description></item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{body}</channel></rss>'.encode()


def test_followed_article_text_survives_the_next_poll(tmp_path: Path, server: LocalServer) -> None:
    listing = (
        b'<html><body><ul><li><h3>Rule on chips</h3><a href="/a1">read</a></li></ul></body></html>'
    )
    url = server.route("/list", Reply(body=listing, content_type="text/html"))
    server.route("/a1", Reply(body=ARTICLE, content_type="text/html"))
    sources = write_sources(
        tmp_path,
        [
            {
                "id": "bis",
                "kind": "html",
                "url": url,
                "follow_links": True,
                "select": {"item": "li", "title": "h3"},
            }
        ],
    )
    assert by_source(fetch_json(sources))["bis"]["new"] == 1
    db = sqlite3.connect(tmp_path / "archive.db")
    (body,) = db.execute("SELECT body FROM items").fetchone()
    assert "Entity List" in body
    again = by_source(fetch_json(sources))["bis"]
    assert (again["new"], again["updated"]) == (0, 0)
    assert db.execute("SELECT body, updated_at FROM items").fetchone() == (body, None)


def test_an_api_adds_its_dates_to_a_document_a_feed_brought_first(
    tmp_path: Path, server: LocalServer
) -> None:
    page = json.loads((TESTS / "data/federal_register/documents-page1.json").read_text())
    page["next_page_url"] = None
    doc = page["results"][0]
    rss = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>FR</title><item>'
        f"<title>{doc['title']}</title><link>{doc['html_url']}</link><guid>{doc['html_url']}</guid>"
        f"</item></channel></rss>"
    ).encode()
    feed = server.route("/rss", Reply(body=rss))
    api = server.route(
        "/documents.json", Reply(body=json.dumps(page).encode(), content_type="application/json")
    )
    sources = write_sources(
        tmp_path,
        [
            {"id": "fr-rss", "url": feed},
            {"id": "fr-api", "kind": "json", "preset": "federal_register", "url": api},
        ],
    )
    fetch_json(sources, "fr-rss")
    report = by_source(fetch_json(sources, "fr-api"))["fr-api"]
    assert report["linked"] >= 1
    db = sqlite3.connect(tmp_path / "archive.db")
    item_id, meta = db.execute(
        "SELECT id, meta FROM items WHERE url = ?", [doc["html_url"]]
    ).fetchone()
    kinds = {k for (k,) in db.execute("SELECT kind FROM facts WHERE item_id = ?", [item_id])}
    assert "publication_date" in kinds
    assert json.loads(meta)["type"]
    fetch_json(sources, "fr-api")  # linking again adds nothing twice
    again = db.execute("SELECT count(*) FROM facts WHERE item_id = ?", [item_id]).fetchone()[0]
    assert again == len(list(db.execute("SELECT 1 FROM facts WHERE item_id = ?", [item_id])))
    assert (
        again
        == db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT kind, text FROM facts WHERE item_id = ?)",
            [item_id],
        ).fetchone()[0]
    )


def test_entries_sharing_one_link_stay_separate_across_polls(
    tmp_path: Path, server: LocalServer
) -> None:
    first = _rss(("Entity List additions", "/news", "12 parties"), ("Chip rule", "/news", "3A090"))
    later = _rss(
        ("New tariff notice", "/news", "Section 301"),
        ("Entity List additions", "/news", "12 parties"),
        ("Chip rule", "/news", "3A090"),
    )
    url = server.route("/f", Reply(body=first), Reply(body=later))
    sources = write_sources(tmp_path, [{"id": "s", "url": url}])
    assert by_source(fetch_json(sources))["s"]["new"] == 2
    assert by_source(fetch_json(sources))["s"]["new"] == 1
    titles = sorted(
        t for (t,) in sqlite3.connect(tmp_path / "archive.db").execute("SELECT title FROM items")
    )
    assert titles == ["Chip rule", "Entity List additions", "New tariff notice"]


def test_leaderboard_rows_sharing_a_details_url_are_not_merged(
    tmp_path: Path, server: LocalServer
) -> None:
    body = (TESTS / "data/benchmarks/mlperf-summary-results-round1.json").read_bytes()
    one = server.route("/a.json", Reply(body=body, content_type="application/json"))
    two = server.route("/b.json", Reply(body=body, content_type="application/json"))
    sources = write_sources(
        tmp_path,
        [
            {
                "id": "offline",
                "kind": "table",
                "preset": "mlperf",
                "url": one,
                "where": {"Scenario": "Offline"},
            },
            {
                "id": "server",
                "kind": "table",
                "preset": "mlperf",
                "url": two,
                "where": {"Scenario": "Server"},
            },
        ],
    )
    reports = by_source(fetch_json(sources))
    assert reports["offline"]["linked"] == reports["server"]["linked"] == 0
    db = sqlite3.connect(tmp_path / "archive.db")
    per_source = dict(db.execute("SELECT source_id, count(*) FROM items GROUP BY source_id"))
    assert per_source == {"offline": reports["offline"]["new"], "server": reports["server"]["new"]}


def test_a_trickling_server_cannot_outlast_the_total_timeout(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/drip", Reply(body=b"<rss>" + b"x" * 200 + b"</rss>", drip=0.2))
    sources = write_sources(
        tmp_path, [{"id": "d", "url": url}], read_timeout="5s", total_timeout="1s"
    )
    started = time.monotonic()
    assert by_source(fetch_json(sources))["d"]["outcome"] == "timeout"
    assert time.monotonic() - started < 4  # the 1 s budget, plus at most one read


def test_a_redirect_to_another_host_does_not_carry_the_sources_headers(
    tmp_path: Path, server: LocalServer
) -> None:
    other = LocalServer().start()
    try:
        target = other.route("/feed", Reply(body=_rss(("a", "/a", "x")))).replace(
            "127.0.0.1", "localhost"
        )
        url = server.route("/f", Reply(status=302, headers={"Location": target}))
        sources = write_sources(
            tmp_path, [{"id": "s", "url": url, "headers": {"Authorization": "Bearer SECRET-123"}}]
        )
        assert by_source(fetch_json(sources))["s"]["outcome"] == "ok"
        assert "authorization" not in other.hits("/feed")[0].headers
        assert server.hits("/f")[0].headers["authorization"] == "Bearer SECRET-123"
    finally:
        other.stop()


def test_a_429_stops_further_requests_to_that_host_within_the_poll(
    tmp_path: Path, server: LocalServer
) -> None:
    items = "".join(f'<li><h3>Release {i}</h3><a href="/a{i}">r</a></li>' for i in range(1, 6))
    url = server.route("/list", Reply(body=f"<ul>{items}</ul>".encode(), content_type="text/html"))
    for i in range(1, 6):
        server.route(
            f"/a{i}", Reply(status=429, headers={"Retry-After": "3600"}, content_type="text/html")
        )
    sources = write_sources(
        tmp_path,
        [
            {
                "id": "h",
                "kind": "html",
                "url": url,
                "follow_links": True,
                "select": {"item": "li", "title": "h3"},
            }
        ],
    )
    fetch_json(sources)
    assert len([r for r in server.requests if r.path.startswith("/a")]) == 1


def test_sources_check_honours_retry_after(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/f", Reply(status=429, headers={"Retry-After": "3600"}))
    sources = write_sources(tmp_path, [{"id": "s", "url": url}])
    fetch_json(sources)
    result = run_cli("sources", "check", "s", "--json", sources=sources)
    assert json.loads(result.stdout)[0]["outcome"] == "deferred"
    assert len(server.hits("/f")) == 1


def test_changing_every_or_url_reschedules_the_source(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/f", Reply(body=_rss(("a", "/a", "x"))))
    sources = write_sources(tmp_path, [{"id": "s", "url": url, "every": "1d"}])
    fetch_json(sources)
    write_sources(tmp_path, [{"id": "s", "url": url, "every": "5m"}])
    health = json.loads(run_cli("sources", "--json", sources=sources).stdout)[0]
    assert health["next_check_at"] is None  # due at the next tick


def test_jitter_must_be_a_fraction() -> None:
    for bad in (-5, 2, True, "lots"):
        with pytest.raises(ConfigError, match=r"settings\.jitter: expected a number from 0 to 1"):
            parse_config({"settings": {"jitter": bad}}, Path("sources.toml"))


def test_run_once_refuses_to_run_beside_a_daemon_and_fails_when_nothing_works(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/f", Reply(status=500))
    sources = write_sources(tmp_path, [{"id": "s", "url": url}])
    with DaemonLock(tmp_path / "archive.db"):
        beside = run_cli("run", "--once", sources=sources)
    assert beside.exit_code == 1 and "already running" in beside.stderr
    assert not server.hits("/f")
    alone = run_cli("run", "--once", "--json", sources=sources)
    assert alone.exit_code == 1 and json.loads(alone.stdout)["totals"]["failed"] == 1


def test_a_poll_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    a, b = open_archive(path), open_archive(path)
    a.execute("INSERT INTO sources (id, kind, url, every) VALUES ('s', 'feed', 'http://x', '1h')")
    a.conn.commit()
    with write_transaction(a):
        a.execute("SELECT count(*) FROM item_sources").fetchall()
        a.execute("UPDATE sources SET error_count = 1 WHERE id = 's'")
    with write_transaction(b):
        b.execute("UPDATE sources SET last_status = 'ok' WHERE id = 's'")
    assert a.execute("SELECT error_count, last_status FROM sources").fetchone() == (1, "ok")


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("https://x.org/a?api_token=AAA&q=1", "AAA"),
        ("https://x.org/a?client_secret=BBB", "BBB"),
        ("https://x.org/a?X-Amz-Signature=CCC", "CCC"),
        ("https://x.org/a?access_key=DDD", "DDD"),
        ("https://user:EEE@x.org/a", "EEE"),
    ],
)
def test_secret_looking_url_parts_are_masked(url: str, hidden: str) -> None:
    assert hidden not in redact_url(url)
    assert (
        redact_url("https://x.org/search?keywords=chips") == "https://x.org/search?keywords=chips"
    )


def test_the_archive_never_holds_a_secret_from_a_source_url(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/f?api_key=TOPSECRET", Reply(body=_rss(("a", "/a", "x")), etag='"1"'))
    sources = write_sources(tmp_path, [{"id": "s", "url": url}])
    assert by_source(fetch_json(sources))["s"]["outcome"] == "ok"
    assert by_source(fetch_json(sources))["s"]["outcome"] == "not_modified"  # validators kept
    dump = "\n".join(open_archive(tmp_path / "archive.db").conn.iterdump())
    assert "TOPSECRET" not in dump
    assert len(server.hits("/f?api_key=TOPSECRET")) == 2


def test_now_helpers_round_trip() -> None:
    from signals.times import parse_utc_iso, to_utc_iso

    moment = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert parse_utc_iso(to_utc_iso(moment)) == moment
    assert to_utc_iso(moment - timedelta(hours=5)) == "2026-03-08T02:00:00Z"
