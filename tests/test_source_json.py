"""kind = "json": the Federal Register preset and the generic field mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signals.archive import open_archive
from tests.conftest import TESTS, by_source, fetch_json, real, write_sources
from tests.httpserver import LocalServer, Reply

FR = TESTS / "data" / "federal_register"
FR_HOST = "https://www.federalregister.gov"


def _page(server: LocalServer, number: int) -> Reply:
    """A documents.json fixture page whose next_page_url points at the local server."""
    text = (FR / f"documents-page{number}.json").read_text(encoding="utf-8")
    body = text.replace(FR_HOST, server.url("")).encode()
    return Reply(body=body, content_type="application/json; charset=utf-8")


def _route_pages(server: LocalServer) -> str:
    # next_page_url keeps the API path; the local server routes on path + query
    for number in (2, 3):
        query = (
            "/api/v1/documents.json?conditions%5Bagencies%5D%5B%5D=industry-and-security-bureau"
            f"&order=newest&per_page=3&page={number}"
        )
        server.route(query, _page(server, number))
    return server.route("/api/v1/documents.json", _page(server, 1))


def _fr_source(url: str, **extra: Any) -> dict[str, Any]:
    return {"id": "fr-bis", "kind": "json", "preset": "federal_register", "url": url, **extra}


def _facts(db: Any, number: str) -> set[tuple[str, str | None]]:
    rows = db.query(
        "SELECT f.kind, f.text FROM facts f JOIN items i ON i.id = f.item_id"
        " WHERE json_extract(i.meta, '$.document_number') = ? AND f.origin = 'source'",
        [number],
    )
    return {(r["kind"], r["text"]) for r in rows}


def test_federal_register_documents_become_items_with_dates_and_cfr_facts(
    tmp_path: Path, server: LocalServer
) -> None:
    url = _route_pages(server)
    sources = write_sources(tmp_path, [_fr_source(url)])
    report = by_source(fetch_json(sources))["fr-bis"]
    assert report["outcome"] == "ok", report
    assert report["new"] == 7  # three pages of 3 + 3 + 1

    db = open_archive(tmp_path / "archive.db")
    rule = next(db.query("SELECT * FROM items WHERE url LIKE '%2026-00712%'"))
    meta = json.loads(rule["meta"])
    assert meta["type"] == "Rule"
    assert meta["document_number"] == "2026-00712"
    assert meta["agencies"] == ["Commerce Department", "Industry and Security Bureau"]
    assert meta["pdf_url"].endswith("/2026-00712.pdf")
    assert rule["published_at"] == "2026-01-15T05:00:00Z"  # an Eastern publication day
    assert rule["summary"].startswith("In this rule, the Bureau of Industry and Security")
    assert "CFR: 15 CFR 742, 15 CFR 744." in rule["body"]
    assert _facts(db, "2026-00712") == {
        ("publication_date", "2026-01-15"),
        ("effective_date", "2026-01-15"),
        ("cfr_part", "15 CFR 742"),
        ("cfr_part", "15 CFR 744"),
    }
    assert ("comment_deadline", "2026-03-16") in _facts(db, "2026-00655")
    fact = next(db.query("SELECT value, unit FROM facts WHERE kind = 'comment_deadline'"))
    assert fact == {"value": None, "unit": "date"}


def test_missing_optional_fields_and_wrong_types_are_warnings(
    tmp_path: Path, server: LocalServer
) -> None:
    url = _route_pages(server)
    sources = write_sources(tmp_path, [_fr_source(url)])
    report = by_source(fetch_json(sources))["fr-bis"]
    warnings = "\n".join(report["warnings"])
    assert "document 2026-00603: effective_on 20260201 is not a YYYY-MM-DD date" in warnings
    assert "document 2025-23777: cfr_references is not a list; ignored" in warnings

    db = open_archive(tmp_path / "archive.db")
    notice = next(db.query("SELECT * FROM items WHERE url LIKE '%2026-00603%'"))
    assert notice["summary"] == ""  # no abstract: kept, with the title
    assert "pdf_url" not in json.loads(notice["meta"])
    assert _facts(db, "2026-00603") == {("publication_date", "2026-01-13")}


def test_paging_stops_at_the_first_page_holding_archived_documents(
    tmp_path: Path, server: LocalServer
) -> None:
    url = _route_pages(server)
    sources = write_sources(tmp_path, [_fr_source(url, every="1m")])
    fetch_json(sources)
    page2 = [h for h in server.requests if h.path.endswith("page=2")]
    assert len(page2) == 1

    # a new document appears on top of page 1; page 1 still lists archived ones
    first = json.loads(_page(server, 1).body)
    newest = dict(
        first["results"][0], document_number="2026-00800", title="Additions to the Entity List"
    )
    newest["html_url"] = newest["html_url"].replace("2026-00712", "2026-00800")
    first["results"] = [newest, *first["results"][:2]]
    server.route(
        "/api/v1/documents.json",
        Reply(body=json.dumps(first).encode(), content_type="application/json"),
    )
    report = by_source(fetch_json(sources))["fr-bis"]
    assert report["outcome"] == "ok"
    assert report["new"] == 1
    assert len([h for h in server.requests if h.path.endswith("page=2")]) == 1  # not again


def test_page_cap_bounds_a_first_fill(tmp_path: Path, server: LocalServer) -> None:
    url = _route_pages(server)
    sources = write_sources(tmp_path, [_fr_source(url, max_pages=2)])
    report = by_source(fetch_json(sources))["fr-bis"]
    assert report["new"] == 6
    assert any("stopped after 2 pages (max_pages = 2)" in w for w in report["warnings"])
    assert not [h for h in server.requests if h.path.endswith("page=3")]


def test_a_failing_next_page_keeps_what_was_read(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/api/v1/documents.json", _page(server, 1))  # page 2 is not routed: 404
    sources = write_sources(tmp_path, [_fr_source(url)])
    report = by_source(fetch_json(sources))["fr-bis"]
    assert report["outcome"] == "ok"
    assert report["new"] == 3
    assert any("page 2: http_404" in w for w in report["warnings"])


def test_a_daily_table_of_contents_is_not_the_documents_api(
    tmp_path: Path, server: LocalServer
) -> None:
    toc = real("federal_register/fr-document-toc-2016-02-29.json")
    url = server.route("/toc.json", Reply.file(toc, content_type="application/json"))
    sources = write_sources(tmp_path, [_fr_source(url)])
    report = by_source(fetch_json(sources))["fr-bis"]
    assert report["outcome"] == "parse_error"
    assert "no 'results' list" in report["error"]
    assert "daily table of contents" in report["error"]


def test_generic_mapping_reads_the_real_table_of_contents(
    tmp_path: Path, server: LocalServer
) -> None:
    toc = real("federal_register/fr-document-toc-2016-02-29.json")
    url = server.route("/toc.json", Reply.file(toc, content_type="application/json"))
    source = {
        "id": "fr-toc",
        "kind": "json",
        "url": url,
        "fields": {
            "items": "agencies.*.document_categories.*.documents",
            "id": "document_numbers.0",
            "title": ["subject_1", "subject_2"],
            "url_template": "https://www.federalregister.gov/d/{id}",
        },
    }
    sources = write_sources(tmp_path, [source])
    report = by_source(fetch_json(sources))["fr-toc"]
    assert report["outcome"] == "ok", report
    assert report["new"] > 50
    db = open_archive(tmp_path / "archive.db")
    bis = next(db.query("SELECT title, url FROM items WHERE url LIKE '%2016-04324'"))
    assert bis == {
        "title": "Updated Legal Authority Citations",
        "url": "https://www.federalregister.gov/d/2016-04324",
    }
    # two-part subjects are joined; an entry without subject_2 still has a title, which
    # is nothing to warn about on every poll
    joined = next(db.query("SELECT title FROM items WHERE url LIKE '%2016-04047'"))
    assert joined["title"] == "Livestock Mandatory Reporting: Lamb Reporting Requirements"
    assert not any("no title" in w for w in report["warnings"])


def test_generic_mapping_missing_list_path_names_the_path(
    tmp_path: Path, server: LocalServer
) -> None:
    body = json.dumps({"data": {"items": []}, "meta": {}}).encode()
    url = server.route("/api", Reply(body=body, content_type="application/json"))
    source = {
        "id": "api",
        "kind": "json",
        "url": url,
        "fields": {"items": "data.articles", "title": "t"},
    }
    sources = write_sources(tmp_path, [source])
    report = by_source(fetch_json(sources))["api"]
    assert report["outcome"] == "parse_error"
    assert (
        report["error"] == "fields.items: nothing at 'data.articles' (top-level keys: data, meta)"
    )


def test_generic_mapping_wrong_types_and_missing_fields_warn_per_entry(
    tmp_path: Path, server: LocalServer
) -> None:
    articles = [
        {"id": 101, "headline": "Chip export rule published", "when": "2026-01-13T10:00:00Z",
         "link": "https://example.org/a/101", "teaser": "BIS rule."},
        {"id": 102, "headline": ["not", "text"], "when": 1768300000, "teaser": "Only a teaser."},
        {"id": 103, "headline": "No date here", "link": "https://example.org/a/103"},
        {"id": 104, "headline": "Bad date", "when": "the 13th", "link": "/a/104"},
        "not an object",
    ]  # fmt: skip
    body = json.dumps({"articles": articles}).encode()
    url = server.route("/api", Reply(body=body, content_type="application/json"))
    source = {
        "id": "api",
        "kind": "json",
        "url": url,
        "fields": {"items": "articles", "id": "id", "title": "headline", "url": "link",
                   "date": "when", "summary": "teaser"},
    }  # fmt: skip
    sources = write_sources(tmp_path, [source])
    report = by_source(fetch_json(sources))["api"]
    assert report["outcome"] == "ok"
    assert report["new"] == 4
    warnings = "\n".join(report["warnings"])
    assert "entry 2: title at 'headline' is a list, not text" in warnings
    assert "entry 3: no date at 'when'" in warnings
    assert "entry 4: unrecognised date 'the 13th'" in warnings
    assert "entry 5 skipped: expected an object" in warnings
    db = open_archive(tmp_path / "archive.db")
    rows = {r["title"]: r for r in db.query("SELECT * FROM items")}
    assert rows["Chip export rule published"]["published_at"] == "2026-01-13T10:00:00Z"
    assert rows["Only a teaser."]["published_at"] == "2026-01-13T10:26:40Z"  # epoch seconds
    assert rows["Bad date"]["url"] == server.url("/a/104")
