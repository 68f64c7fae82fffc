"""Regressions found by black-box QA of the ingest path on real-world input.

Each test names the user-visible effect that was wrong; real recorded responses are read
in place from ../shared/fixtures/real (skipped with a reason when absent), small shapes the
recordings do not cover are written inline.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx

from signals.config import load_config
from signals.fetch import Fetcher, FetchRequest
from signals.model import Fetched, FetchFailed, Item
from signals.normalize import SUMMARY_EXCERPT, SUMMARY_LIMIT, clean_text, excerpt, short_hash
from signals.politeness import HostLimit, HostLimiter
from signals.poll import normalize_entries
from signals.sources import ParseContext
from signals.sources.feed import parse_feed
from tests.conftest import by_source, fetch_json, real, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

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


def test_plain_text_titles_keep_angle_brackets_and_entities_as_written() -> None:
    # Reuters-style tickers in a plain-text RSS title, an Atom type="text" summary quoting
    # markup, a JSON Feed title (always plain text): all were read as HTML and lost words.
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Nvidia &lt;NVDA.O&gt; rises; AT&amp;T &lt;T.N&gt; falls</title>"
        b"<link>https://e.org/1</link></item>"
        b"<item><title>A &lt;b&gt;bold&lt;/b&gt; claim</title><link>https://e.org/2</link></item>"
        b"</channel></rss>"
    )
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>urn:1</id><title>x</title><link href='https://e.org/3'/>"
        b'<summary type="text">Use &lt;pre&gt; &amp;amp; stay</summary></entry></feed>'
    )
    jsonfeed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1",'
        b' "title": "Alibaba <9988.HK> & <BABA.N> capex", "url": "https://e.org/4",'
        b' "content_text": "Line <one>\\nLine two"}]}'
    )
    titles = []
    texts = []
    for body in (rss, atom, jsonfeed):
        parsed = parse_feed(body, {})
        items, _ = normalize_entries(parsed.entries, "qa", "https://e.org/", NOW)
        titles += [i.title for i in items]
        texts += [i.summary or i.body for i in items]
    assert titles[:2] == ["Nvidia <NVDA.O> rises; AT&T <T.N> falls", "A bold claim"]
    assert texts[2] == "Use <pre> &amp; stay"
    assert titles[3] == "Alibaba <9988.HK> & <BABA.N> capex"
    assert texts[3] == "Line <one>\nLine two"


def test_html_list_titles_are_text_not_markup(tmp_path: Path) -> None:
    from signals.sources.html import HtmlKind

    page = (
        b"<html><body><ul><li><a href='/a'><h3>Entity List: adds &lt;Co. A&gt; &amp;amp; B"
        b"</h3></a></li></ul></body></html>"
    )
    config = load_config(
        write_sources(
            tmp_path,
            [
                {
                    "id": "page",
                    "kind": "html",
                    "url": "https://e.org/list",
                    "select": {"item": "li", "title": "h3"},
                }
            ],
        )
    )
    fetched = Fetched(
        url="https://e.org/list",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=page,
        etag=None,
        last_modified=None,
        duration_ms=1,
    )
    context = ParseContext(fetch=lambda url: fetched, is_known=lambda entry: False)
    parsed = HtmlKind().parse(fetched, config.sources[0], context)
    items, _ = normalize_entries(parsed.entries, "page", fetched.url, NOW)
    assert items[0].title == "Entity List: adds <Co. A> &amp; B"  # as the page shows it


def test_an_empty_placeholder_entry_is_skipped_with_a_warning() -> None:
    # Le Cercle Psy's feed carries an <item> whose title, link and description are all
    # empty; it was archived as "(untitled)" with no URL and no text.
    parsed = parse_feed(real("malformed/no-xml-declaration-latin1-bytes.rss.xml").read_bytes(), {})
    items, warnings = normalize_entries(parsed.entries, "qa", "https://example.org/", NOW)
    assert len(items) == 9
    assert "(untitled)" not in {i.title for i in items}
    assert "entry 4 skipped: no title, link or text" in warnings


def test_an_entry_with_only_an_enclosure_links_to_the_enclosure() -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://e.org/</link>'
        b"<item><title>Notice 2026-14 (PDF)</title>"
        b'<enclosure url="https://e.org/files/notice-2026-14.pdf?utm_source=rss" length="1"'
        b' type="application/pdf"/></item></channel></rss>'
    )
    parsed = parse_feed(rss, {})
    items, _ = normalize_entries(parsed.entries, "qa", "https://e.org/feed", NOW)
    assert items[0].url == "https://e.org/files/notice-2026-14.pdf"
    assert items[0].entry_key == "url:https://e.org/files/notice-2026-14.pdf"


def test_repeated_entries_make_one_warning_not_one_per_entry() -> None:
    # EDGAR's getcurrent Atom feed lists each Form 4 twice (Reporting and Issuer).
    fixture = "edgar/sec-browse-edgar-getcurrent-type4-count100-start0.atom.xml"
    parsed = parse_feed(real(fixture).read_bytes(), {"content-type": "application/atom+xml"})
    items, warnings = normalize_entries(parsed.entries, "qa", "https://www.sec.gov/", NOW)
    assert len(parsed.entries) == 100 and len(items) == 46
    repeat_lines = [w for w in warnings if "repeat" in w]
    assert repeat_lines == [
        "54 entries repeat an earlier entry's id (entry 2 repeats"
        " 'guid:urn:tag:sec.gov,2008:accession-number=0002063236-25-000004', ...);"
        " kept the first of each"
    ]


def test_whole_articles_in_the_description_become_the_body_with_a_short_summary() -> None:
    # dustri.org's feed carries each post's full HTML in <description> (up to 10,000+
    # characters of text): the summary column held whole articles.
    fixture = "malformed/huge-entries-full-content.rss.xml"
    parsed = parse_feed(real(fixture).read_bytes(), {})
    items, _ = normalize_entries(parsed.entries, "qa", "https://dustri.org/b/", NOW)
    assert len(items) == 25
    longest = max(items, key=lambda i: len(i.body))
    assert len(longest.body) > 10_000
    for item in items:
        assert len(item.summary) <= (SUMMARY_EXCERPT + 1 if item.body else SUMMARY_LIMIT)
        if item.body:
            first_line = item.summary.split("\n", 1)[0].rstrip("…")
            assert item.body.startswith(first_line)
            # the same hash as before the split: archives built earlier see no "update"
            assert item.content_hash == short_hash(item.title, item.body, "")


def test_excerpt_cuts_at_paragraphs_then_words() -> None:
    assert excerpt("One.\nTwo.\nThree is long", 10) == "One.\nTwo."
    assert excerpt("alpha beta gamma delta", 14) == "alpha beta…"
    assert excerpt("白宫提名艾伦为北约最高司令官", 5) == "白宫提名艾…"


def test_blank_lines_before_the_xml_declaration_are_not_a_malformed_feed() -> None:
    feed = real("news/nodejs-vulnerability-blog-snapshot1.rss.xml").read_bytes()
    assert feed.startswith(b"<?xml")
    for prefix in (b"\n\n", b"\xef\xbb\xbf\r\n  "):
        parsed = parse_feed(prefix + feed, {"content-type": "application/rss+xml"})
        assert [e.title for e in parsed.entries] == ["February 2020 Security Releases"]
        assert parsed.warnings == []


def test_a_permanent_redirect_is_named_so_the_source_can_be_updated(
    tmp_path: Path, server: LocalServer
) -> None:
    feed = real("news/nodejs-vulnerability-blog-snapshot1.rss.xml")
    new_url = server.route("/new-home.xml", Reply.file(feed, etag='"v1"'))
    moved = server.route("/old.xml", Reply(status=301, headers={"Location": "/new-home.xml"}))
    hop = server.route("/hop.xml", Reply(status=302, headers={"Location": "/new-home.xml"}))
    sources = write_sources(tmp_path, [{"id": "moved", "url": moved}, {"id": "hop", "url": hop}])
    notice = f"moved permanently (HTTP 301/308) to {new_url}: update url in sources.toml"
    for expected in ("ok", "not_modified"):  # said again on every poll until fixed
        reports = by_source(fetch_json(sources))
        assert reports["moved"]["outcome"] == expected
        assert reports["moved"]["warnings"] == [notice]
        assert reports["hop"]["warnings"] == []  # a temporary redirect is nothing to fix
    check = json.loads(run_cli("sources", "check", "moved", "--json", sources=sources).stdout)
    assert check[0]["warnings"] == [notice]


def test_410_gone_says_the_source_needs_updating(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/retired.rss", Reply(status=410, body=b"Gone", content_type="text/html"))
    sources = write_sources(tmp_path, [{"id": "retired", "url": url}])
    report = by_source(fetch_json(sources))["retired"]
    assert report["outcome"] == "http_410"
    assert report["error"] == (
        "HTTP 410 Gone: the server says this URL is gone for good;"
        " update url or set enabled = false"
    )


def test_sec_403_points_at_the_user_agent(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text="Your Request Originates from an Undeclared Automated Tool")

    with _fetcher(tmp_path, httpx.MockTransport(refuse)) as fetcher:
        result = fetcher.fetch(FetchRequest(url="https://data.sec.gov/submissions/CIK1.json"))
    assert isinstance(result, FetchFailed) and result.outcome == "http_403"
    assert "User-Agent has no contact e-mail" in result.error


def test_cache_control_max_age_delays_the_next_check_within_a_cap(
    tmp_path: Path, server: LocalServer
) -> None:
    feed = real("news/nodejs-vulnerability-blog-snapshot1.rss.xml")
    cached = {"Cache-Control": "public, max-age=1800", "Age": "600"}
    routes = {
        "cdn": Reply.file(feed, headers=cached),  # fresh for 20 more minutes
        "static": Reply.file(feed, headers={"Cache-Control": "max-age=86400"}),  # capped
        "sec": Reply.file(feed, headers={"Cache-Control": "max-age=0, no-cache, no-store"}),
    }
    sources = write_sources(
        tmp_path,
        [
            {"id": name, "url": server.route(f"/{name}.xml", reply), "every": "5m"}
            for name, reply in routes.items()
        ],
    )
    before = datetime.now(UTC)
    reports = by_source(fetch_json(sources))
    after = datetime.now(UTC)
    waits = {}
    for name, report in reports.items():
        due = datetime.strptime(report["next_check_at"], "%Y-%m-%dT%H:%M:%SZ")
        due = due.replace(tzinfo=UTC)
        waits[name] = (
            round((due - after).total_seconds() / 60),
            round((due - before).total_seconds() / 60),
        )
    assert waits["cdn"][0] <= 20 <= waits["cdn"][1]
    assert waits["static"][0] <= 120 <= waits["static"][1]
    assert waits["sec"][0] <= 5 <= waits["sec"][1]


def test_placeholder_epoch_dates_are_treated_as_missing() -> None:
    # A CMS without dates writes the Unix epoch; stored as 1970 the item was older than
    # every digest window and never reported. A usable <updated> is preferred to either.
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>urn:1</id><title>epoch</title><link href='https://e.org/1'/>"
        b"<published>1970-01-01T00:00:00Z</published></entry>"
        b"<entry><id>urn:2</id><title>epoch, but updated</title><link href='https://e.org/2'/>"
        b"<published>1970-01-01T00:00:00Z</published>"
        b"<updated>2026-11-29T08:00:00Z</updated></entry>"
        b"<entry><id>urn:3</id><title>future, but updated</title><link href='https://e.org/3'/>"
        b"<published>2031-01-01T00:00:00Z</published>"
        b"<updated>2026-11-28T08:00:00Z</updated></entry></feed>"
    )
    parsed = parse_feed(atom, {})
    items, warnings = normalize_entries(parsed.entries, "qa", "https://e.org/", NOW)
    dates = [(i.published_at, i.date_estimated) for i in items]
    assert dates == [
        ("2026-11-30T12:00:00Z", True),
        ("2026-11-29T08:00:00Z", False),
        ("2026-11-28T08:00:00Z", False),
    ]
    assert "1 entry without a usable date; dated by when first seen" in warnings


def test_a_joined_field_warns_only_when_every_part_is_missing() -> None:
    from signals.sources._common import UTC_ZONE
    from signals.sources.json_api import parse_mapped

    document = {
        "docs": [
            {"n": "1", "subject_1": "Entity List Additions:", "subject_2": "Revisions"},
            {"n": "2", "subject_1": "Meetings: Advisory Committee"},  # no subject_2: fine
            {"n": "3", "abstract": "no subject at all"},
        ]
    }
    fields = {
        "items": "docs",
        "id": "n",
        "title": ["subject_1", "subject_2"],
        "summary": "abstract",
    }
    parsed = parse_mapped(document, fields, UTC_ZONE)
    assert [e.title for e in parsed.entries] == [
        "Entity List Additions: Revisions",
        "Meetings: Advisory Committee",
        None,
    ]
    titles = [w for w in parsed.warnings if "title" in w]
    assert titles == ["entry 3: no title at 'subject_1' or 'subject_2'"]


def test_an_rss_file_labelled_as_json_is_still_read_as_rss() -> None:
    feed = real("news/golem-de-rss2-iso-8859-1.xml").read_bytes()
    parsed = parse_feed(feed, {"content-type": "application/json; charset=utf-8"})
    assert len(parsed.entries) == 40
    jsonfeed = real("news/npr-technology-jsonfeed-v1.json").read_bytes()
    assert len(parse_feed(jsonfeed, {"content-type": "text/plain"}).entries) == 25


def test_long_abstracts_stay_whole_in_the_summary() -> None:
    fixture = "benchmarks/arxiv-api-query-testing-start0-max10.atom.xml"
    parsed = parse_feed(real(fixture).read_bytes(), {"content-type": "application/atom+xml"})
    items, _ = normalize_entries(parsed.entries, "qa", "https://export.arxiv.org/", NOW)
    assert max(len(i.summary) for i in items) > 1800
    assert all(i.body == "" for i in items)


def test_json_in_a_declared_legacy_charset_or_utf16_is_read() -> None:
    from signals.sources.json_api import load_json

    document = {"items": [{"title": "Société Générale – résultats", "id": 1}]}
    text = json.dumps(document, ensure_ascii=False)
    cases = [
        (text.encode("cp1252"), "application/json; charset=windows-1252"),
        (text.encode("utf-16"), "application/json"),  # with a BOM
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "application/json; charset=UTF-8"),
        (text.encode("utf-8"), "application/json; charset=nonsense"),
    ]
    for body, content_type in cases:
        fetched = Fetched(
            url="https://e.org/api",
            status=200,
            headers={"content-type": content_type},
            body=body,
            etag=None,
            last_modified=None,
            duration_ms=1,
        )
        assert load_json(fetched) == document, content_type
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", **document}
    body = json.dumps(feed, ensure_ascii=False).encode("cp1252")
    parsed = parse_feed(body, {"content-type": "application/feed+json; charset=windows-1252"})
    assert parsed.entries[0].title == "Société Générale – résultats"


def test_the_wordpress_appeared_first_on_footer_is_dropped() -> None:
    fixture = "datacenter/powermag-data-centers.rss.xml"
    parsed = parse_feed(real(fixture).read_bytes(), {"content-type": "application/rss+xml"})
    items, _ = normalize_entries(parsed.entries, "qa", "https://www.powermag.com/", NOW)
    assert len(items) == 3
    for item in items:
        assert "appeared first on" not in item.summary
        assert item.summary.endswith("[…]")  # the excerpt itself is kept whole


def test_html_list_teasers_are_not_broken_where_the_page_source_wrapped_them(
    tmp_path: Path,
) -> None:
    from signals.sources.html import HtmlKind

    page = (
        b"<html><body><ul><li><a href='/a'><h3>Commerce Adds 12 Entities\n      to the"
        b" Entity List</h3></a><p class='teaser'>The Bureau of Industry and Security\n"
        b"        today added twelve entities\n        to the Entity List.</p></li></ul>"
        b"</body></html>"
    )
    source = {
        "id": "page",
        "kind": "html",
        "url": "https://e.org/list",
        "select": {"item": "li", "title": "h3", "summary": "p.teaser"},
    }
    config = load_config(write_sources(tmp_path, [source]))
    fetched = Fetched(
        url="https://e.org/list",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=page,
        etag=None,
        last_modified=None,
        duration_ms=1,
    )
    context = ParseContext(fetch=lambda url: fetched, is_known=lambda entry: False)
    parsed = HtmlKind().parse(fetched, config.sources[0], context)
    items, _ = normalize_entries(parsed.entries, "page", fetched.url, NOW)
    assert items[0].title == "Commerce Adds 12 Entities to the Entity List"
    assert items[0].summary == (
        "The Bureau of Industry and Security today added twelve entities to the Entity List."
    )


def test_table_cells_in_html_summaries_are_not_glued_together() -> None:
    markup = (
        "<p>Third-quarter results:</p><table><tr><th>Quarter</th><th>2024</th></tr>"
        "<tr><td>Revenue</td><td>$5.2 billion</td><td>up 12%</td></tr></table>"
    )
    assert clean_text(markup) == "Third-quarter results:\nQuarter 2024\nRevenue $5.2 billion up 12%"


def test_a_json_feed_item_with_only_an_attachment_links_to_it() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "items": [
                {
                    "id": "ep-7",
                    "title": "Episode 7",
                    "content_text": "Notes",
                    "attachments": [{"url": "https://e.org/ep7.mp3", "mime_type": "audio/mpeg"}],
                }
            ],
        }
    ).encode()
    items, _ = normalize_entries(parse_feed(body, {}).entries, "qa", "https://e.org/", NOW)
    assert items[0].url == "https://e.org/ep7.mp3"
