"""docs/archive.md: generated from signals.archive_schema, complete, and its examples run."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from signals.archive import open_archive
from signals.archive_schema import EXAMPLES, RELATIONS, render_markdown
from tests.archive_fixture import build_analyst_archive
from tests.httpserver import LocalServer

DOC = Path(__file__).parent.parent / "docs" / "archive.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, str]:
    """`### `name`` heading -> the text up to the next heading."""
    parts = re.split(r"^### `([^`]+)`\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n#")[0] for i in range(1, len(parts), 2)}


def _example_blocks(text: str) -> list[str]:
    examples = text.split("## Example queries", 1)[1]
    return re.findall(r"```sql\n(.*?)```", examples, flags=re.DOTALL)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("schema") / "archive.db"
    open_archive(path).close()
    return sqlite3.connect(path)


@pytest.fixture(scope="module")
def fixture_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    server = LocalServer().start()
    try:
        return build_analyst_archive(tmp_path_factory.mktemp("analyst"), server)
    finally:
        server.stop()


def test_document_is_rendered_from_the_schema_module() -> None:
    assert _doc() == render_markdown(), (
        "docs/archive.md is out of date: run `python -m signals.archive_schema > docs/archive.md`"
    )


def test_every_table_view_and_column_of_the_migrated_schema_is_documented(
    schema: sqlite3.Connection,
) -> None:
    sections = _sections(_doc())
    missing = []
    for kind, name in schema.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')"
    ):
        if name not in sections:
            missing.append(f"{kind} {name}")
            continue
        for column in schema.execute(f'PRAGMA table_info("{name}")'):
            if f"| `{column[1]}` |" not in sections[name]:
                missing.append(f"column {name}.{column[1]}")
    assert not missing, "not in docs/archive.md: " + ", ".join(missing)


def test_every_index_and_trigger_is_documented(schema: sqlite3.Connection) -> None:
    text = _doc()
    names = [
        row[0]
        for row in schema.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')"
        )
    ]
    assert names
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, "indexes/triggers not in docs/archive.md: " + ", ".join(missing)


def test_the_document_describes_nothing_the_schema_lacks(schema: sqlite3.Connection) -> None:
    actual = {
        name: {c[1] for c in schema.execute(f'PRAGMA table_info("{name}")')}
        for (name,) in schema.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        )
    }
    extra = [
        f"{r.name}.{c}" for r in RELATIONS for c in r.columns if c not in actual.get(r.name, ())
    ]
    assert not extra, "documented but not in the schema: " + ", ".join(extra)


def test_there_are_at_least_twelve_worked_examples() -> None:
    blocks = _example_blocks(_doc())
    assert len(blocks) >= 12
    assert len(blocks) == len(EXAMPLES)


@pytest.mark.parametrize("number", range(len(EXAMPLES)), ids=[e.name for e in EXAMPLES])
def test_example_query_returns_rows_on_the_fixture_archive(
    fixture_archive: Path, number: int
) -> None:
    sql = _example_blocks(_doc())[number]
    db = sqlite3.connect(f"file:{fixture_archive}?mode=ro", uri=True)
    try:
        rows = db.execute(sql).fetchall()
    finally:
        db.close()
    assert rows, f"example {EXAMPLES[number].name} found nothing:\n{sql}"
