"""Whole polls through the CLI into a real archive: identity, updates, isolation, health."""

from __future__ import annotations

import json
from pathlib import Path

from signals.archive import open_archive
from tests.conftest import TESTS, by_source, fetch_json, real, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

SMALL = TESTS / "data" / "feeds" / "small.rss.xml"


def _rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{g}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item>"
        for g, t, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def test_same_entry_seen_again_is_not_a_new_item(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/feed", Reply.file(SMALL))  # no validators: the server sends it all again
    sources = write_sources(tmp_path, [{"id": "small", "url": url}])
    assert by_source(fetch_json(sources))["small"]["new"] == 3
    again = by_source(fetch_json(sources))["small"]
    assert (again["outcome"], again["new"], again["updated"], again["seen"]) == ("ok", 0, 0, 3)
    db = open_archive(tmp_path / "archive.db")
    assert db["items"].count == 3 and db["item_sources"].count == 3


def test_normalized_fields_of_a_small_feed(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "small", "url": url}])
    report = by_source(fetch_json(sources))["small"]
    assert any("dated by when first seen" in w for w in report["warnings"])
    db = open_archive(tmp_path / "archive.db")
    rows = {r["title"]: r for r in db.query("SELECT * FROM items")}
    entity = rows["Commerce adds 12 Chinese entities to the Entity List"]
    assert entity["url"] == "https://example.org/news/entity-list"
    assert entity["summary"] == "The Bureau of Industry and Security added 12 entities."
    assert entity["published_at"] == "2026-11-24T15:00:00Z"
    johor = rows["New 300 MW data center campus announced in Johor"]
    assert johor["url"] == server.url("/news/johor-campus")  # relative to the feed's URL
    assert johor["published_at"] == "2026-11-24T04:00:00Z"
    undated = rows["Quarterly results: capex up 40%"]
    assert undated["date_estimated"] == 1 and undated["published_at"] == undated["fetched_at"]
    assert undated["url"] == "https://example.org/news/results"


def test_changed_entry_is_updated_in_place(tmp_path: Path, server: LocalServer) -> None:
    """The Node.js blog rewrote one entry between two real snapshots."""
    first = real("news/nodejs-vulnerability-blog-snapshot1.rss.xml")
    second = real("news/nodejs-vulnerability-blog-snapshot2.rss.xml")
    url = server.route("/node", Reply.file(first), Reply.file(second))
    sources = write_sources(tmp_path, [{"id": "node", "url": url}])
    assert by_source(fetch_json(sources))["node"]["new"] == 1
    db = open_archive(tmp_path / "archive.db")
    before = dict(next(db.query("SELECT * FROM items")))
    report = by_source(fetch_json(sources))["node"]
    assert (report["new"], report["updated"]) == (0, 1)
    rows = list(db.query("SELECT * FROM items"))
    assert len(rows) == 1
    after = rows[0]
    assert after["id"] == before["id"]
    assert after["updated_at"] is not None
    assert len(after["body"] or after["summary"]) > len(before["body"] or before["summary"])
    assert after["published_at"] == "2020-02-06T12:00:00Z"
    search = "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'desync'"
    assert "desync" not in (before["body"] + before["summary"]).lower()
    assert db.execute(search).fetchone()[0] == 1, "full-text index follows the update"


def test_near_identical_titles_stay_two_items(tmp_path: Path, server: LocalServer) -> None:
    body = _rss(
        ("ops-1", "Daily operations update: 24 November 2026", "https://ex.org/ops/1"),
        ("ops-2", "Daily operations update: 25 November 2026", "https://ex.org/ops/2"),
    )
    url = server.route("/ops", Reply(body=body))
    sources = write_sources(tmp_path, [{"id": "ops", "url": url}])
    assert by_source(fetch_json(sources))["ops"]["new"] == 2


def test_the_same_article_from_two_sources_is_one_item(tmp_path: Path, server: LocalServer) -> None:
    a = server.route(
        "/a", Reply(body=_rss(("a-1", "TSMC to build fab", "https://news.ex/fab?utm_source=a")))
    )
    b = server.route(
        "/b", Reply(body=_rss(("b-9", "TSMC to build a fab", "https://news.ex/fab#top")))
    )
    sources = write_sources(tmp_path, [{"id": "a", "url": a}, {"id": "b", "url": b}])
    fetch_json(sources)
    db = open_archive(tmp_path / "archive.db")
    assert db["items"].count == 1
    carriers = sorted(r["source_id"] for r in db.query("SELECT source_id FROM item_sources"))
    assert carriers == ["a", "b"]
    fetch_json(sources)
    assert db["items"].count == 1 and db["item_sources"].count == 2


def test_one_failing_source_never_stops_the_others(tmp_path: Path, server: LocalServer) -> None:
    good = [
        {
            "id": f"good-{i}",
            "url": server.route(
                f"/g{i}", Reply(body=_rss((f"g{i}", f"Item {i}", f"https://ex.org/{i}")))
            ),
        }
        for i in range(4)
    ]
    bad = {"id": "bad", "url": server.route("/bad", Reply(status=500))}
    sources = write_sources(tmp_path, [*good[:2], bad, *good[2:]])
    result = run_cli("fetch", sources=sources)
    assert result.exit_code == 1
    assert "bad" in result.stdout and "http_500" in result.stdout
    assert "4 ok" in result.stdout and "1 failed" in result.stdout
    db = open_archive(tmp_path / "archive.db")
    assert db["items"].count == 4


def test_fetch_named_sources_only_and_reject_unknown_ids(
    tmp_path: Path, server: LocalServer
) -> None:
    one = server.route("/1", Reply.file(SMALL))
    two = server.route("/2", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "one", "url": one}, {"id": "two", "url": two}])
    document = fetch_json(sources, "two")
    assert [r["source"] for r in document["sources"]] == ["two"]
    assert not server.hits("/1")
    result = run_cli("fetch", "nope", sources=sources)
    assert result.exit_code == 2 and "unknown source nope" in result.stderr


def test_sources_health_table(tmp_path: Path, server: LocalServer) -> None:
    good = server.route("/good", Reply.file(SMALL))
    bad = server.route("/bad", Reply(status=404))
    sources = write_sources(tmp_path, [{"id": "good", "url": good}, {"id": "bad", "url": bad}])
    run_cli("fetch", sources=sources)
    result = run_cli("sources", "--json", sources=sources)
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["good"]["last_status"] == "ok" and rows["good"]["items"] == 3
    assert rows["bad"]["last_status"] == "http_404" and rows["bad"]["error_count"] == 1
    assert rows["bad"]["last_error"] == "HTTP 404 Not Found"
    table = run_cli("sources", sources=sources).stdout
    assert "http_404" in table and "HTTP 404 Not Found" in table


def test_removed_source_keeps_its_items(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "old", "url": url}])
    fetch_json(sources)
    sources = write_sources(tmp_path, [])
    result = run_cli("sources", "--json", sources=sources)
    rows = json.loads(result.stdout)
    assert rows[0]["id"] == "old" and rows[0]["enabled"] is False and rows[0]["items"] == 3


def test_full_text_search_over_title_summary_and_body(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "small", "url": url}])
    fetch_json(sources)
    db = open_archive(tmp_path / "archive.db")
    found = [
        r["title"]
        for r in db.query(
            "SELECT items.title FROM items_fts JOIN items ON items.rowid = items_fts.rowid"
            " WHERE items_fts MATCH 'bureau' ORDER BY rank"
        )
    ]
    assert found == ["Commerce adds 12 Chinese entities to the Entity List"]
