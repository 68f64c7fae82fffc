"""The archive's one time format: ISO 8601 UTC with a Z, to the second.

Every time stored or compared goes through these helpers, so text comparison in SQL
(``published_at >= ?``) orders correctly.
"""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc_iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, seconds precision. A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def parse_utc_iso(text: str) -> datetime:
    """The inverse of to_utc_iso; also accepts offsets and fractional seconds."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
