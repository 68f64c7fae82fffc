from __future__ import annotations

from typing import Any

import click

from signals.cli import App, pass_app


@click.command()
@click.option(
    "--retag", is_flag=True, help="Tag every selected item again, not only untagged ones."
)
@click.option(
    "--since",
    metavar="DATE",
    help="Only items published since then: a date (2026-11-01) or a duration (30d).",
)
@click.option(
    "--batch", "batch_size", default=500, show_default=True, help="Items per transaction."
)
@pass_app
def tag(app: App, retag: bool, since: str | None, batch_size: int) -> None:
    """Tag archived items with the current taxonomy (RULES/categories.toml).

    Without --retag only items never tagged are tagged (e.g. stored before tagging
    existed). After editing the taxonomy, run with --retag to replace every item's
    tags, entities and tagger facts; facts a source stated itself are kept. Each batch
    is one transaction: an interrupted run keeps what it finished.

    \b
    Example:
      signals tag                       # tag what was never tagged
      signals tag --retag --since 30d   # re-tag the last 30 days after a taxonomy edit
    """
    from signals.tagging.enricher import load_tagger
    from signals.tagging.retag import count_items
    from signals.tagging.retag import retag as run_retag

    if batch_size < 1:
        raise click.BadParameter("must be at least 1", param_hint="--batch")
    start = _since(since)
    tagger = load_tagger(app.rules_path)
    db = app.archive()
    total = count_items(db, retag, start)
    progress = _progress()
    with progress:
        task = progress.add_task("tagging", total=total)
        done = run_retag(
            db,
            tagger,
            everything=retag,
            since=start,
            batch_size=batch_size,
            on_batch=lambda n: progress.advance(task, n),
        )
    what = "re-tagged" if retag else "tagged"
    click.echo(f"{what} {done} item{'s' if done != 1 else ''} (taxonomy {tagger.taxonomy.digest})")


def _progress() -> Any:
    import sys

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def _since(text: str | None) -> Any:
    from datetime import UTC, datetime

    from signals.errors import UsageError
    from signals.times import utcnow
    from signals.units import parse_duration

    if not text:
        return None
    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since: expected a date such as 2026-11-01 or a duration such as 30d, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
