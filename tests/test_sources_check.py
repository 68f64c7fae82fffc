"""`signals sources check`: what a source would yield, and nothing written anywhere."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import TESTS, fetch_json, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

BIS = TESTS / "data" / "html" / "bis-news-updates.html"
FR_PAGE = TESTS / "data" / "federal_register" / "documents-page1.json"
SELECT = {"item": "li[data-date]", "title": "h3", "date": "span.date"}


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("sources", "items", "fetches", "item_sources", "facts")
        }


def test_check_without_an_archive_reports_and_creates_nothing(
    tmp_path: Path, server: LocalServer
) -> None:
    html = server.route("/news", Reply.file(BIS, content_type="text/html"))
    broken = server.route(
        "/broken", Reply(body=b"<html><body>redesigned</body></html>", content_type="text/html")
    )
    fr = server.route("/fr.json", Reply.file(FR_PAGE, content_type="application/json"))
    sources = write_sources(
        tmp_path,
        [
            {"id": "bis", "kind": "html", "url": html, "select": SELECT},
            {"id": "redesigned", "kind": "html", "url": broken, "select": SELECT},
            {"id": "fr", "kind": "json", "preset": "federal_register", "url": fr},
        ],
    )
    result = run_cli("sources", "check", "--json", sources=sources)
    assert result.exit_code == 1  # one source failed
    reports = {r["source_id"]: r for r in json.loads(result.stdout)}
    assert reports["bis"]["outcome"] == "ok"
    assert reports["bis"]["entries"] == reports["bis"]["new"] == 4
    assert reports["bis"]["titles"][0].startswith("Department of Commerce Revises License")
    assert reports["redesigned"]["outcome"] == "selector_empty"
    assert "matched nothing" in reports["redesigned"]["error"]
    # preview: the next page is named, not fetched (its URL points at the real API)
    assert reports["fr"]["entries"] == 3
    assert "preview: did not follow next_page_url" in reports["fr"]["warnings"]
    assert not (tmp_path / "archive.db").exists()
    assert not list(tmp_path.glob("archive.db*"))


def test_check_reads_the_archive_but_never_writes_it(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/news", Reply.file(BIS, content_type="text/html", etag='"v1"'))
    sources = write_sources(tmp_path, [{"id": "bis", "kind": "html", "url": url, "select": SELECT}])
    fetch_json(sources)
    db = tmp_path / "archive.db"
    before = _snapshot(db)

    result = run_cli("sources", "check", "bis", sources=sources)
    assert result.exit_code == 0, result.output
    assert "bis (html) ok 200  4 entries, 0 not archived yet" in result.stdout
    assert "1. Department of Commerce Revises License Review Policy" in result.stdout
    assert "nothing written" in result.stdout
    assert _snapshot(db) == before
    # an unconditional request: the stored ETag was not sent, so the answer was not a 304
    assert "if-none-match" not in server.hits("/news")[-1].headers


def test_check_names_unknown_sources(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [{"id": "a", "url": "https://example.org/feed"}])
    result = run_cli("sources", "check", "nope", sources=sources)
    assert result.exit_code == 2
    assert "unknown source nope (known: a)" in result.output
