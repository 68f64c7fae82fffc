"""signals explore: Datasette on the archive, read-only, described, never blocking the daemon."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signals.archive import open_archive, write_transaction
from signals.archive_schema import EXAMPLES, RELATIONS
from signals.explore import datasette_metadata
from signals.times import utcnow
from tests.archive_builder import ArchiveBuilder, week_of_news
from tests.conftest import run_cli

HAVE_DATASETTE = importlib.util.find_spec("datasette") is not None
needs_datasette = pytest.mark.skipif(
    not HAVE_DATASETTE, reason="datasette not installed (pip install -e '.[explore]')"
)


def test_without_datasette_the_message_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "datasette" else original(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    ArchiveBuilder(tmp_path / "archive.db").close()
    result = run_cli("--db", str(tmp_path / "archive.db"), "explore")
    assert result.exit_code == 1
    assert "pip install -e '.[explore]'" in result.output
    assert "Traceback" not in result.output


def test_metadata_describes_every_relation_and_offers_the_examples() -> None:
    metadata = datasette_metadata("archive")["databases"]["archive"]
    assert set(metadata["tables"]) == {r.name for r in RELATIONS}
    items = metadata["tables"]["items"]
    assert items["fts_table"] == "items_fts" and "source_id" in items["facets"]
    assert items["columns"]["published_at"].startswith("When the source says")
    assert metadata["tables"]["item_tags"]["facets"] == ["category"]
    assert {"array": "categories"} in metadata["tables"]["items_overview"]["facets"]
    assert set(metadata["queries"]) == {e.name for e in EXAMPLES}
    assert not any(q.get("write") for q in metadata["queries"].values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, utcnow())
    builder.close()
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "signals",
            "--db",
            str(builder.path),
            "explore",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if _get(f"{base}/-/versions.json")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("datasette did not start")
        yield base, builder.path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _sql(base: str, sql: str) -> tuple[int, Any]:
    return _get(f"{base}/archive.json?" + urllib.parse.urlencode({"sql": sql, "_shape": "array"}))


@needs_datasette
@pytest.mark.slow
def test_datasette_serves_descriptions_search_facets_and_canned_queries(
    served: tuple[str, Path],
) -> None:
    base, _ = served
    status, rows = _get(f"{base}/archive/items.json?_search=entity&_shape=array")
    assert status == 200 and [r["title"] for r in rows] == ["Additions to the Entity List"]
    status, page = _get(f"{base}/archive/item_tags.json?_size=1")
    assert status == 200 and "category" in page["facet_results"]
    status, rows = _get(f"{base}/archive/entity_list_policy_90d.json?_shape=array")
    assert status == 200 and rows[0]["title"] == "Additions to the Entity List"
    status, metadata = _get(f"{base}/-/metadata.json")
    assert "Stable item id" in metadata["databases"]["archive"]["tables"]["items"]["columns"]["id"]


@needs_datasette
@pytest.mark.slow
def test_datasette_cannot_write_and_does_not_block_a_writer(served: tuple[str, Path]) -> None:
    base, path = served
    count = "SELECT count(*) AS n FROM items"
    before = _sql(base, count)[1][0]["n"]
    for attack in (
        "DELETE FROM items",
        "UPDATE items SET title = 'x'",
        "INSERT INTO sources (id, kind, url, every) VALUES ('x', 'feed', 'u', '1h')",
    ):
        status, body = _sql(base, attack)
        assert status == 400, body
    assert _sql(base, count)[1][0]["n"] == before

    # A slow read holds a snapshot while the daemon-like writer commits without waiting.
    slow = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000)"
        " SELECT count(*) AS c FROM n"
    )
    reader = threading.Thread(target=_sql, args=(base, slow))
    reader.start()
    time.sleep(0.3)  # let the read begin; nothing below depends on how long anything takes
    writer = open_archive(path)
    writer.execute("PRAGMA busy_timeout = 0")  # any lock held by the reader would fail at once
    with write_transaction(writer):
        writer.execute(
            "INSERT INTO items (id, source_id, title, published_at, fetched_at, content_hash)"
            " VALUES ('new-item', 'dcd-news', 'Written while Datasette reads', ?, ?, 'h')",
            ["2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z"],
        )
    writer.close()
    reader.join(timeout=60)
    assert _sql(base, count)[1][0]["n"] == before + 1  # and Datasette sees the new row
