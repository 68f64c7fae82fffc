"""kind = "html": list pages scraped with CSS selectors, polled into a real archive."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from signals.archive import open_archive
from signals.config import load_config
from signals.times import parse_utc_iso
from tests.conftest import TESTS, by_source, fetch_json, real, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

DATA = TESTS / "data" / "html"

SHIPPED = load_config(TESTS.parent / "sources.toml").source("bis-press-releases")


def _bis_source(url: str, **extra: Any) -> dict[str, Any]:
    """The shipped bis.gov entry (sources.toml), pointed at the local server."""
    assert SHIPPED is not None
    options = {k: v for k, v in SHIPPED.options.items() if k not in ("follow_links", "follow_max")}
    return {"id": "bis-press", "kind": "html", "url": url, **options, **extra}


def _rows(db_path: Path) -> list[dict[str, Any]]:
    db = open_archive(db_path)
    return list(db.query("SELECT * FROM items ORDER BY published_at DESC"))


def test_bis_list_page_becomes_items_with_absolute_links_and_eastern_dates(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route(
        "/news-updates", Reply.file(DATA / "bis-news-updates.html", content_type="text/html")
    )
    sources = write_sources(tmp_path, [_bis_source(url)])
    report = by_source(fetch_json(sources))["bis-press"]
    assert report["outcome"] == "ok", report
    assert report["new"] == 4

    rows = _rows(tmp_path / "archive.db")
    first = rows[0]
    assert first["title"] == (
        "Department of Commerce Revises License Review Policy for Semiconductors Exported to China"
    )
    # a site-relative href resolved against the page URL
    assert first["url"] == server.url(
        "/press-release/department-commerce-revises-license-review-policy-semiconductors-exported-china"
    )
    # "January 13, 2026" is a Washington date: midnight EST is 05:00 UTC
    assert first["published_at"] == "2026-01-13T05:00:00Z"
    assert first["date_estimated"] == 0
    assert first["summary"].startswith("Today, the Bureau of Industry and Security (BIS) revised")
    absolute = next(r for r in rows if r["title"].startswith("Haas Automation"))
    assert absolute["url"].startswith("https://www.bis.gov/press-release/haas-automation")
    curly = next(r for r in rows if r["title"].startswith("Commerce Strengthens"))
    assert "China’s Capability" in curly["title"]  # &rsquo; decoded
    no_teaser = next(r for r in rows if r["title"].startswith("U.S. Army Major"))
    assert no_teaser["summary"] == ""


def test_layout_change_is_a_named_failure_that_backs_off(
    tmp_path: Path, server: LocalServer
) -> None:
    redesigned = (
        b"<html><head><title>News | BIS</title></head><body>"
        b"<div class='card'><h2><a href='/a'>Rule one</a></h2></div></body></html>"
    )
    url = server.route("/news-updates", Reply(body=redesigned, content_type="text/html"))
    sources = write_sources(tmp_path, [_bis_source(url, every="10m")])
    report = by_source(fetch_json(sources))["bis-press"]
    assert report["outcome"] == "selector_empty"
    assert "select.item 'li[data-date]' matched nothing" in report["error"]
    assert "layout may have changed" in report["error"]

    result = run_cli("sources", "--json", sources=sources)
    health = {row["id"]: row for row in json.loads(result.stdout)}["bis-press"]
    assert health["last_status"] == "selector_empty"
    assert health["error_count"] == 1
    assert "matched nothing" in health["last_error"]
    # a second failure waits longer than `every` (backoff), and is counted
    second = by_source(fetch_json(sources))["bis-press"]
    assert second["outcome"] == "selector_empty"
    db = open_archive(tmp_path / "archive.db")
    row = next(db.query("SELECT error_count, next_check_at, last_checked_at FROM sources"))
    assert row["error_count"] == 2
    wait = parse_utc_iso(row["next_check_at"]) - parse_utc_iso(row["last_checked_at"])
    assert timedelta(minutes=19) < wait <= timedelta(minutes=21)  # 2 x every after 2 failures


def test_items_found_but_no_titles_is_also_selector_empty(
    tmp_path: Path, server: LocalServer
) -> None:
    page = b"<html><body><ul><li data-date='x'><a href='/a'><h4>Only h4 now</h4></a></li></ul></body></html>"
    url = server.route("/news", Reply(body=page, content_type="text/html"))
    sources = write_sources(tmp_path, [_bis_source(url)])
    report = by_source(fetch_json(sources))["bis-press"]
    assert report["outcome"] == "selector_empty"
    assert "select.title 'h3' matched nothing in any of the 1 items" in report["error"]


LIST_TEMPLATE = """<html><head>{meta}<title>{title}</title></head><body><ul>
<li class="n"><a href="/a1"><h3>{one}</h3></a><span class="d">2026-01-13</span></li>
<li class="n"><a href="/a2"><h3>{two}</h3></a><span class="d">2026-01-12</span></li>
</ul></body></html>"""


def _legacy_page(encoding: str, meta: str, one: str, two: str) -> bytes:
    return LIST_TEMPLATE.format(meta=meta, title=one, one=one, two=two).encode(encoding)


def test_windows_1252_page_with_only_a_meta_charset(tmp_path: Path, server: LocalServer) -> None:
    one = "Zölle auf Halbleiter: Übersicht – Kommentar"
    two = "Café “Export” Résumé"
    body = _legacy_page("windows-1252", '<meta charset="windows-1252">', one, two)
    url = server.route("/legacy", Reply(body=body, content_type="text/html"))  # no charset
    source = {
        "id": "legacy",
        "kind": "html",
        "url": url,
        "select": {"item": "li.n", "title": "h3", "date": "span.d"},
    }
    sources = write_sources(tmp_path, [source])
    assert by_source(fetch_json(sources))["legacy"]["outcome"] == "ok"
    titles = {r["title"] for r in _rows(tmp_path / "archive.db")}
    assert titles == {one, two}


def test_shift_jis_page_without_any_declared_charset(tmp_path: Path, server: LocalServer) -> None:
    one = "経済産業省、半導体製造装置の輸出管理を強化する省令を公布しました"
    two = "先端半導体の輸出管理に関する説明会の開催について（お知らせ）"
    body = _legacy_page("shift_jis", "", one, two)
    url = server.route("/jp", Reply(body=body, content_type="text/html"))
    source = {"id": "jp", "kind": "html", "url": url, "select": {"item": "li.n", "title": "h3"}}
    sources = write_sources(tmp_path, [source])
    assert by_source(fetch_json(sources))["jp"]["outcome"] == "ok"
    titles = {r["title"] for r in _rows(tmp_path / "archive.db")}
    assert titles == {one, two}


def test_header_charset_wins_over_a_wrong_meta_tag(tmp_path: Path, server: LocalServer) -> None:
    one = "Ausfuhrkontrolle für Hochleistungschips"
    body = _legacy_page("iso-8859-1", '<meta charset="utf-8">', one, "Zweite Meldung")
    url = server.route("/de", Reply(body=body, content_type="text/html; charset=ISO-8859-1"))
    source = {"id": "de", "kind": "html", "url": url, "select": {"item": "li.n", "title": "h3"}}
    sources = write_sources(tmp_path, [source])
    assert by_source(fetch_json(sources))["de"]["outcome"] == "ok"
    assert one in {r["title"] for r in _rows(tmp_path / "archive.db")}


def test_unparseable_dates_are_warnings_and_the_item_is_kept(
    tmp_path: Path, server: LocalServer
) -> None:
    page = (
        b"<html><body><ul>"
        b"<li><a href='/1'><h3>Dated</h3></a><time datetime='2026-01-13T09:30:00-05:00'>x</time></li>"
        b"<li><a href='/2'><h3>Odd date</h3></a><time datetime='sometime soon'>y</time></li>"
        b"</ul></body></html>"
    )
    url = server.route("/t", Reply(body=page, content_type="text/html"))
    source = {
        "id": "t",
        "kind": "html",
        "url": url,
        "select": {"item": "li", "title": "h3", "date": "time"},
        "date_attr": "datetime",
    }
    sources = write_sources(tmp_path, [source])
    report = by_source(fetch_json(sources))["t"]
    assert report["outcome"] == "ok" and report["new"] == 2
    assert any("'Odd date'" in w and "unrecognised date" in w for w in report["warnings"])
    rows = {r["title"]: r for r in _rows(tmp_path / "archive.db")}
    assert rows["Dated"]["published_at"] == "2026-01-13T14:30:00Z"
    assert rows["Odd date"]["date_estimated"] == 1


def test_follow_links_extracts_article_text_for_new_items_only(
    tmp_path: Path, server: LocalServer
) -> None:
    listing = (DATA / "bis-news-updates.html").read_bytes()
    article = (DATA / "bis-press-release.html").read_bytes()
    url = server.route("/news-updates", Reply(body=listing, content_type="text/html"))
    first_path = "/press-release/department-commerce-revises-license-review-policy-semiconductors-exported-china"
    server.route(first_path, Reply(body=article, content_type="text/html; charset=utf-8"))
    sources = write_sources(
        tmp_path, [_bis_source(url, follow_links=True, follow_max=2, every="1m")]
    )
    report = by_source(fetch_json(sources))["bis-press"]
    assert report["outcome"] == "ok", report
    # two of the three relative article links were followed (follow_max = 2); the
    # absolute www.bis.gov link is one of the four but must never leave 127.0.0.1
    assert any("followed 2 of 4 new article links" in w for w in report["warnings"])
    assert len(server.hits(first_path)) == 1
    body = next(r["body"] for r in _rows(tmp_path / "archive.db") if r["url"].endswith(first_path))
    assert "case-by-case review" in body
    assert "NVIDIA H200" in body
    assert "Privacy Policy" not in body and "Related release" not in body

    # polled again: known items are not fetched again
    again = by_source(fetch_json(sources))["bis-press"]
    assert again["new"] == 0
    assert len(server.hits(first_path)) == 1


def test_follow_links_reads_a_real_edgar_filing_document(
    tmp_path: Path, server: LocalServer
) -> None:
    document = real("edgar/nvidia-8-K-nvda-20260302.htm")
    path = "/Archives/edgar/data/1045810/000104581026000024/nvda-20260302.htm"
    server.route(path, Reply.file(document, content_type="text/html"))
    listing = (
        f"<html><body><table><tr class='filing'><td><a href='{path}'>8-K</a></td>"
        "<td class='d'>2026-03-06</td></tr></table></body></html>"
    ).encode()
    url = server.route("/filings", Reply(body=listing, content_type="text/html"))
    source = {
        "id": "filings",
        "kind": "html",
        "url": url,
        "select": {"item": "tr.filing", "title": "a", "date": "td.d"},
        "follow_links": True,
    }
    sources = write_sources(tmp_path, [source])
    assert by_source(fetch_json(sources))["filings"]["outcome"] == "ok"
    body = next(open_archive(tmp_path / "archive.db").query("SELECT body FROM items"))["body"]
    assert "NVIDIA CORPORATION" in body
    assert "Item 5.02" in body
