"""Recorded real feeds, served over loopback HTTP and polled into a real archive.

Each case names what a reader would check first: how many entries arrive and one title
that only decodes right if the encoding was handled (declared, undeclared or legacy).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signals.archive import open_archive
from tests.conftest import by_source, fetch_json, real, write_sources
from tests.httpserver import LocalServer, Reply

CASES = [
    # (fixture, served Content-Type, entries, a title that must come through intact)
    ("news/golem-de-rss2-iso-8859-1.xml", "application/rss+xml", 40,
     "Bethesda: Postnukleare PC-Systemanforderungen für Fallout 76"),
    ("malformed/windows-1251-cyrillic.rss.xml", "text/xml", 50, "Цитата #17703"),
    # 10 items, one an empty placeholder (no title, link or text): skipped
    ("malformed/no-xml-declaration-latin1-bytes.rss.xml", "application/rss+xml", 9,
     "La criminalité liée surtout à... l'ennui ?"),
    ("news/heise-newsticker-rdf-0.9.xml", "application/rdf+xml", 60,
     "Mega-Deal: IBM übernimmt Red Hat"),
    ("news/bbc-chinese-zhongwen-2013.atom.xml", "application/atom+xml", 2, "白宫提名艾伦为北约最高司令官"),
    ("news/bbc-urdu-rss2-utf8.xml", "application/rss+xml", 26, None),
    ("news/npr-technology-jsonfeed-v1.json", "application/feed+json", 25,
     "Keller Rinaudo: How can delivery drones save lives?"),
    ("datacenter/coreweave-blog.rss.xml", "application/rss+xml", 4,
     "An AI Cloud Platform Requires More Than Renting GPUs"),
    ("datacenter/powermag-data-centers.rss.xml", "application/rss+xml", 3, None),
    ("benchmarks/together-ai-blog.rss.xml", "application/rss+xml", 4, None),
    ("benchmarks/arxiv-api-query-testing-start0-max10.atom.xml", "application/atom+xml", 10, None),
    ("malformed/atom-pathological-inline-css-ru.atom.xml", "application/atom+xml", 15,
     "Невидимая броня для Вашего Nokia 5800"),
    ("malformed/blogger-atom-large-html-content.atom.xml", "application/atom+xml", 25, None),
    ("malformed/huge-entries-full-content.rss.xml", "application/rss+xml", 25, "Using vale with vim"),
    ("malformed/tails-news-rss-html-heavy.rss.xml", "application/rss+xml", 10, "Our achievements in 2020"),
    ("malformed/tumblr-newline-in-channel-title.rss.xml", "application/rss+xml", 20, None),
    # two comments, same title, no guid, links that differ only in the #fragment
    ("malformed/disqus-comments-mixed-namespaces.rss.xml", "application/rss+xml", 2, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "content_type", "count", "title"), CASES, ids=[c[0] for c in CASES]
)
def test_real_feed_is_archived_with_clean_text(
    tmp_path: Path,
    server: LocalServer,
    fixture: str,
    content_type: str,
    count: int,
    title: str | None,
) -> None:
    url = server.route("/feed", Reply.file(real(fixture), content_type=content_type))
    sources = write_sources(tmp_path, [{"id": "real", "url": url}])
    report = by_source(fetch_json(sources))["real"]
    assert report["outcome"] == "ok", report
    assert report["new"] == count

    db = open_archive(tmp_path / "archive.db")
    rows = list(db.query("SELECT title, summary, body, url, published_at FROM items"))
    assert len(rows) == count
    titles = {r["title"] for r in rows}
    if title:
        assert title in titles
    for row in rows:
        assert row["title"].strip() == row["title"] and row["title"]
        assert "<p>" not in row["summary"] and "<p>" not in row["body"]
        assert "\ufffd" not in row["title"], "mis-decoded text"
        assert row["published_at"].endswith("Z")
        if row["url"]:
            assert (
                row["url"].startswith("http") and "utm_" not in row["url"] and "#" not in row["url"]
            )


def test_json_feed_links_lose_their_tracking_parameters(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route(
        "/npr",
        Reply.file(real("news/npr-technology-jsonfeed-v1.json"), content_type="application/json"),
    )
    sources = write_sources(tmp_path, [{"id": "npr", "url": url}])
    fetch_json(sources)
    db = open_archive(tmp_path / "archive.db")
    first = db.execute(
        "SELECT url, published_at FROM items WHERE title LIKE 'Keller Rinaudo%'"
    ).fetchone()
    assert first == (
        "https://www.npr.org/2021/10/29/1050315385/keller-rinaudo-how-can-delivery-drones-save-lives",
        "2021-10-29T14:26:00Z",
    )


def test_edgar_atom_with_duplicate_accession_numbers(tmp_path: Path, server: LocalServer) -> None:
    """EDGAR's current-filings feed lists one accession twice (reporting owner and issuer)."""
    fixture = real("edgar/sec-browse-edgar-getcurrent-count100-start0.atom.xml")
    url = server.route("/edgar", Reply.file(fixture, content_type="application/atom+xml"))
    sources = write_sources(tmp_path, [{"id": "edgar", "url": url}])
    report = by_source(fetch_json(sources))["edgar"]
    assert report["outcome"] == "ok"
    import feedparser

    guids = [e.id for e in feedparser.parse(fixture.read_bytes()).entries]
    assert report["new"] == len(set(guids)) < len(guids)
    assert any("repeats" in w for w in report["warnings"])
    db = open_archive(tmp_path / "archive.db")
    dates = [r[0] for r in db.execute("SELECT published_at FROM items LIMIT 3").fetchall()]
    assert all(d.startswith("2025-12-12T2") for d in dates), dates  # 18:0x EST is 23:0x UTC
