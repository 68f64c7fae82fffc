from __future__ import annotations

import click

from signals.cli import App, pass_app
from signals.commands._filters import filter_options, make_filters


@click.command()
@click.argument("text", required=False)
@filter_options
@click.option(
    "--limit", type=click.IntRange(1), default=20, show_default=True, help="At most N results."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="A table for people; JSON (an array) or CSV for scripts, matches marked **so**.",
)
@pass_app
def query(
    app: App,
    text: str | None,
    category: str | None,
    entity: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    min_score: float | None,
    limit: int,
    fmt: str,
) -> None:
    """Search the archive: TEXT ranked by relevance (title first), or the newest items.

    TEXT is full-text (stemmed: "rule" finds "rules"); words are ANDed; use "quoted
    phrases", OR, NOT, NEAR(a b), prefix* and title:word. The archive is opened
    read-only, so this is safe beside a running daemon.

    \b
    Example:
      signals query "Entity List" --category policy_shifts --since 90d
      signals query --entity nvidia-h20 --format json
      signals query --category infrastructure --since 2026-11-24
    """
    from signals.commands._query_output import print_csv, print_json, print_table
    from signals.search import search, tune_for_reading

    filters = make_filters(
        category=category,
        entity=entity,
        source=source,
        since=since,
        until=until,
        min_score=min_score,
    )
    db = app.archive(readonly=True)
    tune_for_reading(db)
    try:
        hits = search(db, text, filters, limit)
    finally:
        db.close()
    if fmt == "json":
        print_json(hits)
    elif fmt == "csv":
        print_csv(hits)
    else:
        print_table(hits, ranked=bool(text and text.strip()), limit=limit)
