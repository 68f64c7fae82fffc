"""sources.toml: the shipped file is valid and real; bad files list every problem at once."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from signals.config import load_config
from signals.errors import ConfigError
from tests.conftest import run_cli

SHIPPED = Path(__file__).parent.parent / "sources.toml"


def test_shipped_sources_cover_all_four_families() -> None:
    config = load_config(SHIPPED)
    assert len(config.sources) >= 15
    hosts = {urlsplit(s.url).hostname for s in config.sources}
    assert "www.federalregister.gov" in hosts  # BIS export controls
    assert any(h and h.endswith("sec.gov") for h in hosts)  # filings
    hints = {h for s in config.sources for h in s.hint}
    assert {"policy_shifts", "infrastructure", "model_performance", "financial_posture"} <= hints
    bis = [s for s in config.sources if "industry-and-security-bureau" in s.url]
    assert bis, "the BIS documents feed from the Federal Register must ship"


def test_shipped_sec_sources_identify_themselves_and_stay_under_ten_per_second() -> None:
    config = load_config(SHIPPED)
    assert "@" in config.settings.user_agent
    for source in config.sources:
        if source.host.endswith("sec.gov"):
            assert source.rate_limit is not None and source.rate_limit <= 10


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        """
[settings]
workers = 0
colour = "blue"

[[source]]
id = "ok-one"
url = "https://example.org/feed"

[[source]]
id = "x"
kind = "carrier-pigeon"
url = "ftp://example.org/feed"
every = "soon"
hint = ["gossip"]
evrey = "1h"

[[source]]
id = "ok-one"
url = "https://example.org/other"
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    expected = [
        "sources.toml: settings.workers: expected a whole number of at least 1, got 0",
        "sources.toml: settings.colour: unknown setting",
        "sources.toml: source \"x\": kind: unknown kind 'carrier-pigeon'",
        "sources.toml: source \"x\": url: expected an absolute http(s) URL, got 'ftp://example.org/feed'",
        'sources.toml: source "x": every: expected a duration',
        "sources.toml: source \"x\": hint: unknown category 'gossip'",
        'sources.toml: source "x": evrey: unknown key',
        'sources.toml: source "ok-one": id: used by more than one source',
    ]
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), (fragment, problems)


def test_cli_exits_2_and_lists_problems(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nid = "Bad Id"\nurl = "nope"\n', encoding="utf-8")
    result = run_cli("fetch", sources=path)
    assert result.exit_code == 2
    assert "sources.toml: source #1: id: expected lower-case" in result.stderr
    assert "url: expected an absolute http(s) URL" in result.stderr


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[settings]\nworkers = 4\n\n[[source]\nid = "x"\n', encoding="utf-8")
    result = run_cli("sources", sources=path)
    assert result.exit_code == 2
    assert "sources.toml: invalid TOML" in result.stderr
    assert "line 4" in result.stderr


def test_sec_sources_need_a_contact_address(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[settings]\nuser_agent = "signals"\n\n[[source]]\nid = "edgar"\n'
        'url = "https://www.sec.gov/cgi-bin/browse-edgar?action=getcurrent&output=atom"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="SEC requires a User-Agent with a contact e-mail"):
        load_config(path)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    result = run_cli("fetch", sources=tmp_path / "nowhere.toml")
    assert result.exit_code == 2
    assert "no such file" in result.stderr and "--sources" in result.stderr


def test_database_path_is_relative_to_the_sources_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "sources.toml"
    path.write_text('[settings]\ndatabase = "data/a.db"\n', encoding="utf-8")
    assert load_config(path).settings.database == (tmp_path / "conf" / "data" / "a.db").resolve()
