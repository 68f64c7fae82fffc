from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from signals.cli import App


def _relative(iso: str | None, now: datetime) -> str:
    if not iso:
        return "never"
    from signals.times import parse_utc_iso
    from signals.units import format_duration

    moment = parse_utc_iso(iso)
    delta = moment - now
    if abs(delta.total_seconds()) < 60:
        return "now"
    text = _two_units(format_duration(abs(delta)))
    return f"in {text}" if delta.total_seconds() > 0 else f"{text} ago"


def _two_units(text: str) -> str:
    """Keep the two most significant units: "1d6h", "3h20m"."""
    import re

    parts = re.findall(r"\d+[dhms]", text)
    return "".join(parts[:2])


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """Health of every source: last status, last success, errors, items, next check.

    \b
    Example:
      signals sources
      signals sources --json | jq '.[] | select(.error_count > 0)'
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.find_object(App)  # type: ignore[assignment]
    _print_health(app, as_json)


def _print_health(app: App, as_json: bool) -> None:
    from rich.table import Table

    from signals.commands._console import table_console
    from signals.health import source_health
    from signals.store import sync_sources

    db = app.archive()
    sync_sources(db, app.config())
    rows = source_health(db)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
        return
    now = datetime.now(UTC)
    table = Table(title="Sources", title_justify="left")
    table.add_column("source", no_wrap=True)
    for column in ("kind", "last status", "last success", "errors", "items", "next"):
        right = column in ("errors", "items")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    table.add_column("last error", overflow="fold")
    for row in rows:
        status = row.last_status or "new"
        style = (
            "green"
            if status in ("ok", "not_modified")
            else "yellow"
            if not row.last_status
            else "red"
        )
        next_check = _relative(row.retry_after_until or row.next_check_at, now)
        if next_check == "never" or next_check.endswith("ago"):
            next_check = "due"
        if not row.enabled:
            next_check, style = "disabled", "dim"
        table.add_row(
            row.id,
            row.kind,
            f"[{style}]{status}[/]",
            _relative(row.last_ok_at, now),
            str(row.error_count),
            str(row.items),
            next_check,
            (row.last_error or "")[:120],
        )
    table_console().print(table)


@sources.command("check")
@click.argument("source_ids", nargs=-1, metavar="[SOURCE_ID]...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
@click.option(
    "--follow", is_flag=True, help="Also follow next pages and article links, as a poll would."
)
@click.pass_context
def check(ctx: click.Context, source_ids: tuple[str, ...], as_json: bool, follow: bool) -> None:
    """Fetch sources once and show what they would yield, writing nothing.

    For each source (those named, else every enabled one): the outcome, how many
    entries and how many are not archived yet, the first titles and every warning.
    Works without an archive. Exits 1 when any source failed.

    \b
    Example:
      signals sources check bis-press-releases
      signals sources check --json | jq '.[] | {source_id, outcome, entries}'
    """
    from signals.check import check_sources, chosen_sources
    from signals.commands._poll_output import PollDisplay

    app: App = ctx.find_object(App)  # type: ignore[assignment]
    config = app.config()
    chosen = chosen_sources(config, source_ids)
    known, deferred = _archive_view(app, [s.id for s in chosen])
    display = PollDisplay(enabled=not as_json)
    with display.running():
        display.on_start(len(chosen))
        reports = check_sources(
            config,
            chosen,
            known,
            deferred=deferred,
            follow=follow,
            on_report=lambda r: display.step(f"{r.source_id}: {r.outcome}"),
        )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        _print_check(reports)
    if any(not r.ok and r.outcome != "deferred" for r in reports):
        raise SystemExit(1)


def _archive_view(app: App, source_ids: list[str]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """What the archive holds per source, and which sources a server asked us to leave
    alone until when (Retry-After); nothing when there is no archive yet."""
    path = app.archive_path()
    if not path.exists():
        return {}, {}
    from signals.store import known_entry_keys, source_states
    from signals.times import to_utc_iso, utcnow

    db = app.archive(readonly=True)
    try:
        now = to_utc_iso(utcnow())
        states = source_states(db)
        deferred = {
            sid: until
            for sid in source_ids
            if sid in states and (until := states[sid].retry_after_until or "") > now
        }
        return {sid: known_entry_keys(db, sid) for sid in source_ids}, deferred
    finally:
        db.close()


def _print_check(reports: list[Any]) -> None:
    from rich.markup import escape

    from signals.commands._console import table_console

    console = table_console()
    for report in reports:
        style = "green" if report.ok else "red"
        status = f"{report.outcome} {report.http_status or ''}".strip()
        console.print(
            f"[bold]{escape(report.source_id)}[/] ({report.kind}) [{style}]{status}[/]"
            f"  {report.entries} entries, {report.new} not archived yet, {report.duration_ms} ms"
        )
        if report.error:
            console.print(f"  [red]error:[/] {escape(report.error)}")
        for number, title in enumerate(report.titles, start=1):
            console.print(f"  {number}. {escape(title)}")
        for warning in report.warnings:
            console.print(f"  [yellow]warning:[/] {escape(warning)}")
    failed = sum(1 for r in reports if not r.ok)
    console.print(
        f"{len(reports)} checked, {len(reports) - failed} ok, {failed} failed; nothing written."
    )
