"""preset = "edgar_submissions": real data.sec.gov submissions JSON served over loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signals.archive import open_archive
from tests.conftest import by_source, fetch_json, real, write_sources
from tests.httpserver import LocalServer, Reply

SUBMISSIONS = {
    "apple": "edgar/data.sec.gov-submissions-CIK0000320193-apple.json",
    "microsoft": "edgar/data.sec.gov-submissions-CIK0000789019-microsoft.json",
    "nvidia": "edgar/data.sec.gov-submissions-CIK0001045810-nvidia.json",
}


def _serve(server: LocalServer, company: str) -> str:
    path = real(SUBMISSIONS[company])
    cik = path.name.split("CIK")[1][:10]
    return server.route(
        f"/submissions/CIK{cik}.json", Reply.file(path, content_type="application/json")
    )


def _edgar(url: str, **extra: Any) -> dict[str, Any]:
    return {"id": "edgar", "kind": "json", "preset": "edgar_submissions", "url": url, **extra}


def _recent(company: str) -> dict[str, list[Any]]:
    document = json.loads(real(SUBMISSIONS[company]).read_text())
    recent: dict[str, list[Any]] = document["filings"]["recent"]
    return recent


@pytest.mark.parametrize("company", ["apple", "microsoft", "nvidia"])
def test_every_recent_filing_becomes_an_item(
    tmp_path: Path, server: LocalServer, company: str
) -> None:
    url = _serve(server, company)
    sources = write_sources(tmp_path, [_edgar(url)])
    report = by_source(fetch_json(sources))["edgar"]
    assert report["outcome"] == "ok", report
    assert report["new"] == len(_recent(company)["accessionNumber"])
    db = open_archive(tmp_path / "archive.db")
    keys = {r["entry_key"] for r in db.query("SELECT entry_key FROM item_sources")}
    assert f"guid:{_recent(company)['accessionNumber'][0]}" in keys


def test_8k_items_are_spelled_out_and_link_to_the_filing(
    tmp_path: Path, server: LocalServer
) -> None:
    url = _serve(server, "nvidia")
    sources = write_sources(tmp_path, [_edgar(url, forms=["8-K", "10-K"])])
    report = by_source(fetch_json(sources))["edgar"]
    recent = _recent("nvidia")
    expected = sum(1 for form in recent["form"] if form in ("8-K", "10-K"))
    assert report["new"] == expected

    db = open_archive(tmp_path / "archive.db")
    rows = list(db.query("SELECT * FROM items"))
    forms = {json.loads(r["meta"])["form"] for r in rows}
    assert forms == {"8-K", "10-K"}

    index = recent["form"].index("8-K")
    accession = recent["accessionNumber"][index]
    row = next(r for r in rows if json.loads(r["meta"])["accession_number"] == accession)
    meta = json.loads(row["meta"])
    folder = f"https://www.sec.gov/Archives/edgar/data/1045810/{accession.replace('-', '')}"
    assert row["url"] == f"{folder}/{accession}-index.htm"
    assert meta["primary_document_url"] == f"{folder}/{recent['primaryDocument'][index]}"
    assert meta["company"] == "NVIDIA CORP"
    assert meta["filing_date"] == recent["filingDate"][index]
    items = recent["items"][index].split(",")
    assert meta["items"] == items
    if "2.02" in items:
        assert "Item 2.02 Results of Operations and Financial Condition" in row["title"]
    assert row["title"].startswith(f"NVIDIA CORP 8-K ({recent['filingDate'][index]}): Item ")
    # the filing day in Washington, not the ambiguous acceptanceDateTime
    assert row["published_at"].startswith(recent["filingDate"][index])
    fact = next(db.query("SELECT * FROM facts WHERE item_id = ?", [row["id"]]))
    assert (fact["kind"], fact["unit"], fact["text"]) == (
        "publication_date",
        "date",
        recent["filingDate"][index],
    )

    ten_k = next(r for r in rows if json.loads(r["meta"])["form"] == "10-K")
    filed = json.loads(ten_k["meta"])["filing_date"]
    assert ten_k["title"] == f"NVIDIA CORP files 10-K ({filed})"


def test_history_files_are_read_on_first_fill_only(tmp_path: Path, server: LocalServer) -> None:
    url = _serve(server, "apple")
    history = server.route(
        "/submissions/CIK0000320193-submissions-001.json",
        Reply.file(
            real("edgar/data.sec.gov-submissions-CIK0000320193-submissions-001.json"),
            content_type="application/json",
        ),
    )
    sources = write_sources(tmp_path, [_edgar(url, forms=["10-K", "8-K"], history_files=1)])
    report = by_source(fetch_json(sources))["edgar"]
    older = json.loads(
        real("edgar/data.sec.gov-submissions-CIK0000320193-submissions-001.json").read_text()
    )
    recent = _recent("apple")
    expected = sum(1 for f in recent["form"] + older["form"] if f in ("10-K", "8-K"))
    assert report["new"] == expected
    assert len(server.hits(history.removeprefix(server.url("")))) == 1
    db = open_archive(tmp_path / "archive.db")
    oldest = next(db.query("SELECT min(published_at) AS d FROM items"))["d"]
    assert oldest < "2013-03-01"  # from the history file (1994-2013)

    again = by_source(fetch_json(sources))["edgar"]
    assert again["new"] == 0
    assert len(server.hits(history.removeprefix(server.url("")))) == 1  # not re-read


def test_history_is_not_paged_by_default(tmp_path: Path, server: LocalServer) -> None:
    url = _serve(server, "microsoft")
    sources = write_sources(tmp_path, [_edgar(url, forms="10-Q")])
    report = by_source(fetch_json(sources))["edgar"]
    assert report["new"] == sum(1 for f in _recent("microsoft")["form"] if f == "10-Q")
    assert [r.path for r in server.requests] == [url.removeprefix(server.url(""))]


def test_a_filing_page_instead_of_the_api_is_a_clear_parse_error(
    tmp_path: Path, server: LocalServer
) -> None:
    page = real("edgar/nvidia-8-K-0001045810-26-000024-index.html")
    url = server.route("/index.html", Reply.file(page, content_type="text/html"))
    sources = write_sources(tmp_path, [_edgar(url)])
    report = by_source(fetch_json(sources))["edgar"]
    assert report["outcome"] == "parse_error"
    assert report["error"].startswith("invalid JSON (got an HTML page; is the URL the API?)")


def test_broken_rows_are_skipped_with_warnings(tmp_path: Path, server: LocalServer) -> None:
    document = {
        "cik": "1577552",
        "name": "Alibaba Group Holding Ltd",
        "tickers": ["BABA"],
        "filings": {
            "recent": {
                "accessionNumber": ["0001104659-26-000001", None, "0001104659-26-000003"],
                "form": ["6-K", "6-K", "20-F"],
                "filingDate": ["2026-01-10", "2026-01-09", "not-a-date"],
                "primaryDocument": ["tm261234d1_6k.htm", "", 42],
            },
            "files": [],
        },
    }
    url = server.route(
        "/submissions/CIK0001577552.json",
        Reply(body=json.dumps(document).encode(), content_type="application/json"),
    )
    sources = write_sources(tmp_path, [_edgar(url, forms=["6-K", "20-F"])])
    report = by_source(fetch_json(sources))["edgar"]
    assert report["outcome"] == "ok"
    assert report["new"] == 2
    warnings = "\n".join(report["warnings"])
    assert "skipped: no accession number or form" in warnings
    assert "filingDate 'not-a-date' is not a date" in warnings
    db = open_archive(tmp_path / "archive.db")
    metas = [json.loads(r["meta"]) for r in db.query("SELECT meta FROM items ORDER BY url")]
    assert metas[0]["primary_document_url"] == (
        "https://www.sec.gov/Archives/edgar/data/1577552/000110465926000001/tm261234d1_6k.htm"
    )
    assert "primary_document_url" not in metas[1]  # 42 is not a document name


def test_a_filing_seen_in_the_atom_feed_and_the_json_is_one_item(
    tmp_path: Path, server: LocalServer
) -> None:
    recent = _recent("nvidia")
    index = recent["form"].index("8-K")
    accession = recent["accessionNumber"][index]
    folder = f"https://www.sec.gov/Archives/edgar/data/1045810/{accession.replace('-', '')}"
    atom = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>NVIDIA CORP (0001045810)</title>
<entry><title>8-K  - Current report</title>
<link rel="alternate" type="text/html" href="{folder}/{accession}-index.htm"/>
<id>urn:tag:sec.gov,2008:accession-number={accession}</id>
<updated>{recent["filingDate"][index]}T16:30:00-05:00</updated></entry></feed>"""
    feed = server.route(
        "/atom", Reply(body=atom.encode("latin-1"), content_type="application/atom+xml")
    )
    sources = write_sources(
        tmp_path,
        [
            {"id": "nvda-atom", "url": feed, "rate_limit": "10/s"},
            _edgar(_serve(server, "nvidia"), forms=["8-K"]),
        ],
    )
    fetch_json(sources, "nvda-atom")
    report = by_source(fetch_json(sources, "edgar"))["edgar"]
    assert report["linked"] == 1
    db = open_archive(tmp_path / "archive.db")
    carried = next(
        db.query(
            "SELECT count(*) AS n FROM item_sources s JOIN items i ON i.id = s.item_id"
            " WHERE i.url = ?",
            [f"{folder}/{accession}-index.htm"],
        )
    )
    assert carried["n"] == 2
