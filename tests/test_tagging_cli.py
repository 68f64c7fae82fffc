"""classify, eval and tag on the command line, and tagging inside a real poll."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signals.archive import open_archive
from tests.conftest import TESTS, by_source, run_cli, write_sources
from tests.httpserver import LocalServer, Reply

RULES = TESTS.parent / "rules"
SMALL = TESTS / "data" / "feeds" / "small.rss.xml"
FR = TESTS / "data" / "federal_register"


def cli(*args: str, sources: Path | None = None) -> Any:
    return run_cli("--rules", str(RULES), *args, sources=sources)


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_classify_answers_one_line_per_input_in_order(tmp_path: Path) -> None:
    items = write_lines(
        tmp_path / "items.jsonl",
        [
            {"title": "BIS adds Chinese AI chip makers to the Entity List", "source_kind": "json"},
            {"title": "Local bakery wins award", "summary": "The croissants impressed."},
            {
                "title": "Alibaba Cloud opens new data center in Mexico",
                "summary": "Alibaba (BABA) adds cloud capacity.",
                "url": "https://www.alizila.com/x",
            },
        ],
    )
    result = cli("classify", str(items))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert set(lines[0]["categories"]) == {"policy_shifts", "chip_ecosystem"}
    assert lines[0]["evidence"]["policy_shifts"]
    assert set(lines[0]["scores"]) == {
        "infrastructure",
        "model_performance",
        "customer_traction",
        "chip_ecosystem",
        "policy_shifts",
        "financial_posture",
    }
    assert lines[1]["categories"] == []
    assert all(score < 0.5 for score in lines[1]["scores"].values())  # weak evidence only
    assert lines[2]["categories"] == ["infrastructure"]
    assert {e["id"] for e in lines[2]["entities"]} == {"alibaba", "alibaba-cloud"}


def test_classify_reads_stdin(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from signals.cli import cli as group

    line = json.dumps({"title": "Nvidia H20 exports need a license"}) + "\n"
    result = CliRunner().invoke(group, ["--rules", str(RULES), "classify", "-"], input=line)
    assert result.exit_code == 0, result.output
    assert "nvidia-h20" in result.stdout


def test_classify_names_every_bad_line(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        '{"title": "fine"}\n{"title": "broken"\n\n["a list"]\n{"summary": "no title"}\n',
        encoding="utf-8",
    )
    result = cli("classify", str(items))
    assert result.exit_code == 2
    assert f"{items}:2: not valid JSON" in result.stderr
    assert f"{items}:4: expected a JSON object, got list" in result.stderr
    assert f'{items}:5: needs "title" (text)' in result.stderr
    assert result.stdout == ""


def _gold(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "gold.jsonl",
        [
            {"title": "BIS adds 12 entities to the Entity List", "labels": ["policy_shifts"]},
            {
                "title": "TSMC starts 2nm mass production",
                "summary": "The foundry ramps a new node.",
                "labels": ["chip_ecosystem"],
            },
            {"title": "Local bakery wins award", "labels": []},
            {"title": "City council approves new park", "labels": []},
            {"title": "Nvidia files 10-Q", "labels": ["financial_posture", "chip_ecosystem"]},
        ],
    )


def test_eval_prints_per_category_figures_and_untagged_count(tmp_path: Path) -> None:
    result = cli("eval", str(_gold(tmp_path)))
    assert result.exit_code == 0, result.output
    for word in ("policy_shifts", "chip_ecosystem", "micro", "macro", "precision", "recall"):
        assert word in result.stdout
    assert "no category: 2 of 2 left untagged" in result.stdout


def test_eval_json_for_scripts(tmp_path: Path) -> None:
    result = cli("eval", str(_gold(tmp_path)), "--json", "--errors")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["items"] == 5
    assert report["no_category"] == {"expected": 2, "left_untagged": 2}
    assert report["categories"]["policy_shifts"]["recall"] == 1.0
    assert report["categories"]["chip_ecosystem"]["support"] == 2
    assert report["categories"]["chip_ecosystem"]["fn"] == 1  # a filing is not a chip story
    assert 0 < report["micro_f1"] < 1 and 0 < report["macro_f1"] < 1
    assert [e["line"] for e in report["errors"]] == [5]


def test_eval_headlines_reads_titles_alone(tmp_path: Path) -> None:
    gold = write_lines(
        tmp_path / "gold.jsonl",
        [
            {
                "title": "Contoso update",
                "summary": "TSMC starts 2nm mass production at its new fab.",
                "labels": ["chip_ecosystem"],
            },
        ],
    )
    whole = json.loads(cli("eval", str(gold), "--json").stdout)
    titles = json.loads(cli("eval", str(gold), "--json", "--headlines").stdout)
    assert whole["categories"]["chip_ecosystem"]["tp"] == 1
    assert titles["categories"]["chip_ecosystem"]["fn"] == 1


def test_eval_needs_labels(tmp_path: Path) -> None:
    gold = write_lines(tmp_path / "gold.jsonl", [{"title": "x"}, {"title": "y", "labels": ["z"]}])
    result = cli("eval", str(gold))
    assert result.exit_code == 2
    assert ':1: needs "labels"' in result.stderr
    assert ':2: "labels" must be a list of category ids' in result.stderr


def _fr_page(server: LocalServer) -> str:
    text = (FR / "documents-page3.json").read_text(encoding="utf-8")
    body = text.replace("https://www.federalregister.gov", server.url("")).encode()
    return server.route("/api/v1/documents.json", Reply(body=body, content_type="application/json"))


def test_a_poll_stores_tags_entities_and_facts_with_the_items(
    tmp_path: Path, server: LocalServer
) -> None:
    feed = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(
        tmp_path,
        [
            {"id": "news", "url": feed, "hint": ["infrastructure"]},
            {"id": "fr-bis", "kind": "json", "preset": "federal_register", "url": _fr_page(server)},
        ],
    )
    reports = by_source(cli_fetch(sources))
    assert reports["news"]["outcome"] == "ok" and reports["fr-bis"]["outcome"] == "ok"
    db = open_archive(tmp_path / "archive.db")
    tags = {
        (row["title"], row["category"]): json.loads(row["evidence"])
        for row in db.query(
            "SELECT i.title, t.category, t.evidence, t.method FROM item_tags t"
            " JOIN items i ON i.id = t.item_id"
        )
    }
    assert tags[("Commerce adds 12 Chinese entities to the Entity List", "policy_shifts")]
    assert "300 MW" in tags[("New 300 MW data center campus announced in Johor", "infrastructure")]
    assert tags[("Quarterly results: capex up 40%", "financial_posture")]
    assert all(evidence for evidence in tags.values())
    assert {row["method"] for row in db.query("SELECT method FROM item_tags")} == {"rules"}
    entities = {
        (row["text"], row["entity_id"]) for row in db.query("SELECT text, entity_id FROM entities")
    }
    assert ("Bureau of Industry and Security", "bis") in entities
    facts = {
        (row["kind"], row["text"], row["origin"])
        for row in db.query("SELECT kind, text, origin FROM facts")
    }
    assert ("percent", "40%", "tagger") in facts
    # every stored item was tagged, with or without categories
    untagged = db.execute(
        "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM tagged_items)"
    ).fetchone()
    assert untagged == (0,)


def cli_fetch(sources: Path) -> dict[str, Any]:
    result = run_cli("--rules", str(RULES), "fetch", "--json", sources=sources)
    assert result.exit_code in (0, 1), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_source_facts_are_kept_and_not_written_twice(tmp_path: Path, server: LocalServer) -> None:
    sources = write_sources(
        tmp_path,
        [{"id": "fr-bis", "kind": "json", "preset": "federal_register", "url": _fr_page(server)}],
    )
    assert by_source(cli_fetch(sources))["fr-bis"]["outcome"] == "ok"
    db = open_archive(tmp_path / "archive.db")
    before = sorted(
        (r["item_id"], r["kind"], r["text"])
        for r in db.query("SELECT item_id, kind, text FROM facts WHERE origin = 'source'")
    )
    assert before
    doubled = db.execute(
        "SELECT count(*) FROM (SELECT item_id, kind, text FROM facts"
        " GROUP BY item_id, kind, text HAVING count(*) > 1)"
    ).fetchone()
    assert doubled == (0,)
    result = run_cli("--rules", str(RULES), "tag", "--retag", sources=sources)
    assert result.exit_code == 0, result.output
    after = sorted(
        (r["item_id"], r["kind"], r["text"])
        for r in db.query("SELECT item_id, kind, text FROM facts WHERE origin = 'source'")
    )
    assert after == before


def test_tag_tags_only_untagged_items_unless_retag(tmp_path: Path, server: LocalServer) -> None:
    feed = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "news", "url": feed}])
    empty_rules = tmp_path / "no-taxonomy"
    empty_rules.mkdir()
    # polled without a taxonomy: stored untagged
    result = run_cli("--rules", str(empty_rules), "fetch", "--json", sources=sources)
    assert json.loads(result.stdout)["sources"][0]["new"] == 3
    db = open_archive(tmp_path / "archive.db")
    assert db.execute("SELECT count(*) FROM item_tags").fetchone() == (0,)

    result = run_cli("--rules", str(RULES), "tag", sources=sources)
    assert result.exit_code == 0, result.output
    assert "tagged 3 items" in result.stdout
    assert db.execute("SELECT count(*) FROM item_tags").fetchone()[0] >= 3
    result = run_cli("--rules", str(RULES), "tag", sources=sources)
    assert "tagged 0 items" in result.stdout

    # a taxonomy edit, then --retag replaces the old tags
    edited = tmp_path / "rules"
    edited.mkdir()
    text = (RULES / "categories.toml").read_text(encoding="utf-8")
    (edited / "categories.toml").write_text(text.replace('"data center",', ""), encoding="utf-8")
    db.execute("UPDATE item_tags SET score = 0.01")
    db.conn.commit()
    result = run_cli("--rules", str(edited), "tag", "--retag", sources=sources)
    assert "re-tagged 3 items" in result.stdout
    assert db.execute("SELECT min(score) FROM item_tags").fetchone()[0] > 0.01
    result = run_cli(
        "--rules", str(edited), "tag", "--retag", "--since", "2999-01-01", sources=sources
    )
    assert "re-tagged 0 items" in result.stdout
    result = run_cli("--rules", str(edited), "tag", "--since", "yesterday-ish", sources=sources)
    assert result.exit_code == 2 and "--since" in result.stderr


def test_help_of_the_tagging_commands_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from signals.cli import cli\n"
        "for args in (['classify', '--help'], ['eval', '--help'], ['tag', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "heavy = {'spacy', 'sqlite_utils', 'feedparser', 'httpx', 'rich'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_pipeline_that_cannot_be_built_stores_items_untagged(
    tmp_path: Path, server: LocalServer
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (RULES / "categories.toml").read_text(encoding="utf-8")
    text += '\n[[categories.policy_shifts.patterns]]\nid = "odd"\npattern = [{ COLOUR = "red" }]\n'
    (rules / "categories.toml").write_text(text, encoding="utf-8")
    assert run_cli("--rules", str(rules), "rules", "check").exit_code == 2
    feed = server.route("/feed", Reply.file(SMALL))
    sources = write_sources(tmp_path, [{"id": "news", "url": feed}])
    result = run_cli("--rules", str(rules), "fetch", "--json", sources=sources)
    assert json.loads(result.stdout)["sources"][0]["new"] == 3  # stored, not lost
    db = open_archive(tmp_path / "archive.db")
    assert db.execute("SELECT count(*) FROM tagged_items").fetchone() == (0,)
    result = run_cli("--rules", str(RULES), "tag", sources=sources)  # fixed file: tag later
    assert "tagged 3 items" in result.stdout
