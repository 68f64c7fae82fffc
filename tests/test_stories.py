"""Stories in a real archive: assigned by polls, rebuilt by the command, collapsed by digests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.archive_builder import ArchiveBuilder, utc
from tests.conftest import by_source, fetch_json, real, run_cli, write_sources
from tests.delivery_helpers import END, NOW, SHIPPED
from tests.httpserver import LocalServer, Reply

NODEJS = "news/nodejs-vulnerability-blog-snapshot1.rss.xml"
EDGAR = "edgar/sec-browse-edgar-getcurrent-count100-start0.atom.xml"


def _stories(db_path: Path) -> list[tuple[str, str, int]]:
    from signals.archive import open_archive

    db = open_archive(db_path)
    try:
        rows = db.execute(
            "SELECT s.id, s.title, count(i.id) FROM stories s JOIN items i ON i.story_id = s.id"
            " GROUP BY s.id ORDER BY s.id"
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]
    finally:
        db.close()


def test_a_post_carried_by_two_sources_under_different_links_is_one_story(
    tmp_path: Path, server: LocalServer
) -> None:
    original = real(NODEJS).read_bytes()
    # a mirror carries the same post under its own links and guid
    mirror = original.replace(b"https://nodejs.org/en/blog/", b"https://mirror.example.net/nodejs/")
    a = server.route("/official", Reply(body=original, content_type="application/rss+xml"))
    b = server.route("/mirror", Reply(body=mirror, content_type="application/rss+xml"))
    sources = write_sources(tmp_path, [{"id": "nodejs", "url": a}, {"id": "mirror", "url": b}])
    reports = by_source(fetch_json(sources))
    assert reports["nodejs"]["new"] == 1 and reports["mirror"]["new"] == 1
    [(story_id, title, count)] = _stories(tmp_path / "archive.db")
    assert (title, count) == ("February 2020 Security Releases", 2)
    from signals.archive import open_archive

    db = open_archive(tmp_path / "archive.db")
    ids = dict(db.execute("SELECT source_id, id FROM items").fetchall())
    # the story took the id of the item stored first: that item's grouping key did not move
    assert story_id in ids.values()
    again = by_source(fetch_json(sources))  # polling again changes nothing
    assert again["nodejs"]["new"] == again["mirror"]["new"] == 0
    assert _stories(tmp_path / "archive.db") == [(story_id, title, count)]


def test_real_edgar_filings_with_look_alike_titles_stay_apart(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/atom", Reply.file(real(EDGAR), content_type="application/atom+xml"))
    sources = write_sources(
        tmp_path, [{"id": "edgar-latest", "url": url}], user_agent="tests tests@example.org"
    )
    report = by_source(fetch_json(sources))["edgar-latest"]
    assert report["new"] == 50  # Reporting and Issuer entries of a filing share their id
    # e.g. four Form 4 filings titled "4 - CARVANA CO. (0001690820) (...)" in one minute
    assert _stories(tmp_path / "archive.db") == []


def _item(builder: ArchiveBuilder, title: str, source: str, hours: float, **kw: object) -> str:
    from datetime import timedelta

    seen = END - timedelta(hours=hours)
    return builder.item(title, source=source, first_seen=seen, published=seen, **kw)  # type: ignore[arg-type]


def test_rebuild_groups_an_existing_archive_and_keeps_look_alikes_apart(tmp_path: Path) -> None:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    deal = _item(builder, "Microsoft signs $10 billion AI capacity deal with Nebius", "dcd", 30)
    retold = _item(
        builder, "Nebius inks $10bn deal to supply Microsoft with GPU capacity", "reuters", 20
    )
    late = _item(builder, "Microsoft and Nebius sign $10 billion GPU capacity deal", "bloomberg", 2)
    ops3 = _item(builder, "Daily operations update for November 22", "ops", 48)
    ops4 = _item(builder, "Daily operations update for November 23", "ops", 24)
    q2 = _item(builder, "Alibaba Group announces Q2 2025 results", "baba", 40)
    q3 = _item(builder, "Alibaba Group announces Q3 2025 results", "wire", 5)
    builder.close()
    sources = write_sources(tmp_path, [])
    result = run_cli("stories", "--rebuild", sources=sources)
    assert result.exit_code == 0, result.output
    assert "7 items: 3 in 1 stories of two or more" in result.stdout
    [(story_id, title, count)] = _stories(tmp_path / "archive.db")
    assert (story_id, count) == (deal, 3)
    assert title == "Microsoft signs $10 billion AI capacity deal with Nebius"
    from signals.archive import open_archive

    db = open_archive(tmp_path / "archive.db")
    singles = {row[0] for row in db.execute("SELECT id FROM items WHERE story_id IS NULL")}
    assert singles == {ops3, ops4, q2, q3}
    assert {retold, late} <= {
        row[0] for row in db.execute("SELECT id FROM items WHERE story_id = ?", [deal])
    }
    # again, only the last day: same result, nothing doubled
    again = run_cli("stories", "--rebuild", "--since", "2026-11-24", sources=sources)
    assert again.exit_code == 0, again.output
    assert _stories(tmp_path / "archive.db") == [(story_id, title, count)]
    keys = db.execute("SELECT count(*), count(DISTINCT item) FROM story_keys").fetchone()
    assert keys[1] == 7 and keys[0] < 7 * 12


def test_a_story_moves_when_an_item_joins_and_takes_the_earliest_title(tmp_path: Path) -> None:
    from signals.archive import open_archive
    from signals.stories import StoryIndex

    builder = ArchiveBuilder(tmp_path / "archive.db")
    a = _item(builder, "Oracle to build 1.4 GW data center campus in Texas", "dcd", 10)
    b = _item(builder, "Oracle plans 1.4 GW Texas data center campus", "reuters", 8)
    db = builder.db
    index = StoryIndex(db, now="2026-11-24T10:00:00Z")
    for entry in index.load([a, b]):
        index.assign(entry)
    db.conn.commit()
    assert db.execute("SELECT id, title, updated_at FROM stories").fetchall() == [
        (a, "Oracle to build 1.4 GW data center campus in Texas", "2026-11-24T10:00:00Z")
    ]
    # a report published earlier than both arrives later: it joins and tells the story
    c = _item(builder, "Oracle said to plan 1.4 GW data center campus in Texas", "wsj", 12)
    index = StoryIndex(db, now="2026-11-24T11:00:00Z")
    for entry in index.load([c]):
        assert index.assign(entry) == a
    db.conn.commit()
    assert db.execute("SELECT title, updated_at FROM stories").fetchall() == [
        ("Oracle said to plan 1.4 GW data center campus in Texas", "2026-11-24T11:00:00Z")
    ]
    builder.close()
    assert (
        open_archive(tmp_path / "archive.db")
        .execute("SELECT count(*) FROM story_keys")
        .fetchone()[0]
        > 0
    )


def test_items_a_week_apart_are_not_one_story(tmp_path: Path) -> None:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    _item(builder, "Oracle to build 1.4 GW data center campus in Texas", "dcd", 24 * 9)
    _item(builder, "Oracle to build 1.4 GW data center campus in Texas", "reuters", 1)
    builder.close()
    result = run_cli("stories", "--rebuild", sources=write_sources(tmp_path, []))
    assert result.exit_code == 0 and _stories(tmp_path / "archive.db") == []


def test_digest_shows_a_story_told_by_two_sources_once(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [])
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SHIPPED / "daily-slack.toml", rules / "daily-slack.toml")
    builder = ArchiveBuilder(tmp_path / "archive.db")
    tags = {"infrastructure": (0.9, ["GPU capacity"])}
    _item(
        builder,
        "Microsoft signs $10 billion AI capacity deal with Nebius",
        "dcd-news",
        6,
        url="https://www.datacenterdynamics.com/en/news/microsoft-nebius-deal/",
        tags=tags,
    )
    _item(
        builder,
        "Nebius inks $10bn deal to supply Microsoft with GPU capacity",
        "reuters-tech",
        4,
        url="https://www.reuters.com/technology/nebius-microsoft-gpu-2026-11-24/",
        tags=tags,
    )
    _item(builder, "Oracle to build 1.4 GW data center campus in Texas", "dcd-news", 3, tags=tags)
    builder.close()
    assert run_cli("stories", "--rebuild", sources=sources).exit_code == 0
    result = run_cli(
        "--rules", str(rules), "digest", "daily-slack", "--now", NOW, "--dry-run", sources=sources
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "Nebius" in line]
    assert lines == ["• Microsoft signs $10 billion AI capacity deal with Nebius  [+1 source]"]
    assert "INFRASTRUCTURE · 2 stories" in result.stdout
    assert utc("2026-11-24T13:00") == END


def test_an_interrupted_rebuild_is_finished_by_running_it_again(tmp_path: Path) -> None:
    from signals.archive import open_archive
    from signals.stories import rebuild

    builder = ArchiveBuilder(tmp_path / "archive.db")
    for n, (title, source) in enumerate(
        [
            ("Microsoft signs $10 billion AI capacity deal with Nebius", "dcd"),
            ("Nebius inks $10bn deal to supply Microsoft with GPU capacity", "reuters"),
            ("Oracle to build 1.4 GW data center campus in Texas", "dcd"),
            ("Oracle plans 1.4 GW Texas data center campus", "reuters"),
            ("Daily operations update for November 22", "ops"),
        ]
    ):
        _item(builder, title, source, 30 - n)
    builder.close()
    db = open_archive(tmp_path / "archive.db")
    clean = rebuild(db)
    grouping = db.execute("SELECT id, story_id FROM items ORDER BY id").fetchall()

    def crash(count: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(db, batch=2, on_progress=crash)
    assert db.execute("SELECT count(story_id) FROM items").fetchone()[0] < 4
    again = rebuild(db, batch=2)
    assert (again.stories, again.grouped) == (clean.stories, clean.grouped) == (2, 4)
    assert db.execute("SELECT id, story_id FROM items ORDER BY id").fetchall() == grouping
