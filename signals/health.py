"""Source health as analysts and operators see it: one row per source, from the archive."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class SourceHealth:
    id: str
    kind: str
    enabled: bool
    last_status: str | None
    last_checked_at: str | None
    last_ok_at: str | None
    error_count: int
    last_error: str | None
    items: int
    next_check_at: str | None
    retry_after_until: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_health(db: sqlite_utils.Database) -> list[SourceHealth]:
    rows = db.execute(
        """
        SELECT s.id, s.kind, s.enabled, s.last_status, s.last_checked_at, s.last_ok_at,
               s.error_count, s.last_error,
               (SELECT count(*) FROM item_sources x WHERE x.source_id = s.id) AS items,
               s.next_check_at, s.retry_after_until
        FROM sources s
        ORDER BY s.enabled DESC, s.id
        """
    ).fetchall()
    return [
        SourceHealth(
            id=r[0],
            kind=r[1],
            enabled=bool(r[2]),
            last_status=r[3],
            last_checked_at=r[4],
            last_ok_at=r[5],
            error_count=r[6],
            last_error=r[7],
            items=r[8],
            next_check_at=r[9],
            retry_after_until=r[10],
        )
        for r in rows
    ]
