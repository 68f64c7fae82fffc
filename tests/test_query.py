"""signals query: ranked full-text search with snippets and filters, read-only, three formats."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from signals.digest.render import render_text
from signals.dispatch import Dispatcher
from signals.rules import Window, load_rules
from signals.search import Filters, search
from signals.times import utcnow
from tests.archive_builder import ArchiveBuilder, week_of_news
from tests.conftest import TESTS, run_cli

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveBuilder:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, NOW)
    return builder


def query(archive: ArchiveBuilder, *args: str) -> Any:
    result = run_cli("--db", str(archive.path), "query", *args)
    assert result.exit_code == 0, result.output
    return result


def hits(archive: ArchiveBuilder, *args: str) -> list[dict[str, Any]]:
    document: list[dict[str, Any]] = json.loads(query(archive, *args, "--format", "json").stdout)
    return document


def titles(archive: ArchiveBuilder, *args: str) -> list[str]:
    return [hit["title"].replace("**", "") for hit in hits(archive, *args)]


def test_a_match_in_the_title_ranks_above_matches_in_the_body(archive: ArchiveBuilder) -> None:
    archive.item(
        "Weekly trade policy notes",
        source="reuters-tech",
        first_seen=NOW - timedelta(hours=1),
        body="Among other things, the Entity List grew again. The Entity List now has more"
        " Chinese entries; lawyers expect more Entity List additions.",
    )
    found = titles(archive, "entity list")
    assert found[0] == "Additions to the Entity List"
    assert found[1] == "Weekly trade policy notes"


def test_json_marks_matches_in_title_and_snippet(archive: ArchiveBuilder) -> None:
    [hit] = hits(archive, "H20")
    assert hit["title"] == "NVIDIA **H20** shipments to China resume after license approvals"
    assert hit["snippet"] == ""  # no summary or body to quote
    [rule] = hits(archive, "entities destinations")
    assert rule["snippet"].startswith("The Bureau of Industry and Security (BIS) amends")
    assert "**entities**" in rule["snippet"] and "**destinations**" in rule["snippet"]
    assert hit["categories"] == {"chip_ecosystem": 0.91, "policy_shifts": 0.45}
    assert hit["source_id"] == "reuters-tech" and hit["url"].startswith("https://")
    assert hit["score"] > 0


def test_stemming_and_words_with_punctuation(archive: ArchiveBuilder) -> None:
    assert titles(archive, "commit") == [
        "Alibaba commits RMB 380 billion to AI infrastructure over three years"
    ]
    assert titles(archive, "T-Head") == [
        "T-Head unveils new inference accelerator for Alibaba Cloud"
    ]
    assert titles(archive, '"data center" Mexico') == [
        "Alibaba Cloud opens new data center region in Mexico"
    ]
    assert titles(archive, "alibaba NOT cloud") == [
        "Alibaba commits RMB 380 billion to AI infrastructure over three years"
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--category", "infrastructure"), 4),
        (("--category", "infrastructure", "--min-score", "0.85"), 2),
        (("--min-score", "0.9"), 5),
        (("--entity", "nvidia-h20"), 1),
        (("--source", "reuters-tech"), 3),  # two of its own and the Entity List it also carried
        (("--source", "fr-export-controls-chips", "--category", "policy_shifts"), 2),
        (("--since", "26h"), 9),  # published 30 min before first seen
        (("--until", "26h"), 4),
    ],
)
def test_filters_without_text_list_newest_first(
    archive: ArchiveBuilder, args: tuple[str, ...], expected: int
) -> None:
    found = hits(archive, *args)
    assert len(found) == expected
    published = [hit["published_at"] for hit in found]
    assert published == sorted(published, reverse=True)


def test_filters_apply_to_text_search(archive: ArchiveBuilder) -> None:
    assert len(titles(archive, "alibaba")) == 5
    assert titles(archive, "alibaba", "--category", "financial_posture") == [
        "Alibaba Group 6-K: quarterly results, cloud revenue up 26%",
        "Alibaba commits RMB 380 billion to AI infrastructure over three years",
    ]
    assert titles(archive, "alibaba", "--entity", "alibaba") == [
        "Alibaba Cloud opens new data center region in Mexico"
    ]
    assert titles(archive, "alibaba", "--source", "scmp-tech", "--since", "1d") == [
        "T-Head unveils new inference accelerator for Alibaba Cloud"
    ]
    assert len(titles(archive, "alibaba", "--limit", "2")) == 2


def test_dates_accept_iso_dates_times_and_ages(archive: ArchiveBuilder) -> None:
    day = (NOW - timedelta(days=2)).date().isoformat()
    at = (NOW - timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    everything = {hit["id"] for hit in hits(archive)}
    until_day = {hit["id"] for hit in hits(archive, "--until", day)}
    since_next = {hit["id"] for hit in hits(archive, "--since", day)}
    assert until_day and since_next and until_day | since_next == everything
    assert until_day & since_next, "a bare --until date includes that whole day"
    assert len(hits(archive, "--since", at)) == len(hits(archive, "--since", "10h"))
    assert len(hits(archive, "--since", "1w")) == len(everything)


def test_csv_has_a_header_and_plain_markers(archive: ArchiveBuilder) -> None:
    rows = list(csv.DictReader(io.StringIO(query(archive, "H20", "--format", "csv").stdout)))
    assert len(rows) == 1
    assert rows[0]["title"].startswith("NVIDIA **H20**")
    assert json.loads(rows[0]["categories"])["chip_ecosystem"] == 0.91


def test_table_shows_titles_snippets_and_scores_without_markers(archive: ArchiveBuilder) -> None:
    out = query(archive, "Entity List").stdout
    assert "Additions to the Entity List" in out and "fr-bis-documents" in out
    assert "policy_shifts 0.97" in out
    assert "\x02" not in out and "**" not in out and "[bold" not in out
    assert "No matching items." in query(archive, "zeppelin").stdout


def test_bad_search_syntax_is_a_clear_error_not_a_traceback(archive: ArchiveBuilder) -> None:
    for text in ("(entity AND", 'entity "list', "nope:word"):
        result = run_cli("--db", str(archive.path), "query", text)
        assert result.exit_code == 2, result.output
        assert "not a valid full-text query" in result.output
        assert "Traceback" not in result.output
    result = run_cli("--db", str(archive.path), "query", "--since", "last tuesday")
    assert result.exit_code == 2 and "--since: expected a date" in result.output


def test_query_opens_the_archive_read_only(archive: ArchiveBuilder, tmp_path: Path) -> None:
    archive.db.close()
    before = archive.path.stat().st_mtime_ns, archive.path.stat().st_size
    query(archive, "Entity List")
    assert (archive.path.stat().st_mtime_ns, archive.path.stat().st_size) == before
    missing = tmp_path / "nothing-here.db"
    result = run_cli("--db", str(missing), "query", "anything")
    assert result.exit_code == 1 and "no archive here yet" in result.output
    assert not missing.exists()


def test_ranking_looks_at_the_newest_candidates_only(archive: ArchiveBuilder) -> None:
    """Bounded ranking: with room for two candidates, only the two last stored are ranked."""
    found = search(archive.db, "alibaba", Filters(), limit=2, candidates=2)
    assert {hit.title.replace("\x02", "").replace("\x03", "") for hit in found} == {
        "Alibaba commits RMB 380 billion to AI infrastructure over three years",
        "Alibaba Group 6-K: quarterly results, cloud revenue up 26%",
    }


def test_a_large_limit_gets_that_many_results(archive: ArchiveBuilder) -> None:
    for n in range(6):
        archive.item(
            f"Alibaba note {n}", source="alibaba-news", first_seen=NOW - timedelta(hours=n)
        )
    found = search(archive.db, "alibaba", Filters(), limit=10, candidates=3)
    assert len(found) == 10


def test_the_digest_overflow_commands_list_what_the_cap_left_out(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    """Every `signals query` line a capped digest prints runs and lists the whole section."""
    archive.item(
        "Equinix breaks ground on a 240 MW campus",
        source="dcd-news",
        first_seen=NOW - timedelta(hours=6),
        tags={"infrastructure": 0.8},
    )
    rules = {r.id: r for r in load_rules(TESTS.parent / "rules").rules}
    daily = rules["daily-slack"]
    assert daily.digest is not None
    capped = replace(daily, digest=replace(daily.digest, per_category=1))
    one_source = replace(capped, when=replace(capped.when, sources=("dcd-news",)))
    window = Window(NOW - timedelta(days=1), NOW, "America/New_York")
    dispatcher = Dispatcher(archive.db, env={}, outbox=tmp_path / "outbox")
    checked = 0
    for rule in (capped, one_source):
        digest = dispatcher.digest(rule, window)
        text = render_text(digest)
        for section in digest.sections:
            if section.more_command is None:
                continue
            assert section.more_command in text
            args = shlex.split(section.more_command)
            assert args[:2] == ["signals", "query"]
            listed = {hit["id"] for hit in hits(archive, *args[2:])}
            shown = {item_id for line in section.lines for item_id in line.item_ids}
            assert shown <= listed
            assert len(listed) >= section.total
            checked += 1
    assert checked >= 3
    assert re.search(r"signals query --category infrastructure --source dcd-news --since \S+", text)


def test_equally_relevant_matches_list_the_newest_first(tmp_path: Path) -> None:
    # A filer's 10-Qs all read alike; a submissions file stores them newest first, so the
    # oldest filing is inserted last: relevance ties must still show the latest filing.
    builder = ArchiveBuilder(tmp_path / "filings.db")
    for year in (2025, 2024, 2023, 2022):
        builder.item(
            f"Quantum Widgets files 10-Q ({year}-05-20)",
            source="edgar-widgets",
            first_seen=NOW - timedelta(hours=1),
            published=f"{year}-05-20T04:00:00Z",
            summary="Form 10-Q filed by Quantum Widgets.",
        )
    found = titles(builder, "quantum widgets")
    assert found == [f"Quantum Widgets files 10-Q ({y}-05-20)" for y in (2025, 2024, 2023, 2022)]
