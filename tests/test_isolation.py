"""A bug in one source's parser or enricher never stops the others, and never half-stores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlite_utils

from signals.archive import open_archive
from signals.config import Source, load_config
from signals.poll import poll_sources
from signals.sources import SOURCE_KINDS
from signals.sources.feed import FeedKind
from signals.store import StoredItem
from tests.conftest import TESTS, by_source, fetch_json, write_sources
from tests.httpserver import LocalServer, Reply

SMALL = TESTS / "data" / "feeds" / "small.rss.xml"


class ExplodingKind(FeedKind):
    name = "exploding"

    def parse(self, fetched, source, context):  # type: ignore[no-untyped-def]
        raise KeyError("surprise")


def test_a_parser_bug_is_an_internal_error_of_that_source_only(
    tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SOURCE_KINDS, "exploding", ExplodingKind())
    bad = server.route("/bad", Reply.file(SMALL))
    good = server.route("/good", Reply.file(SMALL))
    sources = write_sources(
        tmp_path,
        [{"id": "bad", "url": bad, "kind": "exploding"}, {"id": "good", "url": good}],
    )
    reports = by_source(fetch_json(sources))
    assert reports["bad"]["outcome"] == "internal_error"
    assert "KeyError" in reports["bad"]["error"]
    assert reports["good"]["outcome"] == "ok" and reports["good"]["new"] == 3


def test_an_enricher_failure_rolls_back_that_poll_and_is_recorded(
    tmp_path: Path, server: LocalServer
) -> None:
    one = server.route("/one", Reply.file(SMALL))
    other = SMALL.read_bytes().replace(b"ex-", b"two-").replace(b"example.org", b"example.net")
    two = server.route("/two", Reply(body=other))
    config = load_config(
        write_sources(tmp_path, [{"id": "one", "url": one}, {"id": "two", "url": two}])
    )
    db = open_archive(config.settings.database)

    def enrich(db: sqlite_utils.Database, stored: Sequence[StoredItem], source: Source) -> None:
        db.execute("UPDATE items SET title = 'tagged' WHERE id = ?", [stored[0].item.id])
        if source.id == "one":
            raise RuntimeError("tagger broke")

    reports = {r.source_id: r for r in poll_sources(config, db, enrich=enrich)}
    assert reports["one"].outcome == "store_error"
    assert "tagger broke" in (reports["one"].error or "")
    assert reports["two"].outcome == "ok"
    assert db.execute("SELECT count(*) FROM item_sources WHERE source_id = 'one'").fetchone() == (
        0,
    )
    assert db.execute("SELECT count(*) FROM items WHERE title = 'tagged'").fetchone() == (1,)
    row = db["sources"].get("one")
    assert row["last_status"] == "store_error" and row["error_count"] == 1
    # the next poll stores everything: nothing was half-written the first time
    reports = {r.source_id: r for r in poll_sources(config, db, ["one"])}
    assert reports["one"].outcome == "ok"
    assert db.execute("SELECT count(*) FROM item_sources WHERE source_id = 'one'").fetchone() == (
        3,
    )
