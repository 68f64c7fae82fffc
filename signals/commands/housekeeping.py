"""Housekeeping commands: ``stories --rebuild``, ``prune``, ``backup`` and ``vacuum``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from signals.cli import App, pass_app


@contextmanager
def _progress(label: str, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; (start, advance) callbacks."""

    class Bar:
        task: Any = None
        bar: Any = None

        def start(self, total: int) -> None:
            if self.bar is not None:
                self.task = self.bar.add_task(label, total=total)

        def advance(self, count: int) -> None:
            if self.bar is not None and self.task is not None:
                self.bar.update(self.task, advance=count)

        def done_of(self, done: int, total: int) -> None:
            if self.bar is not None:
                if self.task is None:
                    self.task = self.bar.add_task(label, total=total)
                self.bar.update(self.task, completed=done, total=total)

    bar = Bar()
    if not (enabled and sys.stderr.isatty()):
        yield bar
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        bar.bar = progress
        yield bar


def _existing_archive(app: App) -> Path:
    """The archive's path; housekeeping never creates an empty archive by mistake."""
    from signals.errors import ArchiveError

    path = app.archive_path()
    if not path.exists():
        raise ArchiveError(f"{path}: no archive here (check --db or settings.database)")
    return path


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    from signals.times import parse_utc_iso

    try:
        return parse_utc_iso(value if "T" in value else f"{value}T00:00:00Z")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command()
@click.option("--rebuild", is_flag=True, required=True, help="Forget and reassign stories.")
@click.option("--since", metavar="DATE", help="Only items published on or after DATE.")
@pass_app
def stories(app: App, rebuild: bool, since: str | None) -> None:
    """Group the archive's items into stories again (all, or those published since DATE).

    Polls assign stories as items arrive; run this after upgrading an archive from a
    version without story grouping, or to regroup with a newer version's rules. Safe
    beside a running daemon (it works in short transactions), though a digest sent
    while it runs may list one story's items apart; if interrupted, run it again.

    \b
    Example:
      signals stories --rebuild
      signals stories --rebuild --since 2026-11-01
    """
    from signals.stories import rebuild as rebuild_stories

    start = _date(since)
    _existing_archive(app)
    db = app.archive()
    with _progress("grouping") as bar:
        report = rebuild_stories(db, start, on_start=bar.start, on_progress=bar.advance)
    rate = report.items / report.seconds if report.seconds else 0.0
    click.echo(
        f"{report.items} items: {report.grouped} in {report.stories} stories of two or more"
        f" ({report.seconds:.1f} s, {rate:.0f} items/s)"
    )


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Use this instead of settings.keep_items_for (e.g. 365d).",
)
@pass_app
def prune(app: App, dry_run: bool, older_than: str | None) -> None:
    """Delete items older than settings.keep_items_for, with their tags, entities and facts.

    An item goes when it was both first seen and published before the cutoff. The
    deliveries ledger is kept; items a delivery not yet sent still lists are kept too.
    The daemon does this once a day, and `run --once` on every run.

    \b
    Example:
      signals prune --dry-run
      signals prune --older-than 400d
    """
    from signals.errors import UsageError
    from signals.retention import prune as prune_items
    from signals.times import utcnow
    from signals.units import parse_duration

    if older_than is not None:
        try:
            keep = parse_duration(older_than)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--older-than") from None
        if keep < timedelta(days=1):
            raise click.BadParameter("must be at least 1d", param_hint="--older-than")
    else:
        configured = app.config().settings.keep_items_for
        if configured is None:
            raise UsageError(
                "settings.keep_items_for is not set in"
                f" {app.sources_path}: the archive keeps every item (set it, e.g."
                ' keep_items_for = "365d", or pass --older-than)'
            )
        keep = configured
    _existing_archive(app)
    db = app.archive()
    with _progress("pruning", enabled=not dry_run) as bar:
        report = prune_items(
            db, keep, utcnow(), dry_run=dry_run, on_start=bar.start, on_progress=bar.advance
        )
    verb = "would delete" if dry_run else "deleted"
    line = f"{verb} {report.items} items and {report.stories} stories older than {report.cutoff}"
    if report.kept_for_deliveries:
        line += f"; kept {report.kept_for_deliveries} listed by deliveries not yet sent"
    click.echo(line)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@pass_app
def backup(app: App, file: Path, force: bool) -> None:
    """Copy the archive to FILE while the daemon keeps running, then verify the copy.

    Uses SQLite's online backup: the copy is one consistent moment of the archive, the
    daemon's writes are not blocked, and FILE appears only once the copy passed
    PRAGMA integrity_check.

    \b
    Example:
      signals backup backups/signals-$(date +%F).db
    """
    from signals.maintenance import backup as backup_archive

    with _progress("copying") as bar:
        report = backup_archive(app.archive_path(), file, force=force, on_progress=bar.done_of)
    click.echo(
        f"{report.path}: {_megabytes(report.bytes)}, {report.pages} pages, integrity check ok"
    )


@click.command()
@pass_app
def vacuum(app: App) -> None:
    """Compact the archive file (after a prune) and merge the full-text index.

    Needs the archive to itself: refuses while a daemon (or run --once) holds it.

    \b
    Example:
      signals prune && signals vacuum
    """
    from signals.maintenance import vacuum as vacuum_archive

    _existing_archive(app)
    app.archive().close()  # migrate first, so VACUUM never meets an older schema
    report = vacuum_archive(app.archive_path())
    click.echo(
        f"{app.archive_path()}: {_megabytes(report.before)} -> {_megabytes(report.after)}"
        f" ({_megabytes(max(report.reclaimed, 0))} reclaimed)"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
