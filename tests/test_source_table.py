"""kind = "table": MLPerf results become result items, rank events and queryable facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signals.archive import open_archive
from tests.conftest import TESTS, by_source, fetch_json, write_sources
from tests.httpserver import LocalServer, Reply

DATA = TESTS / "data" / "benchmarks"
README = TESTS.parent / "README.md"
OFFLINE = "MLPerf · v5.1 · datacenter · closed · llama2-70b-99 · Offline"


def _mlperf(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "mlperf",
        "kind": "table",
        "preset": "mlperf",
        "url": url,
        "where": {"Category": "closed"},
        "every": "1m",
        **extra,
    }


def _json_reply(name: str) -> Reply:
    return Reply.file(DATA / name, content_type="application/json")


def _items(db: Any, event: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT * FROM items WHERE json_extract(meta, '$.event') = ? ORDER BY title", [event]
        )
    )


def _readme_query(marker: str) -> str:
    """An example query from README.md, so the documented SQL is the tested SQL."""
    text = README.read_text(encoding="utf-8")
    start = text.index(marker)
    block = text.index("```sql", start) + len("```sql")
    return text[block : text.index("```", block)].strip()


def test_first_fill_stores_results_and_a_baseline_leader_per_leaderboard(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/summary_results.json", _json_reply("mlperf-summary-results-round1.json"))
    sources = write_sources(tmp_path, [_mlperf(url)])
    report = by_source(fetch_json(sources))["mlperf"]
    assert report["outcome"] == "ok", report
    # 7 closed rows with scores (the open row is filtered out, the scoreless one skipped)
    assert any("row 9 skipped: no system or no numeric score" in w for w in report["warnings"])
    db = open_archive(tmp_path / "archive.db")
    results = _items(db, "result")
    assert len(results) == 7
    leaders = _items(db, "rank")
    assert [json.loads(r["meta"])["baseline"] for r in leaders] == [True, True, True]
    titles = [r["title"] for r in leaders]
    assert (
        f"Leader of {OFFLINE}: NVIDIA DGX B200 (8x B200-SXM-180GB, TensorRT) (98,443.3 Tokens/s)"
        in titles
    )
    # latency: lower is better
    edge = next(t for t in titles if "SingleStream" in t)
    assert "Supermicro SuperServer H13 (1x speedAI240)" in edge

    b200 = next(r for r in results if "DGX B200" in r["title"] and "Offline" in r["title"])
    assert b200["title"] == (
        f"{OFFLINE}: NVIDIA DGX B200 (8x B200-SXM-180GB, TensorRT)"
        " (NVIDIA B200-SXM-180GB ×8), 98,443.3 Tokens/s"
    )
    assert b200["url"].startswith("https://github.com/mlcommons/inference_results_v5.1/tree/main/")
    facts = {
        (f["kind"], f["value"], f["unit"], f["text"])
        for f in db.query("SELECT * FROM facts WHERE item_id = ?", [b200["id"]])
    }
    assert ("benchmark_result", 98443.3, "Tokens/s",
            f"{OFFLINE}: NVIDIA DGX B200 (8x B200-SXM-180GB, TensorRT) on NVIDIA B200-SXM-180GB ×8") in facts  # fmt: skip
    assert ("benchmark_rank", 1.0, "rank", f"#1 of 3 in {OFFLINE}") in facts
    assert ("accelerator", 8.0, "count", "NVIDIA B200-SXM-180GB") in facts
    assert all(f["origin"] == "source" for f in db.query("SELECT origin FROM facts"))


def test_a_new_leader_is_an_event_naming_the_previous_one(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route(
        "/summary_results.json",
        _json_reply("mlperf-summary-results-round1.json"),
        _json_reply("mlperf-summary-results-round2.json"),
    )
    sources = write_sources(tmp_path, [_mlperf(url)])
    fetch_json(sources)
    db = open_archive(tmp_path / "archive.db")
    with db.atomic():  # the first fill happened yesterday
        db.execute("UPDATE items SET fetched_at = '2026-01-01T08:00:00Z'")
    round2 = by_source(fetch_json(sources))["mlperf"]  # round 2 adds one row
    assert round2["new"] == 2  # the new result and the rank event

    events = [r for r in _items(db, "rank") if not json.loads(r["meta"])["baseline"]]
    assert len(events) == 1
    event = events[0]
    assert event["title"] == (
        f"New #1 in {OFFLINE}: Atlas 800T A3 SuperPoD (8x Ascend 910C) (101,200 Tokens/s)"
    )
    assert (
        "Previously held by NVIDIA DGX B200 (8x B200-SXM-180GB, TensorRT) (now #2)"
        in (event["summary"])
    )
    assert json.loads(event["meta"])["previous"].startswith("NVIDIA DGX B200")

    # the README's example queries find the new #1 and the first result on a new accelerator
    new_leaders = list(db.query(_readme_query("A new #1")))
    assert [r["system"] for r in new_leaders] == ["Atlas 800T A3 SuperPoD (8x Ascend 910C)"]
    first_on = list(db.query(_readme_query("First result on a new accelerator")))
    assert [r["accelerator"] for r in first_on] == ["Huawei Ascend 910C"]

    # a third poll of the same table is quiet
    assert by_source(fetch_json(sources))["mlperf"]["new"] == 0


def test_submission_checker_csv_with_the_same_preset(tmp_path: Path, server: LocalServer) -> None:
    url = server.route(
        "/summary.csv", Reply.file(DATA / "mlperf-summary.csv", content_type="text/csv")
    )
    sources = write_sources(tmp_path, [_mlperf(url, where={"Division": "closed"})])
    report = by_source(fetch_json(sources))["mlperf"]
    assert report["outcome"] == "ok", report
    db = open_archive(tmp_path / "archive.db")
    results = _items(db, "result")
    assert len(results) == 3
    leader = next(r for r in _items(db, "rank") if "Offline" in r["title"])
    assert leader["title"] == (
        "Leader of MLPerf · v4.1 · datacenter · closed · llama2-70b-99 · Offline:"
        " Sample Cloud MI325X node (33,900 Tokens/s)"
    )
    score = next(
        db.query(
            "SELECT value FROM facts f JOIN items i ON i.id = f.item_id"
            " WHERE f.kind = 'benchmark_result' AND i.title LIKE '%Offline: Example X8 Server%'"
            " AND json_extract(i.meta, '$.event') = 'result'"
        )
    )
    assert score["value"] == 31200.5  # "31,200.5" in the CSV


def test_generic_columns_map_any_leaderboard(tmp_path: Path, server: LocalServer) -> None:
    board = (
        "model,arena_score,organization,license\n"
        "gemini-3-pro,1501,Google,Proprietary\n"
        "qwen3-max,1460,Alibaba,Proprietary\n"
        "grok-4,1477,xAI,Proprietary\n"
    )
    url = server.route("/board.csv", Reply(body=board.encode(), content_type="text/csv"))
    source = {
        "id": "arena",
        "kind": "table",
        "url": url,
        "label": "Text Arena",
        "columns": {"score": "arena_score", "system": "model", "submitter": "organization"},
        "group": ["license"],
        "track_ranks": 2,
    }
    sources = write_sources(tmp_path, [source])
    assert by_source(fetch_json(sources))["arena"]["outcome"] == "ok"
    db = open_archive(tmp_path / "archive.db")
    ranks = [r["title"] for r in _items(db, "rank")]
    assert ranks == [
        "#2 of Text Arena · Proprietary: grok-4 (1,477)",
        "Leader of Text Arena · Proprietary: gemini-3-pro (1,501)",
    ]


def test_a_table_without_the_mapped_columns_is_a_parse_error(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.route("/t.csv", Reply(body=b"a,b\n1,2\n", content_type="text/csv"))
    sources = write_sources(tmp_path, [_mlperf(url, where={})])
    report = by_source(fetch_json(sources))["mlperf"]
    assert report["outcome"] == "parse_error"
    assert "none of the 1 rows has a numeric score and a system" in report["error"]
    assert "first row has a, b" in report["error"]
