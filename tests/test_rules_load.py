"""Rule files: the shipped ones are valid; every broken one says exactly what is wrong.

Each file in tests/data/bad_rules/ states the problems it must produce in its leading
``# expect:`` lines; the file is loaded as ``rules/<name>.toml`` (with the retention of a
``# keep_items_for:`` line, if any).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from signals.errors import ConfigError, UsageError
from signals.rules import load_rules
from signals.rules.types import FlatlineOptions, SpikeOptions
from tests.conftest import TESTS, run_cli, write_sources

SHIPPED = TESTS.parent / "rules"
BAD = sorted((TESTS / "data" / "bad_rules").glob("*.toml"))


def _expected(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"rules/{path.name}: {line.removeprefix('# expect: ')}"
        for line in lines
        if line.startswith("# expect: ")
    ]


def _retention(path: Path) -> timedelta | None:
    """A ``# keep_items_for: 14d`` line loads the file as under that retention setting."""
    from signals.units import parse_duration

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# keep_items_for: "):
            return parse_duration(line.removeprefix("# keep_items_for: "))
    return None


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_a_broken_rule_file_names_file_key_and_problem(tmp_path: Path, path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    rule_set = load_rules(folder, retention=_retention(path))
    assert list(rule_set.problems) == _expected(path)
    assert rule_set.rules == ()


def test_every_rule_type_has_a_broken_fixture() -> None:
    from signals.rules.types import RULE_TYPES

    covered = {p.stem.split("-")[0] for p in BAD}
    assert set(RULE_TYPES) <= covered


def test_shipped_rules_are_valid_and_cover_the_three_deliveries() -> None:
    rule_set = load_rules(SHIPPED, required=True)
    assert rule_set.problems == ()
    rules = {rule.id: rule for rule in rule_set.rules}
    daily, weekly, alert = (
        rules["daily-slack"],
        rules["weekly-email"],
        rules["export-controls-alert"],
    )
    assert daily.digest is not None and daily.channels == ("slack",)
    assert (daily.digest.schedule, daily.digest.timezone) == ("0 8 * * mon-fri", "America/New_York")
    assert len(daily.when.categories) == 6
    assert weekly.digest is not None and weekly.channels == ("email",)
    assert weekly.digest.schedule == "0 7 * * mon" and weekly.digest.compare_previous
    assert weekly.digest.upcoming == timedelta(days=60)
    assert alert.action == "alert" and alert.channels == ("slack",)
    assert (
        "Entity List" in alert.when.all_terms() and "advanced computing" in alert.when.all_terms()
    )
    assert "categories.toml" not in {r.path.name for r in rule_set.rules}


def test_categories_toml_is_the_taxonomy_not_a_rule(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "categories.toml").write_text('[infrastructure]\nterms = ["data center"]\n')
    (folder / "ok.toml").write_text('action = "alert"\n[notify.outbox]\n')
    rule_set = load_rules(folder)
    assert rule_set.problems == () and [r.id for r in rule_set.rules] == ["ok"]


def test_problems_of_several_files_come_together_and_good_rules_still_load(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("spike-factor-too-small.toml", "unknown-type.toml"):
        shutil.copy(TESTS / "data" / "bad_rules" / name, folder / name)
    shutil.copy(SHIPPED / "daily-slack.toml", folder / "daily-slack.toml")
    rule_set = load_rules(folder)
    assert [p.split(":")[0] for p in rule_set.problems] == [
        "rules/spike-factor-too-small.toml",
        "rules/unknown-type.toml",
    ]
    assert [r.id for r in rule_set.rules] == ["daily-slack"]
    with pytest.raises(ConfigError) as caught:
        rule_set.get("unknown-type")
    assert "rules/unknown-type.toml: type: unknown rule type" in str(caught.value)
    with pytest.raises(UsageError, match=r"unknown rule 'nope'.*known: daily-slack"):
        rule_set.get("nope")


def test_options_of_each_type_are_typed_and_defaulted(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "surge.toml").write_text(
        'type = "spike"\naction = "alert"\n[spike]\nby = "entity"\nfactor = 4\n[notify.outbox]\n'
    )
    (folder / "quiet.toml").write_text('type = "flatline"\naction = "alert"\n[notify.outbox]\n')
    rules = {r.id: r for r in load_rules(folder).rules}
    assert rules["surge"].options == SpikeOptions(by="entity", factor=4.0)
    assert rules["quiet"].options == FlatlineOptions()
    assert rules["quiet"].realert == timedelta(hours=24)


def test_rules_check_command_lists_rules_or_every_problem_with_exit_2(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [{"id": "fr-bis-documents", "url": "https://example.org/f"}])
    ok = run_cli("--rules", str(SHIPPED), "rules", "check", "--json", sources=sources)
    assert ok.exit_code == 0, ok.output
    assert '"rule": "daily-slack"' in ok.stdout

    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(TESTS / "data" / "bad_rules" / "match-email-problems.toml", folder / "brief.toml")
    (folder / "watch.toml").write_text(
        'action = "alert"\n[when]\nsources = ["no-such-source"]\n[notify.outbox]\n'
    )
    bad = run_cli("--rules", str(folder), "rules", "check", sources=sources)
    assert bad.exit_code == 2
    assert "rules/brief.toml: notify.email.to: 'leadership' is not an e-mail address" in bad.output
    assert "rules/brief.toml: notify.teams: unknown channel" in bad.output
    assert (
        "rules/watch.toml: when.sources: unknown source 'no-such-source' (not in sources.toml)"
        in bad.output
    )


def test_a_missing_rules_folder_is_an_error_for_rules_check(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [])
    result = run_cli("--rules", str(tmp_path / "nope"), "rules", "check", sources=sources)
    assert result.exit_code == 2
    assert "nope: no such folder (pass --rules or set SIGNALS_RULES)" in result.output


def test_rules_check_measures_windows_against_the_configured_retention(tmp_path: Path) -> None:
    sources = write_sources(tmp_path, [], keep_items_for="10d")
    ok = run_cli("--rules", str(SHIPPED), "rules", "check", sources=sources)
    assert ok.exit_code == 2  # the weekly brief compares two weeks: 14d of items
    assert ok.output.strip().endswith(
        "rules/weekly-email.toml: digest.compare_previous: needs the previous window too (14d"
        " of items), longer than keep_items_for (10d in sources.toml [settings])"
    )
    roomy = write_sources(tmp_path, [], keep_items_for="90d")
    assert run_cli("--rules", str(SHIPPED), "rules", "check", sources=roomy).exit_code == 0
