"""The filter options ``signals query`` and ``signals export`` share, and their parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from signals.search import Filters

F = TypeVar("F", bound=Callable[..., Any])


def filter_options(func: F) -> F:
    """Add --category, --entity, --source, --since, --until and --min-score to a command."""
    options = [
        click.option("--category", metavar="ID", help="Only items tagged with this category."),
        click.option(
            "--entity", metavar="ID", help="Only items naming this watchlist entity (nvidia-h20)."
        ),
        click.option("--source", metavar="ID", help="Only items this source carried."),
        click.option(
            "--since",
            metavar="DATE",
            help="Published at or after: 2026-11-01, 2026-11-01T08:00:00Z, or an age: 30d, 12h.",
        ),
        click.option(
            "--until", metavar="DATE", help="Published before (a bare date includes that day)."
        ),
        click.option(
            "--min-score",
            type=click.FloatRange(0, 1),
            metavar="X",
            help="Category score at least X (in --category, else in any category).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def make_filters(
    *,
    category: str | None,
    entity: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    min_score: float | None,
    now: datetime | None = None,
) -> Filters:
    from signals.search import Filters, parse_when
    from signals.times import utcnow

    now = now or utcnow()
    return Filters(
        category=category,
        entity=entity,
        source=source,
        since=parse_when(since, now, option="--since") if since else None,
        until=parse_when(until, now, option="--until", end=True) if until else None,
        min_score=min_score,
    )


def any_filter(**values: Any) -> bool:
    return any(value is not None for value in values.values())
