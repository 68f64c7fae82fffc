"""How a poll looks on screen: a progress bar while it runs, a table and totals at the end.

The progress bar goes to stderr and only on a terminal; ``--json`` prints one JSON
document on stdout that scripts can consume.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from signals.poll import PollReport

OUTCOME_STYLE = {"ok": "green", "not_modified": "cyan", "deferred": "yellow"}


class PollDisplay:
    """Callbacks for ``poll_sources`` that drive a rich progress bar on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None

    @contextmanager
    def running(self) -> Iterator[PollDisplay]:
        if not self.enabled:
            yield self
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(
            TextColumn("[bold]polling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            self._progress = progress
            self._task = progress.add_task("poll", total=None, last="")
            yield self

    def on_start(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def on_report(self, report: PollReport) -> None:
        self.step(f"{report.source_id}: {report.outcome}")

    def step(self, label: str) -> None:
        """One source done (a poll, or a `sources check`), with what to show beside the bar."""
        if self._progress is not None:
            self._progress.update(self._task, advance=1, last=label)


def totals(reports: Sequence[PollReport]) -> dict[str, Any]:
    outcomes = Counter(r.outcome for r in reports)
    return {
        "sources": len(reports),
        "ok": sum(1 for r in reports if r.ok),
        "failed": sum(1 for r in reports if not r.ok and r.outcome != "deferred"),
        "deferred": outcomes.get("deferred", 0),
        "outcomes": dict(sorted(outcomes.items())),
        "items_seen": sum(r.seen for r in reports),
        "items_new": sum(r.new for r in reports),
        "items_updated": sum(r.updated for r in reports),
    }


def print_json(reports: Sequence[PollReport]) -> None:
    ordered = sorted(reports, key=lambda r: r.source_id)
    document = {"sources": [r.as_dict() for r in ordered], "totals": totals(reports)}
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def print_table(reports: Sequence[PollReport]) -> None:
    from rich.table import Table

    from signals.commands._console import table_console

    table = Table(title="Poll summary", title_justify="left")
    table.add_column("source", no_wrap=True)
    for column, justify in (
        ("outcome", "left"),
        ("http", "right"),
        ("new", "right"),
        ("updated", "right"),
        ("seen", "right"),
        ("ms", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for report in sorted(reports, key=lambda r: (r.ok, r.source_id)):
        style = OUTCOME_STYLE.get(report.outcome, "red")
        note = report.error or (report.warnings[0] if report.warnings else "")
        if len(report.warnings) > 1:
            note += f" (+{len(report.warnings) - 1} warnings)"
        table.add_row(
            report.source_id,
            f"[{style}]{report.outcome}[/]",
            str(report.http_status or ""),
            str(report.new),
            str(report.updated),
            str(report.seen),
            str(report.duration_ms),
            note[:160],
        )
    console = table_console()
    console.print(table)
    t = totals(reports)
    parts = [f"{t['ok']} ok"]
    if t["failed"]:
        parts.append(f"[red]{t['failed']} failed[/]")
    if t["deferred"]:
        parts.append(f"[yellow]{t['deferred']} deferred[/]")
    console.print(
        f"{t['sources']} source{'' if t['sources'] == 1 else 's'}: {', '.join(parts)}; "
        f"{t['items_new']} new items, {t['items_updated']} updated, {t['items_seen']} seen."
    )
