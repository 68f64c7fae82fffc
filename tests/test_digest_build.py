"""Digest building over a realistic archive: grouping, collapsing, ranking, caps, health."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from signals.digest.build import build_digest, make_line
from signals.digest.render import render_text
from signals.dispatch import Dispatcher
from signals.rules import Rule, Window, load_rules
from signals.snapshot import ItemView, Tag
from tests.archive_builder import ArchiveBuilder, utc, week_of_news
from tests.conftest import TESTS

END = utc("2026-11-24T13:00")  # Tuesday 08:00 in New York
RULES = {r.id: r for r in load_rules(TESTS.parent / "rules").rules}


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveBuilder:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, END)
    return builder


def dispatcher(archive: ArchiveBuilder, tmp_path: Path) -> Dispatcher:
    return Dispatcher(archive.db, env={}, outbox=tmp_path / "outbox")


def with_digest(rule: Rule, **changes: object) -> Rule:
    assert rule.digest is not None
    return replace(rule, digest=replace(rule.digest, **changes))


def test_daily_digest_groups_new_stories_by_category_once_each(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    rule = RULES["daily-slack"]
    d = dispatcher(archive, tmp_path)
    window = d.latest_window(rule, END + timedelta(hours=2))
    assert window == Window(utc("2026-11-23T13:00"), END, "America/New_York")
    digest = d.digest(rule, window)
    titles = {s.category: [line.title for line in s.lines] for s in digest.sections}
    assert titles == {
        "infrastructure": [
            "Microsoft signs $10 billion AI capacity deal with Nebius for GPU clusters",
            "Alibaba Cloud opens new data center region in Mexico",
        ],
        "model_performance": ["MLPerf Inference v5.1 results: new records on Llama 3.1 405B"],
        "customer_traction": ["Saudi bank deploys Alibaba Cloud AI platform across three regions"],
        "chip_ecosystem": [
            "NVIDIA H20 shipments to China resume after license approvals",
            "T-Head unveils new inference accelerator for Alibaba Cloud",
        ],
        "policy_shifts": ["Additions to the Entity List"],
        "financial_posture": ["Alibaba Group 6-K: quarterly results, cloud revenue up 26%"],
    }
    assert digest.stories == 8  # the untagged roundup and last week's items are not in it
    entity_list = digest.sections[4].lines[0]
    assert entity_list.sources == 3 and entity_list.extra_sources == 2
    assert entity_list.why == ("Entity List", "Bureau of Industry and Security")


def test_one_story_from_three_sources_is_one_line_with_plus_two_sources(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    archive.item(
        "BIS adds 12 Chinese entities to trade blacklist",
        source="scmp-tech",
        first_seen=END - timedelta(hours=4),
        tags={"policy_shifts": (0.8, ["trade blacklist"])},
        story="story-entity-list",
    )
    digest = dispatcher(archive, tmp_path).digest(
        RULES["daily-slack"], Window(END - timedelta(days=1), END, "America/New_York")
    )
    policy = next(s for s in digest.sections if s.category == "policy_shifts")
    assert policy.total == 1
    line = policy.lines[0]
    assert line.title == "Additions to the Entity List"  # the best-scoring item tells the story
    assert line.sources == 4 and len(line.item_ids) == 2
    text = render_text(digest)
    assert text.count("Additions to the Entity List") == 1 and "[+3 sources]" in text


def test_cap_per_category_says_how_many_more_and_how_to_see_them(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    rule = with_digest(RULES["daily-slack"], per_category=1)
    digest = dispatcher(archive, tmp_path).digest(
        rule, Window(END - timedelta(days=1), END, "America/New_York")
    )
    infrastructure = next(s for s in digest.sections if s.category == "infrastructure")
    assert (len(infrastructure.lines), infrastructure.total, infrastructure.overflow) == (1, 2, 1)
    command = (
        "signals query --category infrastructure --since 2026-11-23T13:00:00Z"
        " --until 2026-11-24T13:00:00Z --min-score 0.3"
    )
    assert infrastructure.more_command == command
    assert f"+1 more: {command}" in render_text(digest)
    model = next(s for s in digest.sections if s.category == "model_performance")
    assert model.overflow == 0 and model.more_command is None


QUERY_OPTIONS = {"--category", "--source", "--entity", "--since", "--until", "--min-score"}


def test_the_overflow_command_covers_exactly_what_the_section_holds(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    from signals.times import parse_utc_iso

    window = Window(END - timedelta(days=1), END, "America/New_York")
    late = archive.item(  # first seen in the window, but published three days before it
        "Backfilled: CoreWeave's 2025 data-center filing",
        source="dcd-news",
        first_seen=END - timedelta(hours=2),
        published=END - timedelta(days=4),
        tags={"infrastructure": 0.95},
        entities=[("ORG", "CoreWeave", "coreweave")],
    )
    archive.item(
        "CoreWeave adds 50 MW in Texas",
        source="dcd-news",
        first_seen=END - timedelta(hours=3),
        tags={"infrastructure": 0.9},
        entities=[("ORG", "CoreWeave", "coreweave")],
    )
    archive.db.conn.commit()
    base = with_digest(RULES["daily-slack"], per_category=1)
    narrow = replace(base, when=replace(base.when, sources=("dcd-news",), entities=("coreweave",)))
    digest = dispatcher(archive, tmp_path).digest(narrow, window)
    [section] = digest.sections
    assert section.overflow == 1
    assert section.more_command is not None
    args = section.more_command.split()
    assert args[:2] == ["signals", "query"]
    options = dict(zip(args[2::2], args[3::2], strict=True))
    assert set(options) <= QUERY_OPTIONS  # DESIGN.md's query options, plus --until etc.
    assert options["--category"] == "infrastructure"
    assert (options["--source"], options["--entity"]) == ("dcd-news", "coreweave")
    assert options["--min-score"] == "0.3"
    # Published times bound the query: the window, widened to the backfilled item.
    published = {parse_utc_iso(options["--since"]), parse_utc_iso(options["--until"])}
    assert min(published) == END - timedelta(days=4) and max(published) == END
    assert late in digest.item_ids


def _line_rank(score: float, hours_ago: float, sources: int) -> float:
    window = Window(END - timedelta(days=1), END)
    story = ItemView(
        id="x",
        source_id="a",
        title="t",
        url=None,
        published_at=END - timedelta(hours=hours_ago),
        first_seen_at=END - timedelta(hours=hours_ago),
        tags={"infrastructure": Tag(score)},
        sources=tuple(f"s{n}" for n in range(sources)),
    )
    return make_line(RULES["daily-slack"], [story], "infrastructure", window).rank


def test_ranking_weighs_score_then_recency_then_breadth() -> None:
    assert _line_rank(0.9, 20, 1) > _line_rank(0.6, 1, 1)  # score dominates
    assert _line_rank(0.7, 1, 1) > _line_rank(0.7, 20, 1)  # then the newer story
    assert _line_rank(0.7, 10, 4) > _line_rank(0.7, 10, 1)  # then the one more sources carried
    assert _line_rank(0.7, 10, 4) == _line_rank(0.7, 10, 9)  # breadth saturates at four sources


def test_health_footer_names_failing_and_quiet_sources(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    archive.source(
        "fr-ustr-tariffs",
        name="Federal Register: USTR",
        status="http_503",
        last_ok_at=END - timedelta(days=2),
        error_count=14,
    )
    archive.source("arxiv-cs-dc", name="arXiv cs.DC", status="ok")
    for n in range(10):  # published every six hours, then nothing for five days
        archive.item(
            f"Paper {n}", source="arxiv-cs-dc", first_seen=END - timedelta(days=5, hours=6 * n)
        )
    archive.source("edgar-nvda", name="EDGAR NVIDIA", status="ok", enabled=False)
    digest = dispatcher(archive, tmp_path).digest(
        RULES["daily-slack"], Window(END - timedelta(days=1), END, "America/New_York")
    )
    notes = {n.source_id: n.problem for n in digest.health}
    assert notes == {
        "fr-ustr-tariffs": "failing (http_503), since Sun 22 Nov 08:00; 14 failed checks in a row",
        "arxiv-cs-dc": "quiet for 5d (usually a new item every 6h)",
    }
    assert "Source health:\n  ! Federal Register: USTR: failing (http_503)" in render_text(digest)


def test_an_empty_window_says_so_briefly(archive: ArchiveBuilder, tmp_path: Path) -> None:
    window = Window(END + timedelta(days=1), END + timedelta(days=2), "America/New_York")
    digest = dispatcher(archive, tmp_path).digest(RULES["daily-slack"], window)
    assert digest.empty and digest.sections == ()
    assert render_text(digest) == (
        "AI infrastructure daily\n"
        "Wed 25 Nov 08:00 → Thu 26 Nov 08:00 EST · 0 stories from 0 sources\n"
        "\n"
        "Nothing new matched in this window.\n"
    )


def test_weekly_brief_counts_against_the_previous_week_and_lists_upcoming_dates(
    archive: ArchiveBuilder, tmp_path: Path
) -> None:
    rule = RULES["weekly-email"]
    monday = utc("2026-11-30T12:00")  # the Monday 07:00 EST after END
    for n in range(3):  # the week before: three infrastructure stories, one policy story
        archive.item(
            f"Old infra {n}",
            source="dcd-news",
            first_seen=utc("2026-11-20T10:00") - timedelta(days=n),
            tags={"infrastructure": 0.8},
        )
    archive.item(
        "Old policy",
        source="fr-bis-documents",
        first_seen=utc("2026-11-21T10:00"),
        tags={"policy_shifts": 0.9},
    )
    d = dispatcher(archive, tmp_path)
    window = d.latest_window(rule, monday)
    assert window == Window(utc("2026-11-23T12:00"), monday, "America/New_York")
    digest = d.digest(rule, window)
    counts = {s.category: (s.total, s.previous_total) for s in digest.sections}
    # Oracle's campus (Sunday) and the advanced-computing rule (Monday 02:00) were last week.
    assert counts["infrastructure"] == (2, 4) and counts["policy_shifts"] == (1, 2)
    assert [(u.date, u.kind) for u in digest.upcoming] == [
        ("2026-12-04", "effective"),
        ("2026-12-24", "comments due"),
    ]
    text = render_text(digest)
    assert "INFRASTRUCTURE · 2 stories (-2 vs previous 4)" in text
    assert "POLICY SHIFTS · 1 story (-1 vs previous 2)" in text
    assert "• 2026-12-04 · effective · Additions to the Entity List" in text


def test_digest_building_is_pure_and_repeatable(archive: ArchiveBuilder, tmp_path: Path) -> None:
    d = dispatcher(archive, tmp_path)
    window = Window(END - timedelta(days=1), END, "America/New_York")
    from signals.snapshot import load_items, load_sources

    items, sources = load_items(archive.db, window.start, window.end), load_sources(archive.db)
    first = build_digest(RULES["daily-slack"], window, items, sources=sources)
    again = build_digest(RULES["daily-slack"], window, list(reversed(items)), sources=sources)
    assert first == again == d.digest(RULES["daily-slack"], window)
