"""How ``signals query`` prints hits: a rich table with highlights, or JSON / CSV for scripts."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence

import click

from signals.search import MARK_END, MARK_START, Hit

CSV_COLUMNS = ["id", "published_at", "source_id", "title", "url", "categories", "score", "snippet"]


def _markup(text: str) -> str:
    from rich.markup import escape

    return escape(text).replace(MARK_START, "[bold yellow]").replace(MARK_END, "[/bold yellow]")


def print_table(hits: Sequence[Hit], *, ranked: bool, limit: int) -> None:
    from rich.table import Table

    from signals.commands._console import table_console

    console = table_console()
    if not hits:
        console.print("No matching items.")
        return
    table = Table(show_lines=True)
    table.add_column("published", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("item", overflow="fold", ratio=1)
    table.add_column("categories", no_wrap=True)
    if ranked:
        table.add_column("score", justify="right", no_wrap=True)
    for hit in hits:
        item = f"[bold]{_markup(hit.title)}[/bold]"
        if hit.snippet:
            item += f"\n{_markup(hit.snippet)}"
        if hit.url:
            item += f"\n[dim]{_markup(hit.url)}[/dim]"
        categories = "\n".join(f"{c} {s:.2f}" for c, s in hit.categories.items())
        row = [hit.published_at[:16].replace("T", " "), hit.source_id, item, categories]
        if ranked:
            row.append(f"{hit.score:.2f}" if hit.score is not None else "")
        table.add_row(*row)
    console.print(table)
    if len(hits) == limit:
        console.print(f"[dim]First {limit} shown; --limit N shows more.[/dim]")


def print_json(hits: Sequence[Hit]) -> None:
    click.echo(json.dumps([hit.as_dict() for hit in hits], indent=2, ensure_ascii=False))


def print_csv(hits: Sequence[Hit]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        row = hit.as_dict()
        row["categories"] = json.dumps(row["categories"], ensure_ascii=False)
        writer.writerow([row[column] for column in CSV_COLUMNS])
