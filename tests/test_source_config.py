"""Each source kind checks its own keys; every problem in the file is listed in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from signals.config import load_config
from signals.errors import ConfigError
from tests.conftest import run_cli

BAD = """
[settings]
user_agent = "tests (tests@example.org)"

[[source]]
id = "bad-html"
kind = "html"
url = "https://www.bis.gov/news-updates"
date_format = "January"
timezone = "Mars/Olympus"
follow_links = "yes"
follow_max = 500
[source.select]
item = "li[data-date"
link = 3
colour = "red"

[[source]]
id = "no-select"
kind = "html"
url = "https://example.org/news"

[[source]]
id = "bad-fr"
kind = "json"
preset = "federal_register"
url = "https://www.federalregister.gov/api/v1/documents.json"
max_pages = 0
forms = ["6-K"]
[source.fields]
items = "results"

[[source]]
id = "bad-preset"
kind = "json"
preset = "sec_rss"
url = "https://example.org/api"

[[source]]
id = "bad-edgar"
kind = "json"
preset = "edgar_submissions"
url = "https://data.sec.gov/submissions/CIK0001577552.json"
forms = []
history_files = 99

[[source]]
id = "bad-mapping"
kind = "json"
url = "https://example.org/api"
[source.fields]
id = ["a"]
url_template = "https://example.org/a/"
headline = "title"

[[source]]
id = "bad-table"
kind = "table"
url = "https://example.org/board.csv"
format = "xlsx"
track_ranks = 11
group = "Model"
[source.columns]
score = ""
gpu = "Accelerator"

[[source]]
id = "ok-table"
kind = "table"
preset = "mlperf"
url = "https://example.org/summary_results.json"
"""

EXPECTED = [
    'source "bad-html": select.colour: unknown key (known: item, title, link, date, summary)',
    "source \"bad-html\": select.item: invalid CSS selector 'li[data-date'",
    'source "bad-html": select.title: required: expected a non-empty CSS selector string',
    'source "bad-html": select.link: expected a non-empty CSS selector string, got 3',
    "source \"bad-html\": date_format: 'January' has no % directive",
    "source \"bad-html\": timezone: unknown IANA timezone 'Mars/Olympus'",
    "source \"bad-html\": follow_links: expected true or false, got 'yes'",
    'source "bad-html": follow_max: expected a whole number from 1 to 50, got 500',
    'source "bad-html": date_format: set select.date too',
    'source "no-select": select: required: add a [source.select] table',
    "source \"bad-fr\": forms: only used with preset = 'edgar_submissions'",
    "source \"bad-fr\": fields: not used with preset = 'federal_register'; remove it",
    'source "bad-fr": max_pages: expected a whole number from 1 to 20, got 0',
    "source \"bad-preset\": preset: unknown preset 'sec_rss' (known: federal_register, edgar_submissions)",
    'source "bad-edgar": forms: expected a list of non-empty strings, got []',
    'source "bad-edgar": history_files: expected a whole number from 0 to 10, got 99',
    'source "bad-mapping": fields.headline: unknown key',
    'source "bad-mapping": fields.items: required',
    "source \"bad-mapping\": fields.id: expected a dotted path string, got ['a']",
    'source "bad-mapping": fields.title: required',
    'source "bad-mapping": fields.url_template: must contain {id}',
    "source \"bad-table\": format: expected 'csv' or 'json', got 'xlsx'",
    'source "bad-table": columns.gpu: unknown key',
    "source \"bad-table\": columns.score: expected a column name or a list of names, got ''",
    'source "bad-table": columns.system: required without a preset',
    "source \"bad-table\": group: expected a list of column names, got 'Model'",
    'source "bad-table": track_ranks: expected a whole number from 0 to 10, got 11',
]


def test_every_kind_lists_all_its_problems_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    for expected in EXPECTED:
        assert any(p.startswith(f"sources.toml: {expected}") for p in problems), (
            f"missing: {expected}\n" + "\n".join(problems)
        )
    assert not any('"ok-table"' in p for p in problems)
    assert len(problems) == len(EXPECTED)


def test_the_cli_exits_2_and_prints_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(BAD, encoding="utf-8")
    result = run_cli("sources", "check", sources=path)
    assert result.exit_code == 2
    assert "select.item: invalid CSS selector" in result.output
    assert "fields.url_template: must contain {id}" in result.output


def test_shipped_sources_include_every_kind() -> None:
    config = load_config(Path(__file__).parent.parent / "sources.toml")
    by_id = {s.id: s for s in config.sources}
    assert {s.kind for s in config.sources} == {"feed", "html", "json", "table"}
    bis = by_id["bis-press-releases"]
    assert bis.kind == "html" and bis.host == "www.bis.gov"
    fr = by_id["fr-bis-documents-api"]
    assert fr.options["preset"] == "federal_register"
    for field in ("effective_on", "comments_close_on", "cfr_references"):
        assert f"fields%5B%5D={field}" in fr.url
    alibaba = by_id["edgar-alibaba-submissions"]
    assert alibaba.url.endswith("/submissions/CIK0001577552.json")
    assert {"6-K", "20-F"} <= set(alibaba.options["forms"])
    edgar = [s for s in config.sources if s.options.get("preset") == "edgar_submissions"]
    assert len(edgar) >= 2
    assert by_id["mlperf-inference-v5.1"].options["preset"] == "mlperf"
    assert "fr-bis-documents" in by_id  # the feeds stay
