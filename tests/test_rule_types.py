"""The pure rule engine: conditions, and what each rule type finds in hand-made data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signals.rules.conditions import matches, reasons
from signals.rules.model import Conditions, FactCondition, Rule, SlackTarget
from signals.rules.schedule import Window
from signals.rules.types import (
    RULE_TYPES,
    Event,
    FlatlineOptions,
    Inputs,
    NewTermOptions,
    SpikeOptions,
    suppress,
)
from signals.snapshot import EntityRef, Fact, ItemView, SourceView, Tag

NOW = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def item(n: int | str, **fields: Any) -> ItemView:
    defaults: dict[str, Any] = {
        "id": f"i{n}",
        "source_id": "fr-bis-documents",
        "title": f"Item {n}",
        "url": f"https://example.org/{n}",
        "published_at": NOW - timedelta(hours=1),
        "first_seen_at": NOW - timedelta(minutes=30),
        "source_kind": "feed",
    }
    defaults.update(fields)
    defaults.setdefault("sources", (defaults["source_id"],))
    return ItemView(**defaults)


def rule(
    type_name: str = "match", when: Conditions | None = None, options: Any = None, **extra: Any
) -> Rule:
    return Rule(
        id=f"test-{type_name}",
        path=Path(f"rules/test-{type_name}.toml"),
        title="Test",
        type=type_name,
        action="alert",
        when=when or Conditions(),
        notify=(("slack", SlackTarget("#x")),),
        options=options,
        **extra,
    )


def test_terms_match_whole_words_in_any_case_and_spacing() -> None:
    when = Conditions(terms=("Entity List", "3A090"))
    assert matches(when, item(1, title="BIS adds 12 parties to the entity\nlist"))
    assert matches(when, item(2, summary="covers ECCN 3A090 items"))
    assert not matches(when, item(3, title="Entity Listing service launched"))
    assert not matches(when, item(4, title="3A0901 is not an ECCN"))


def test_categories_need_the_minimum_score_and_any_alternative_must_hold() -> None:
    when = Conditions(
        categories=("policy_shifts",),
        min_score=0.5,
        any=(
            Conditions(terms=("Entity List",)),
            Conditions(facts=(FactCondition(kind="eccn", text=("3A090", "4A090")),)),
        ),
    )
    tagged = {"policy_shifts": Tag(0.9)}
    assert matches(when, item(1, title="Additions to the Entity List", tags=tagged))
    assert matches(when, item(2, tags=tagged, facts=(Fact("eccn", None, None, "4a090"),)))
    assert not matches(when, item(3, tags=tagged, title="Tariff notice"))
    assert not matches(
        when, item(4, title="Additions to the Entity List", tags={"policy_shifts": Tag(0.4)})
    )
    assert not matches(when, item(5, title="Additions to the Entity List"))


def test_fact_conditions_compare_amount_and_currency() -> None:
    when = Conditions(facts=(FactCondition(kind="money", unit="USD", min=1e9),))
    assert matches(when, item(1, facts=(Fact("money", 1.5e10, "USD", "$15 billion"),)))
    assert not matches(when, item(2, facts=(Fact("money", 3.8e11, "CNY", "RMB 380 billion"),)))
    assert not matches(when, item(3, facts=(Fact("money", 5e8, "USD", "$500 million"),)))


def test_sources_kinds_entities_and_exclusions() -> None:
    assert matches(Conditions(sources=("reuters",)), item(1, sources=("dcd", "reuters")))
    assert not matches(Conditions(source_kinds=("json",)), item(2))
    h20 = (EntityRef("CHIP", "H20", "nvidia-h20"),)
    assert matches(Conditions(entities=("nvidia-h20",)), item(3, entities=h20))
    assert not matches(
        Conditions(terms=("H20",), exclude_terms=("rumor",)), item(4, title="H20 rumor")
    )


def test_reasons_are_the_tagger_evidence_then_the_rule_terms_and_facts() -> None:
    when = Conditions(terms=("Entity List",), facts=(FactCondition(kind="eccn", text=("3A090",)),))
    found = item(
        1,
        title="Additions to the Entity List",
        tags={"policy_shifts": Tag(0.9, ("entity list", "Bureau of Industry and Security"))},
        facts=(Fact("eccn", None, None, "3A090"),),
    )
    assert reasons(when, found, "policy_shifts") == [
        "entity list",
        "Bureau of Industry and Security",
        "3A090",
    ]


def test_match_gives_one_event_per_story_and_skips_old_backfill() -> None:
    r = rule(when=Conditions(terms=("Entity List",)))
    window = Window(NOW - timedelta(hours=1), NOW)
    items = [
        item(1, title="Entity List additions", story_id="s1"),
        item(2, title="Entity List additions (Reuters)", story_id="s1", source_id="reuters"),
        item(3, title="Entity List: 2019 rule", published_at=NOW - timedelta(days=400)),
        item(4, title="Unrelated"),
    ]
    events = RULE_TYPES["match"].evaluate(r, Inputs(items=items), window, NOW)
    assert [(e.key, [i.id for i in e.items]) for e in events] == [("story:s1", ["i1", "i2"])]


def _daily(count_by_day: dict[int, int], category: str = "policy_shifts") -> list[ItemView]:
    found = []
    for days_ago, count in count_by_day.items():
        for n in range(count):
            seen = NOW - timedelta(days=days_ago, hours=1 + n % 20)
            found.append(
                item(
                    f"{days_ago}-{n}",
                    first_seen_at=seen,
                    published_at=seen,
                    tags={category: Tag(0.8)},
                )
            )
    return found


def test_spike_fires_when_a_category_triples_its_baseline() -> None:
    r = rule("spike", options=SpikeOptions(by="category", factor=3, min_count=3))
    items = _daily({0: 7, **{d: 1 for d in range(1, 15)}})
    inputs = Inputs(items=items, archive_started_at=NOW - timedelta(days=30))
    events = RULE_TYPES["spike"].evaluate(r, inputs, Window(NOW - timedelta(minutes=15), NOW), NOW)
    assert [e.key for e in events] == ["category:policy_shifts"]
    assert events[0].headline == "policy_shifts: 7 stories in the last 1d, usually 1.0 (7.0x)"
    assert len(events[0].items) == 5


def test_spike_stays_quiet_at_the_usual_rate_and_on_a_young_archive() -> None:
    r = rule("spike", options=SpikeOptions(factor=3, min_count=3))
    usual = _daily({d: 3 for d in range(0, 15)})
    window = Window(NOW - timedelta(minutes=15), NOW)
    assert (
        RULE_TYPES["spike"].evaluate(
            r, Inputs(items=usual, archive_started_at=NOW - timedelta(days=30)), window, NOW
        )
        == []
    )
    young = Inputs(items=_daily({0: 9}), archive_started_at=NOW - timedelta(days=2))
    assert RULE_TYPES["spike"].evaluate(r, young, window, NOW) == []


def _source(source_id: str, every: timedelta, last: datetime, enabled: bool = True) -> SourceView:
    recent = tuple(last - every * n for n in range(30))
    return SourceView(
        source_id, source_id.upper(), "feed", enabled, "ok", None, 0, last, last, recent
    )


def test_flatline_names_a_source_silent_for_longer_than_its_cadence_allows() -> None:
    r = rule(
        "flatline", options=FlatlineOptions(by="source", factor=3, min_quiet=timedelta(hours=12))
    )
    sources = [
        _source("hourly-news", timedelta(hours=1), NOW - timedelta(days=2)),
        _source("weekly-filings", timedelta(days=7), NOW - timedelta(days=3)),
        _source("disabled", timedelta(hours=1), NOW - timedelta(days=9), enabled=False),
    ]
    events = RULE_TYPES["flatline"].evaluate(r, Inputs(sources=sources), Window(NOW, NOW), NOW)
    assert [e.key for e in events] == ["source:hourly-news"]
    assert events[0].headline.startswith("HOURLY-NEWS has been quiet for 2d (usually every 1h;")


def test_flatline_by_category_watches_the_matching_stories() -> None:
    r = rule("flatline", options=FlatlineOptions(by="category", min_quiet=timedelta(days=1)))
    items = [
        item(
            n,
            published_at=NOW - timedelta(days=4, hours=6 * n),
            first_seen_at=NOW - timedelta(days=4, hours=6 * n),
            tags={"financial_posture": Tag(0.9)},
        )
        for n in range(8)
    ] + [
        item(
            f"m{n}", published_at=NOW - timedelta(hours=6 * n), tags={"model_performance": Tag(0.9)}
        )
        for n in range(8)
    ]
    events = RULE_TYPES["flatline"].evaluate(r, Inputs(items=items), Window(NOW, NOW), NOW)
    assert [e.key for e in events] == ["category:financial_posture"]


def test_new_term_reports_an_entity_the_archive_never_saw_before() -> None:
    r = rule("new_term", options=NewTermOptions(labels=("ORG",)))
    window = Window(NOW - timedelta(hours=1), NOW)
    newcomer = item(
        1,
        entities=(
            EntityRef("ORG", "Shenzhen Example Tech", None),
            EntityRef("ORG", "NVIDIA", "nvidia"),
        ),
    )
    inputs = Inputs(
        items=[newcomer, item(2, entities=(EntityRef("PERSON", "Jane Doe", None),))],
        first_seen={
            "entity:nvidia": NOW - timedelta(days=40),
            "text:ORG:shenzhen example tech": newcomer.first_seen_at,
        },
        archive_started_at=NOW - timedelta(days=60),
    )
    events = RULE_TYPES["new_term"].evaluate(r, inputs, window, NOW)
    assert [(e.key, e.headline) for e in events] == [
        ("text:ORG:shenzhen example tech", "First appearance: Shenzhen Example Tech (ORG)")
    ]
    young = replace(inputs, archive_started_at=NOW - timedelta(days=3))
    assert RULE_TYPES["new_term"].evaluate(r, young, window, NOW) == []


def test_suppress_drops_recent_keys_and_items_already_told() -> None:
    r = rule()
    events = [
        Event("story:a", "", (item(1), item(2))),
        Event("story:b", "", (item(3),)),
        Event("story:c", "", (item(4),)),
    ]
    kept = suppress(r, events, recent_keys={"story:b"}, delivered_items={"i1", "i4"})
    assert [(e.key, [i.id for i in e.items]) for e in kept] == [("story:a", ["i2"])]
