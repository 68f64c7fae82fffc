"""The views for humans: items with categories, entities and story; counts; source health."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.archive_builder import ArchiveBuilder, utc, week_of_news

END = utc("2026-11-25T12:00")  # a Wednesday


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveBuilder:
    builder = ArchiveBuilder(tmp_path / "archive.db")
    week_of_news(builder, END)
    return builder


def test_items_overview_has_categories_entities_and_story_in_one_row(
    archive: ArchiveBuilder,
) -> None:
    row = dict(
        next(
            archive.db.query(
                "SELECT * FROM items_overview WHERE title = 'Additions to the Entity List'"
            )
        )
    )
    assert json.loads(row["categories"]) == ["policy_shifts"]
    assert json.loads(row["scores"]) == {"policy_shifts": 0.97}
    assert (row["top_category"], row["top_score"]) == ("policy_shifts", 0.97)
    assert json.loads(row["entity_ids"]) == ["bis"]
    assert row["source_count"] == 3
    assert (row["story_id"], row["story_title"]) == (
        "story-entity-list",
        "Additions to the Entity List",
    )
    h20 = dict(
        next(archive.db.query("SELECT * FROM items_overview WHERE title LIKE 'NVIDIA H20%'"))
    )
    assert json.loads(h20["categories"]) == ["chip_ecosystem", "policy_shifts"]  # by score
    assert json.loads(h20["entity_ids"]) == ["nvidia", "nvidia-h20"]
    untagged = dict(
        next(archive.db.query("SELECT * FROM items_overview WHERE title LIKE 'Weekly roundup%'"))
    )
    assert json.loads(untagged["categories"]) == [] and untagged["top_category"] is None
    assert archive.db.execute("SELECT count(*) FROM items_overview").fetchone()[0] == len(
        archive.db.execute("SELECT id FROM items").fetchall()
    )


def test_counts_per_category_per_day_and_per_week(archive: ArchiveBuilder) -> None:
    archive.item(
        "Last week's rule", source="fr-bis-documents", first_seen=utc("2026-11-17T10:00"),
        tags={"policy_shifts": 0.5},
    )  # fmt: skip
    daily = {
        (r["day"], r["category"]): r["items"]
        for r in archive.db.query("SELECT * FROM category_daily")
    }
    assert daily[("2026-11-25", "policy_shifts")] == 2  # Entity List, H20 licenses
    assert daily[("2026-11-24", "policy_shifts")] == 1  # the chips rule, 30 h before
    weekly = {
        (r["week_start"], r["category"]): r["items"]
        for r in archive.db.query("SELECT * FROM category_weekly")
    }
    assert weekly[("2026-11-23", "policy_shifts")] == 3  # Monday 23rd .. Sunday 29th
    assert weekly[("2026-11-16", "policy_shifts")] == 1
    total = archive.db.execute("SELECT count(*) FROM item_tags").fetchone()[0]
    assert sum(weekly.values()) == sum(daily.values()) == total


def test_source_health_shows_status_errors_items_last_fetch_and_next_check(
    archive: ArchiveBuilder,
) -> None:
    archive.source(
        "bis-press", status="timeout", last_ok_at=END, error_count=2, last_error="timed out"
    )
    archive.poll("bis-press", utc("2026-11-25T10:00"), "ok")
    archive.poll("bis-press", utc("2026-11-25T11:00"), "timeout")
    archive.db.execute(
        "UPDATE sources SET next_check_at = '2026-11-25T12:30:00Z',"
        " retry_after_until = '2026-11-25T13:00:00Z' WHERE id = 'bis-press'"
    )
    archive.db.conn.commit()
    health = {r["id"]: r for r in archive.db.query("SELECT * FROM source_health")}
    press = health["bis-press"]
    assert (press["last_status"], press["error_count"], press["last_error"]) == (
        "timeout",
        2,
        "timed out",
    )
    assert (press["last_fetch_outcome"], press["last_fetch_at"]) == (
        "timeout",
        "2026-11-25T11:00:00Z",
    )
    assert press["next_check_at"] == "2026-11-25T13:00:00Z"  # Retry-After wins
    assert press["items"] == 0 and press["last_item_at"] is None
    reuters = health["reuters-tech"]
    assert reuters["items"] == 3  # two of its own, one it also carried
    assert reuters["last_item_at"] == "2026-11-25T09:00:00Z"
