"""signals export: whole tables, queries and searches as CSV or JSON lines, read-only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from signals.times import utcnow
from tests.archive_builder import ArchiveBuilder, week_of_news
from tests.conftest import run_cli


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveBuilder:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, utcnow())
    return builder


def export(archive: ArchiveBuilder, *args: str, code: int = 0) -> str:
    result = run_cli("--db", str(archive.path), "export", *args)
    assert result.exit_code == code, result.output
    return result.output if code else result.stdout


def test_a_whole_table_as_csv_and_as_json_lines(archive: ArchiveBuilder) -> None:
    rows = list(csv.DictReader(io.StringIO(export(archive, "items"))))
    count = archive.db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert len(rows) == count == 13
    assert {"id", "title", "published_at", "story_id"} <= set(rows[0])
    lines = export(archive, "item_tags", "--format", "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == archive.db.execute("SELECT count(*) FROM item_tags").fetchone()[0]
    assert {"item_id", "category", "score", "method", "evidence"} == set(records[0])
    assert isinstance(records[0]["score"], float)


def test_views_export_like_tables(archive: ArchiveBuilder) -> None:
    weekly = list(csv.DictReader(io.StringIO(export(archive, "category_weekly"))))
    assert {row["category"] for row in weekly} >= {"policy_shifts", "infrastructure"}
    health = [
        json.loads(x) for x in export(archive, "source_health", "--format", "jsonl").splitlines()
    ]
    assert {"id", "last_status", "items", "last_fetch_outcome", "next_check_at"} <= set(health[0])


def test_a_query_to_a_file(archive: ArchiveBuilder, tmp_path: Path) -> None:
    target = tmp_path / "money.jsonl"
    result = run_cli(
        "--db", str(archive.path), "export", "--query",
        "SELECT f.value, f.unit, i.title FROM facts f JOIN items i ON i.id = f.item_id"
        " WHERE f.kind = 'money' ORDER BY f.value",
        "--format", "jsonl", "--output", str(target),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 rows written" in result.stderr
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["value"], r["unit"]) for r in records] == [(1e10, "USD"), (3.8e11, "CNY")]


def test_a_search_with_filters(archive: ArchiveBuilder) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(export(archive, "--search", "alibaba", "--category", "financial_posture"))
        )
    )
    assert {row["title"] for row in rows} == {
        "Alibaba Group 6-K: quarterly results, cloud revenue up 26%",
        "Alibaba commits RMB 380 billion to AI infrastructure over three years",
    }
    assert all("**Alibaba**" in row["snippet"] for row in rows)
    newest = [
        json.loads(x) for x in export(archive, "--since", "1d", "--format", "jsonl").splitlines()
    ]
    assert newest and all("title" in r and "categories" in r for r in newest)
    assert len(export(archive, "items", "--limit", "3").splitlines()) == 4


def test_exports_never_write(archive: ArchiveBuilder) -> None:
    out = export(archive, "--query", "DELETE FROM items", code=2)
    assert "read-only" in out
    assert archive.db.execute("SELECT count(*) FROM items").fetchone()[0] == 13
    assert "one statement at a time" in export(
        archive, "--query", "SELECT 1; DELETE FROM items", code=2
    )


def test_usage_errors_name_the_problem(archive: ArchiveBuilder) -> None:
    assert "no table or view 'itemz'" in export(archive, "itemz", code=2)
    assert "exactly one of" in export(archive, "items", "--query", "SELECT 1", code=2)
    assert "exactly one of" in export(archive, code=2)
    assert "syntax error" in export(archive, "--query", "SELEKT 1", code=2)
    assert "not a valid full-text query" in export(archive, "--search", "(a AND", code=2)


def test_rows_stream_in_batches(archive: ArchiveBuilder, tmp_path: Path) -> None:
    """More rows than one fetch batch come out complete and in order."""
    archive.db.execute("CREATE TABLE numbers (n INTEGER)")
    archive.db.conn.executemany("INSERT INTO numbers VALUES (?)", [(n,) for n in range(5000)])
    archive.db.conn.commit()
    lines = export(archive, "--query", "SELECT n FROM numbers ORDER BY n", "--format", "jsonl")
    assert [json.loads(x)["n"] for x in lines.splitlines()] == list(range(5000))
