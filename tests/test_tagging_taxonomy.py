"""rules/categories.toml: the shipped taxonomy loads; a broken one lists every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signals.errors import ConfigError
from signals.model import CATEGORY_IDS
from signals.tagging.taxonomy import load_taxonomy
from tests.conftest import TESTS, run_cli, write_taxonomy

RULES = TESTS.parent / "rules"

BROKEN = """
[settings]
threshold = 2
colour = "red"

[categories.infrastructure]
topic_from = ["gossip"]
[[categories.infrastructure.terms]]
phrases = ["data center", "Data Center"]
role = "hint"

[[categories.infrastructure.patterns]]
id = "Power Capacity"
weight = 1.0
pattern = [{ LOWER = { REGEX = '^(\\d+' } }]

[[categories.infrastructure.patterns]]
id = "headline"
pattern = [{ LOWER = "and" }]
title_only = true

[categories.model_performance]
terms = "benchmark"

[categories.gossip]

[priors.host]
"example.org" = ["rumours"]

[[entity]]
id = "Alibaba"
name = "Alibaba"

[[entity]]
id = "baba-group"
name = "Alibaba Group"
label = "COMPANY"
ciks = ["15775x2"]
categories = { chip_ecosystem = 0.5 }
roles = { chip_ecosystem = "main", policy_shifts = "topic" }

[[entity]]
id = "alibaba-cloud"
name = "alibaba group"
"""


def test_the_shipped_taxonomy_covers_every_category_and_the_watchlist() -> None:
    taxonomy = load_taxonomy(RULES / "categories.toml")
    assert [c.id for c in taxonomy.categories] == list(CATEGORY_IDS)
    assert all(c.terms for c in taxonomy.categories)
    ids = {e.id for e in taxonomy.entities}
    for wanted in (
        "alibaba",
        "t-head",
        "tencent",
        "baidu",
        "jd-com",
        "nvidia",
        "nvidia-h20",
        "nvidia-h100",
        "nvidia-h200",
        "nvidia-blackwell",
        "huawei-ascend",
        "smic",
        "tsmc",
        "naura",
        "acm-research",
        "bis",
        "mofcom",
        "qwen",
        "hunyuan",
        "ernie",
    ):
        assert wanted in ids
    alibaba = next(e for e in taxonomy.entities if e.id == "alibaba")
    assert {"BABA", "9988.HK", "1577552", "0001577552"} <= set(alibaba.symbols)


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write_taxonomy(tmp_path, BROKEN)
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)
    text = str(caught.value)
    expected = [
        "rules/categories.toml: settings.threshold: must be between 0.01 and 0.99, got 2",
        "rules/categories.toml: settings.colour: unknown key",
        "rules/categories.toml: categories.infrastructure.terms[0].weight: missing",
        "rules/categories.toml: categories.infrastructure.terms[0]: 'Data Center' is listed twice",
        "rules/categories.toml: categories.infrastructure.terms[0].role: expected one of"
        " evidence, topic, support, got 'hint'",
        "rules/categories.toml: categories.infrastructure.topic_from: 'gossip' is not another"
        " category id",
        "rules/categories.toml: categories.infrastructure.patterns[0].id: expected a lower-case id",
        "rules/categories.toml: categories.infrastructure.patterns[0].pattern: LOWER: invalid REGEX",
        "rules/categories.toml: categories.infrastructure.patterns[1].title_only: expected true or"
        " false, and a prefilter with true",
        "rules/categories.toml: categories.model_performance.terms: expected an array of tables",
        "rules/categories.toml: categories.gossip: unknown category",
        "rules/categories.toml: categories.customer_traction: missing",
        "rules/categories.toml: priors.host.example.org: unknown category 'rumours'",
        "rules/categories.toml: entity.Alibaba.id: expected a lower-case id",
        "rules/categories.toml: entity.baba-group.label: unknown label 'COMPANY'",
        "rules/categories.toml: entity.baba-group.ciks: '15775x2' is not a SEC CIK",
        "rules/categories.toml: entity.baba-group.roles.chip_ecosystem: expected one of",
        "rules/categories.toml: entity.baba-group.roles.policy_shifts: has no weight",
        "rules/categories.toml: entity.alibaba-cloud: alias 'alibaba group' already names entity"
        " 'baba-group'",
    ]
    for line in expected:
        assert line in text, f"{line!r} not in:\n{text}"
    assert len(caught.value.problems) >= len(expected)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write_taxonomy(tmp_path, "[settings\nthreshold = 0.5\n")
    with pytest.raises(ConfigError, match=r"rules/categories.toml: invalid TOML"):
        load_taxonomy(path)


@pytest.mark.parametrize(
    "pattern",
    [
        "prefilter = 'red'\npattern = [{ COLOUR = 'red' }]",
        "prefilter = 'red'\npattern = [{ LOWER = 'red', OP = '{two}' }]",
        "pattern = [{ LOWER = 'red', OP = '{two}' }]",
    ],
)
def test_a_token_pattern_spacy_rejects_is_named_when_the_pipeline_is_built(
    tmp_path: Path, pattern: str
) -> None:
    shipped = (RULES / "categories.toml").read_text(encoding="utf-8")
    bad = shipped + (
        f'\n[[categories.policy_shifts.patterns]]\nid = "odd"\nweight = 1.0\n{pattern}\n'
    )
    # categories.policy_shifts.patterns is already an array: append to it at the end
    path = write_taxonomy(tmp_path, bad)
    from signals.tagging.tagger import Tagger

    with pytest.raises(ConfigError) as caught:
        Tagger(load_taxonomy(path))
    assert "rules/categories.toml: categories.policy_shifts.patterns.odd:" in str(caught.value)
    assert "not a valid spaCy token pattern" in str(caught.value)


def test_the_cli_exits_2_listing_the_problems(tmp_path: Path) -> None:
    write_taxonomy(tmp_path, BROKEN)
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"title": "x"}) + "\n", encoding="utf-8")
    result = run_cli("--rules", str(tmp_path / "rules"), "classify", str(items))
    assert result.exit_code == 2
    assert "settings.threshold" in result.stderr and "entity.baba-group.label" in result.stderr


def test_a_missing_taxonomy_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"title": "x"}) + "\n", encoding="utf-8")
    result = run_cli("--rules", str(tmp_path / "rules"), "classify", str(items))
    assert result.exit_code == 2
    assert "categories.toml: cannot read the taxonomy" in result.stderr


def test_a_daemon_keeps_the_last_valid_taxonomy_when_the_file_breaks(tmp_path: Path) -> None:
    import os

    from signals.tagging.enricher import current_taxonomy

    shipped = (RULES / "categories.toml").read_text(encoding="utf-8")
    path = write_taxonomy(tmp_path, shipped)
    first = current_taxonomy(path)
    path.write_text(shipped.replace("threshold = 0.5", "threshold = 7", 1), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different mtime even within the same clock tick
    assert current_taxonomy(path) is first  # logged, not raised
    with pytest.raises(ConfigError, match=r"settings\.threshold"):
        load_taxonomy(path)  # a fresh process (signals fetch) refuses it


def test_a_configured_statistical_pipeline_that_is_not_installed_falls_back(
    tmp_path: Path,
) -> None:
    from signals.tagging.tagger import Tagger, TagInput

    shipped = (RULES / "categories.toml").read_text(encoding="utf-8")
    text = shipped.replace(
        '# spacy_model = "en_core_web_sm"', 'spacy_model = "no_such_spacy_pipeline"', 1
    )
    assert 'spacy_model = "no_such_spacy_pipeline"' in text
    tagger = Tagger(load_taxonomy(write_taxonomy(tmp_path, text)))
    assert not tagger.pipeline.statistical
    tagged = tagger.tag_one(TagInput(title="BIS adds Chinese chipmakers to the Entity List"))
    assert "policy_shifts" in tagged.categories


def test_rules_check_also_checks_the_taxonomy(tmp_path: Path) -> None:
    write_taxonomy(tmp_path, BROKEN)
    (tmp_path / "rules" / "quiet.toml").write_text(
        'title = "x"\ntype = "match"\naction = "alert"\n[when]\ncategories = ["gossip"]\n'
        '[notify.slack]\nchannel = "#x"\n',
        encoding="utf-8",
    )
    result = run_cli("--rules", str(tmp_path / "rules"), "rules", "check")
    assert result.exit_code == 2
    assert "rules/quiet.toml: when.categories" in result.stderr  # the rule's problem
    assert "rules/categories.toml: settings.threshold" in result.stderr  # and the taxonomy's
    assert "rules/categories.toml: entity.baba-group.label" in result.stderr
