"""Build archives for rule and delivery tests by writing rows directly.

Tagging (issue 4) and stories (issue 6) are built elsewhere; these tests only rely on
the schema contract: ``item_tags`` (score, JSON evidence), ``entities`` (canonical
``entity_id``), ``facts`` (money/percent/date conventions), ``items.story_id`` and
``item_sources``. ``week_of_news`` fills a realistic week: BIS rules, data-center
deals, chip news, model releases, filings, one story carried by three sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signals.archive import open_archive
from signals.normalize import short_hash
from signals.times import to_utc_iso

Tags = Mapping[str, float | tuple[float, Sequence[str]]]


def iso(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else to_utc_iso(moment)


class ArchiveBuilder:
    def __init__(self, path: Path):
        self.path = path
        self.db = open_archive(path)

    def close(self) -> None:
        self.db.close()

    def source(
        self,
        source_id: str,
        *,
        name: str | None = None,
        kind: str = "feed",
        status: str | None = "ok",
        last_ok_at: datetime | str | None = None,
        error_count: int = 0,
        last_error: str | None = None,
        enabled: bool = True,
    ) -> ArchiveBuilder:
        self.db.execute(
            """
            INSERT INTO sources (id, name, kind, url, every, enabled, last_status, last_ok_at,
                                 last_checked_at, error_count, last_error)
            VALUES (?, ?, ?, ?, '30m', ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                enabled = excluded.enabled, last_status = excluded.last_status,
                last_ok_at = excluded.last_ok_at, error_count = excluded.error_count,
                last_error = excluded.last_error
            """,
            [
                source_id,
                name or source_id,
                kind,
                f"https://example.org/{source_id}/feed",
                int(enabled),
                status,
                iso(last_ok_at) if last_ok_at else None,
                iso(last_ok_at) if last_ok_at else None,
                error_count,
                last_error,
            ],
        )
        self.db.conn.commit()
        return self

    def poll(self, source_id: str, at: datetime | str, outcome: str = "ok") -> None:
        self.db.execute(
            "INSERT INTO fetches (source_id, started_at, outcome) VALUES (?, ?, ?)",
            [source_id, iso(at), outcome],
        )
        self.db.conn.commit()

    def item(
        self,
        title: str,
        *,
        source: str,
        first_seen: datetime | str,
        published: datetime | str | None = None,
        url: str | None = None,
        summary: str = "",
        body: str = "",
        tags: Tags | None = None,
        entities: Iterable[tuple[str, str, str | None]] = (),
        facts: Iterable[tuple[str, float | None, str | None, str | None]] = (),
        story: str | None = None,
        also: Iterable[tuple[str, datetime | str]] = (),
        item_id: str | None = None,
        updated: datetime | str | None = None,
    ) -> str:
        """Insert an item with its tags, entities, facts, story and extra carrying sources."""
        item_id = item_id or short_hash(source, title)
        if not self.db.execute("SELECT 1 FROM sources WHERE id = ?", [source]).fetchone():
            self.source(source)
        if story is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO stories (id, title, first_seen_at, updated_at) VALUES (?, ?, ?, ?)",
                [story, title, iso(first_seen), iso(first_seen)],
            )
        self.db.execute(
            """
            INSERT INTO items (id, source_id, url, title, summary, body, published_at,
                               date_estimated, fetched_at, updated_at, content_hash, meta, story_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, NULL, ?)
            """,
            [
                item_id,
                source,
                url if url is not None else f"https://example.org/{source}/{item_id}",
                title,
                summary,
                body,
                iso(published or first_seen),
                iso(first_seen),
                iso(updated) if updated else None,
                short_hash(title, summary, body),
                story,
            ],
        )
        self.db.execute(
            "INSERT INTO item_sources (item_id, source_id, entry_key, first_seen_at) VALUES (?, ?, ?, ?)",
            [item_id, source, f"guid:{item_id}", iso(first_seen)],
        )
        for other, seen in also:
            if not self.db.execute("SELECT 1 FROM sources WHERE id = ?", [other]).fetchone():
                self.source(other)
            self.db.execute(
                "INSERT INTO item_sources (item_id, source_id, entry_key, first_seen_at) VALUES (?, ?, ?, ?)",
                [item_id, other, f"guid:{other}:{item_id}", iso(seen)],
            )
        for category, value in (tags or {}).items():
            score, evidence = value if isinstance(value, tuple) else (value, ())
            self.db.execute(
                "INSERT INTO item_tags (item_id, category, score, method, evidence) VALUES (?, ?, ?, 'rules', ?)",
                [item_id, category, score, json.dumps(list(evidence))],
            )
        for position, (label, text, entity_id) in enumerate(entities):
            self.db.execute(
                'INSERT INTO entities (item_id, label, text, start, "end", entity_id) VALUES (?, ?, ?, ?, ?, ?)',
                [item_id, label, text, position * 10, position * 10 + len(text), entity_id],
            )
        for kind, value, unit, text in facts:
            self.db.execute(
                "INSERT INTO facts (item_id, kind, value, unit, text, origin) VALUES (?, ?, ?, ?, ?, 'tagger')",
                [item_id, kind, value, unit, text],
            )
        self.db.conn.commit()
        return item_id


#: A realistic week, as offsets in hours before the week's end, with tags and extras.
WEEK: list[dict[str, Any]] = [
    {
        "title": "Additions to the Entity List",
        "source": "fr-bis-documents",
        "hours": 5,
        "summary": "The Bureau of Industry and Security (BIS) amends the Export Administration"
        " Regulations (EAR) by adding 12 entities to the Entity List, under destinations of"
        " China and Singapore, for acquiring advanced computing items.",
        "tags": {"policy_shifts": (0.97, ["Entity List", "Bureau of Industry and Security"])},
        "entities": [("REGULATOR", "Bureau of Industry and Security", "bis")],
        "facts": [
            ("cfr_part", None, None, "15 CFR 744"),
            ("effective_date", None, "date", "+10d"),
        ],
        "story": "story-entity-list",
        "also": ["fr-export-controls-chips", "reuters-tech"],
    },
    {
        "title": "Implementation of Additional Export Controls: Certain Advanced Computing Items;"
        " Supercomputer and Semiconductor End Use Updates",
        "source": "fr-export-controls-chips",
        "hours": 30,
        "summary": "Interim final rule revising controls on ECCN 3A090 and 4A090 items and adding"
        " foundry due diligence requirements. Comments due in 30 days.",
        "tags": {
            "policy_shifts": (0.93, ["advanced computing", "3A090"]),
            "chip_ecosystem": (0.55, ["semiconductor"]),
        },
        "facts": [
            ("eccn", None, None, "3A090"),
            ("eccn", None, None, "4A090"),
            ("comment_deadline", None, "date", "+30d"),
            ("effective_date", None, "date", "+3d"),
        ],
    },
    {
        "title": "Microsoft signs $10 billion AI capacity deal with Nebius for GPU clusters",
        "source": "dcd-news",
        "hours": 8,
        "tags": {
            "infrastructure": (0.9, ["GPU clusters", "capacity"]),
            "customer_traction": (0.6, ["deal"]),
        },
        "facts": [("money", 10_000_000_000.0, "USD", "$10 billion")],
        "entities": [("ORG", "Microsoft", "microsoft"), ("ORG", "Nebius", "nebius")],
    },
    {
        "title": "Alibaba Cloud opens new data center region in Mexico",
        "source": "datacenterknowledge",
        "hours": 20,
        "tags": {"infrastructure": (0.8, ["data center region"])},
        "entities": [("ORG", "Alibaba Cloud", "alibaba")],
    },
    {
        "title": "Oracle to build 1.4 GW data center campus in Texas",
        "source": "dcd-news",
        "hours": 44,
        "tags": {"infrastructure": (0.85, ["data center campus", "GW"])},
    },
    {
        "title": "MLPerf Inference v5.1 results: new records on Llama 3.1 405B",
        "source": "mlcommons",
        "hours": 12,
        "tags": {"model_performance": (0.88, ["MLPerf", "Inference"])},
    },
    {
        "title": "Qwen3 tops open-weights leaderboard on tool use",
        "source": "qwen-blog",
        "hours": 26,
        "tags": {"model_performance": (0.74, ["leaderboard", "tool use"])},
    },
    {
        "title": "NVIDIA H20 shipments to China resume after license approvals",
        "source": "reuters-tech",
        "hours": 3,
        "tags": {"chip_ecosystem": (0.91, ["H20", "NVIDIA"]), "policy_shifts": (0.45, ["license"])},
        "entities": [("CHIP", "H20", "nvidia-h20"), ("ORG", "NVIDIA", "nvidia")],
    },
    {
        "title": "T-Head unveils new inference accelerator for Alibaba Cloud",
        "source": "scmp-tech",
        "hours": 16,
        "tags": {"chip_ecosystem": (0.82, ["accelerator", "T-Head"])},
        "entities": [("ORG", "T-Head", "t-head")],
    },
    {
        "title": "Saudi bank deploys Alibaba Cloud AI platform across three regions",
        "source": "alibaba-news",
        "hours": 9,
        "tags": {"customer_traction": (0.79, ["deploys", "regions"])},
    },
    {
        "title": "Alibaba Group 6-K: quarterly results, cloud revenue up 26%",
        "source": "edgar-baba",
        "hours": 14,
        "tags": {"financial_posture": (0.92, ["6-K", "revenue"])},
        "facts": [("percent", 26.0, "%", "26%")],
    },
    {
        "title": "Alibaba commits RMB 380 billion to AI infrastructure over three years",
        "source": "reuters-tech",
        "hours": 60,
        "tags": {
            "financial_posture": (0.86, ["380 billion", "capex"]),
            "infrastructure": (0.5, []),
        },
        "facts": [("money", 380_000_000_000.0, "CNY", "RMB 380 billion")],
    },
    {
        "title": "Weekly roundup: what happened in cloud",
        "source": "dcd-news",
        "hours": 2,
        "tags": {},
    },
]


def week_of_news(builder: ArchiveBuilder, end: datetime) -> dict[str, str]:
    """Fill the week before ``end``; returns title -> item id. Dates like "+10d" are after end."""
    ids = {}
    for spec in WEEK:
        seen = end - timedelta(hours=spec["hours"])
        facts = []
        for kind, value, unit, text in spec.get("facts", []):
            if isinstance(text, str) and text.startswith("+") and text.endswith("d"):
                text = (end + timedelta(days=int(text[1:-1]))).date().isoformat()
            facts.append((kind, value, unit, text))
        ids[spec["title"]] = builder.item(
            spec["title"],
            source=spec["source"],
            first_seen=seen,
            published=seen - timedelta(minutes=30),
            summary=spec.get("summary", ""),
            tags=spec.get("tags"),
            entities=spec.get("entities", ()),
            facts=facts,
            story=spec.get("story"),
            also=[(s, seen + timedelta(minutes=20)) for s in spec.get("also", [])],
        )
    for source in {spec["source"] for spec in WEEK}:
        builder.poll(source, end - timedelta(days=8))
    return ids


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
