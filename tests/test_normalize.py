from datetime import UTC, datetime

import pytest

from signals.model import RawEntry
from signals.normalize import canonical_url, clean_line, clean_text, normalize

SEEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://Example.COM:443/a/b?utm_source=x&id=7&fbclid=abc#frag",
            None,
            "https://example.com/a/b?id=7",
        ),
        ("/news/1?gclid=z", "https://example.org/feed.xml", "https://example.org/news/1"),
        ("item.html", "https://example.org/blog/feed", "https://example.org/blog/item.html"),
        ("http://example.org", None, "http://example.org/"),
        ("http://example.org:8080/x?UTM_MEDIUM=a&b=1", None, "http://example.org:8080/x?b=1"),
        ("mailto:someone@example.org", None, None),
        ("javascript:alert(1)", None, None),
        ("", "https://example.org/", None),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_keeps_meaningful_parameters_in_their_order_and_encoding() -> None:
    url = "https://www.sec.gov/cgi-bin/browse-edgar?action=getcompany&CIK=0001577552&type=6-K"
    assert canonical_url(url) == url
    assert canonical_url("https://x.org/s?q=a%20b&utm_campaign=c") == "https://x.org/s?q=a%20b"


def test_clean_text_drops_markup_and_keeps_paragraphs() -> None:
    html = (
        "<p>Nvidia&nbsp;H20 <b>export</b> rule</p><script>alert(1)</script>"
        "<ul><li>one</li><li>two&amp;three</li></ul>\u200b"
    )
    assert clean_text(html) == "Nvidia H20 export rule\none\ntwo&three"
    assert clean_line("  A\n title  <i>here</i> ") == "A title here"
    assert clean_text(None) == ""


def test_missing_or_future_dates_fall_back_to_first_seen_and_say_so() -> None:
    undated = normalize(RawEntry(guid="a", link=None, title="t"), "s", "https://x.org/", SEEN)
    assert undated.published_at == "2026-11-25T12:00:00Z" and undated.date_estimated
    future = RawEntry(guid="b", link=None, title="t", published=datetime(2031, 1, 1, tzinfo=UTC))
    assert normalize(future, "s", "https://x.org/", SEEN).date_estimated
    dated = RawEntry(
        guid="c",
        link=None,
        title="t",
        published=datetime.fromisoformat("2026-11-24T20:00:00-05:00"),
    )
    item = normalize(dated, "s", "https://x.org/", SEEN)
    assert item.published_at == "2026-11-25T01:00:00Z" and not item.date_estimated


def test_identity_prefers_guid_then_url_then_content() -> None:
    base = "https://x.org/feed"
    with_guid = normalize(RawEntry(guid="g1", link="/a?utm_source=z", title="T"), "s", base, SEEN)
    assert with_guid.entry_key == "guid:g1"
    with_link = normalize(RawEntry(guid=None, link="/a?utm_source=z", title="T"), "s", base, SEEN)
    assert with_link.entry_key == "url:https://x.org/a"
    bare = normalize(RawEntry(guid=None, link=None, title="T", summary="S"), "s", base, SEEN)
    assert bare.entry_key.startswith("hash:")
    same_again = normalize(RawEntry(guid=None, link=None, title="T", summary="S"), "s", base, SEEN)
    assert same_again.id == bare.id


def test_a_changed_title_keeps_the_id_but_changes_the_content_hash() -> None:
    one = normalize(RawEntry(guid="g", link=None, title="Old"), "s", "https://x.org/", SEEN)
    two = normalize(RawEntry(guid="g", link=None, title="New"), "s", "https://x.org/", SEEN)
    assert one.id == two.id and one.content_hash != two.content_hash


def test_untitled_entries_get_a_title_from_their_text() -> None:
    item = normalize(
        RawEntry(guid="g", link=None, title="", summary="<p>BIS adds 12 entities to the list</p>"),
        "s",
        "https://x.org/",
        SEEN,
    )
    assert item.title == "BIS adds 12 entities to the list"
