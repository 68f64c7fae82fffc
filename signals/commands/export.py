from __future__ import annotations

import click

from signals.cli import App, pass_app
from signals.commands._filters import any_filter, filter_options, make_filters


@click.command()
@click.argument("table", required=False)
@click.option("--query", "sql", metavar="SQL", help="Export what this SELECT returns.")
@click.option(
    "--search",
    "text",
    metavar="TEXT",
    help="Export the items matching TEXT (full text), last archived first, each with its"
    " bm25 score; filters apply.",
)
@filter_options
@click.option("--limit", type=click.IntRange(1), help="At most N rows.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV with a header row, or one JSON object per line.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Write here instead of standard output.",
)
@pass_app
def export(
    app: App,
    table: str | None,
    sql: str | None,
    text: str | None,
    category: str | None,
    entity: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    min_score: float | None,
    limit: int | None,
    fmt: str,
    output: str,
) -> None:
    """Export a whole TABLE (or view), a --query, or a --search with filters, as CSV or JSON lines.

    Rows stream from SQLite to the output as they are read, so a million-row table needs
    no more memory than a small one. The archive is opened read-only: a --query that
    tries to write fails.

    \b
    Example:
      signals export items --format jsonl -o items.jsonl
      signals export category_weekly > weekly.csv
      signals export --query "SELECT * FROM facts WHERE kind = 'money'"
      signals export --search "Entity List" --category policy_shifts --since 90d
    """
    from signals.errors import UsageError
    from signals.export import export_query, export_search, export_table, open_output

    filters_given = any_filter(
        category=category,
        entity=entity,
        source=source,
        since=since,
        until=until,
        min_score=min_score,
    )
    modes = [table is not None, sql is not None, text is not None or filters_given]
    if sum(modes) != 1:
        raise UsageError(
            "signals export: name exactly one of a TABLE, --query SQL, or --search TEXT"
            " and/or filters (--category, --entity, --source, --since, --until, --min-score)"
        )
    from signals.search import tune_for_reading

    db = app.archive(readonly=True)
    tune_for_reading(db)
    try:
        with open_output(output) as out:
            if table is not None:
                count = export_table(db, table, out, fmt, limit)
            elif sql is not None:
                count = export_query(db, sql, out, fmt, limit)
            else:
                filters = make_filters(
                    category=category,
                    entity=entity,
                    source=source,
                    since=since,
                    until=until,
                    min_score=min_score,
                )
                count = export_search(db, text, filters, out, fmt, limit)
    finally:
        db.close()
    if output != "-":
        click.echo(f"{count} rows written to {output}", err=True)
