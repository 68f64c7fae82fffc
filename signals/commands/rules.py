from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from signals.cli import App, pass_app

if TYPE_CHECKING:
    from signals.digest.model import Alert, Digest
    from signals.rules import Rule


@click.group()
def rules() -> None:
    """Check rule files, and replay a rule over the archive.

    \b
    Example:
      signals rules check
      signals rules test export-controls-alert --since 30d
    """


def _summary(rule: Rule) -> dict[str, Any]:
    when = (
        f"{rule.digest.schedule} ({rule.digest.timezone})"
        if rule.digest is not None
        else "as items arrive"
    )
    return {
        "rule": rule.id,
        "type": rule.type,
        "action": rule.action,
        "when": when,
        "channels": [_target(name, target) for name, target in rule.notify],
        "file": str(rule.path),
    }


def _target(name: str, target: Any) -> str:
    where = getattr(target, "channel", "") or ", ".join(getattr(target, "to", ()))
    return f"{name} {where}".strip()


def _taxonomy_problems(folder: Any) -> list[str]:
    """The tagger's categories.toml lives in the rules folder: check it with the rules."""
    from signals.errors import ConfigError
    from signals.tagging.taxonomy import load_taxonomy, taxonomy_path

    path = taxonomy_path(folder)
    if not path.exists():
        return []
    try:
        from signals.tagging.tagger import Tagger

        Tagger(load_taxonomy(path))  # builds the spaCy matchers: token patterns checked too
    except ConfigError as exc:
        return list(exc.problems)
    return []


@rules.command()
@click.option("--json", "as_json", is_flag=True, help="Print the valid rules as JSON.")
@pass_app
def check(app: App, as_json: bool) -> None:
    """Validate every rule file and the taxonomy (categories.toml); list every problem at
    once (exit 2) or the rules found.

    \b
    Example:
      signals rules check
      signals --rules ./my-rules rules check --json
    """
    from rich.table import Table

    from signals.commands._console import table_console
    from signals.commands._rules import load_rule_set
    from signals.errors import ConfigError

    try:
        config = app.config()
    except ConfigError:
        config = None  # source ids cannot be cross-checked; the rules still can
    rule_set = load_rule_set(app, config)
    problems = [*rule_set.problems, *_taxonomy_problems(app.rules_path)]
    if problems:
        raise ConfigError(problems)
    rows = [_summary(rule) for rule in rule_set.rules]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Rules in {rule_set.folder}: {len(rows)} valid", title_justify="left")
    for column in ("rule", "type", "action", "when", "channels"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["rule"], row["type"], row["action"], row["when"], "; ".join(row["channels"])
        )
    table_console().print(table)


@rules.command("test")
@click.argument("rule_id", metavar="RULE")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="How far back to replay: a duration (30d, 12h) or a date (2026-11-01).",
)
@click.option("--now", "now_text", metavar="ISO", help="Replay up to this time instead of now.")
@click.option("--full", is_flag=True, help="Print each message in full, not a summary.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, one per window.")
@pass_app
def test(
    app: App, rule_id: str, since: str, now_text: str | None, full: bool, as_json: bool
) -> None:
    """Replay RULE over the archive and print, window by window, what it would have sent.

    Digest rules: one entry per fire time of the schedule. Alert rules: one entry per
    message the daemon would have sent after a poll, with suppression (realert) applied.
    Nothing is sent and the deliveries ledger is not touched.

    \b
    Example:
      signals rules test daily-slack --since 7d
      signals rules test export-controls-alert --since 30d --full
    """
    import os

    from signals.commands._rules import load_rule_set, parse_now
    from signals.dispatch import Dispatcher

    config = app.config()
    rule = load_rule_set(app, config).get(rule_id)
    now = parse_now(now_text)
    start = _since(since, now)
    db = app.archive(readonly=True)
    dispatcher = Dispatcher(
        db, env=os.environ, outbox=config.settings.outbox, timezone=config.settings.timezone
    )
    if rule.is_digest:
        _replay_digest(dispatcher, rule, start, now, full, as_json)
    else:
        _replay_alert(dispatcher, rule, start, now, full, as_json)


def _since(text: str, now: Any) -> Any:
    from datetime import UTC, datetime

    from signals.errors import UsageError
    from signals.units import parse_duration

    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since: expected a duration such as 30d or a date such as 2026-11-01, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _channels(rule: Rule) -> str:
    return ", ".join(s.removeprefix("slack ").strip() or s for s in _summary(rule)["channels"])


def _replay_digest(
    dispatcher: Any, rule: Rule, start: Any, now: Any, full: bool, as_json: bool
) -> None:
    import sqlite3

    from signals.delivery import LedgerKey
    from signals.digest.render import render_text, window_text
    from signals.snapshot import story_keys

    fires = dispatcher.schedule(rule).fires_between(start, now)
    if not as_json:
        click.echo(
            f"{rule.id}: digest on {rule.digest.schedule!r} ({rule.digest.timezone}),"  # type: ignore[union-attr]
            f" {len(fires)} window{'s' if len(fires) != 1 else ''} since {start:%Y-%m-%d %H:%M} UTC"
        )
    replayed: list[tuple[Any, set[str]]] = []  # (window end, stories told) of this replay
    for fire in fires:
        window = dispatcher.window_at(rule, fire)
        try:
            told = dispatcher.told_stories(rule, window)
        except sqlite3.OperationalError:  # an archive no command has migrated yet
            told = set()
        oldest = window.start - rule.max_age
        told |= {key for end, keys in replayed if end >= oldest for key in keys}
        digest: Digest = dispatcher.digest(rule, window, told)
        replayed.append((window.end, story_keys(dispatcher.db, digest.item_ids)))
        ledger = {}
        for channel in rule.channels:
            key = LedgerKey(rule.id, channel, window.start_iso, window.end_iso)
            try:
                row = dispatcher.ledger.row(key)
            except sqlite3.OperationalError:  # an archive no command has migrated yet
                row = None
            ledger[channel] = row.status if row else "not sent"
        if as_json:
            click.echo(json.dumps(_digest_json(digest, ledger), ensure_ascii=False))
            continue
        status = ", ".join(f"{c}: {s}" for c, s in ledger.items())
        click.echo(
            f"\n── {window_text(window)} · {digest.stories} stories → {_channels(rule)} [{status}]"
        )
        if full:
            click.echo(render_text(digest))
            continue
        counts = " · ".join(
            f"{s.title} {s.total}" + (f" (+{s.overflow} more)" if s.overflow else "")
            for s in digest.sections
        )
        click.echo(f"   {counts or 'nothing new'}")
        for section in digest.sections:
            for line in section.lines[:2]:
                extra = f" [+{line.extra_sources} sources]" if line.extra_sources else ""
                click.echo(f"   • {section.title}: {line.title}{extra}")
        for note in digest.health:
            click.echo(f"   ! {note.name}: {note.problem}")


def _digest_json(digest: Digest, ledger: dict[str, str]) -> dict[str, Any]:
    return {
        "window_start": digest.window.start_iso,
        "window_end": digest.window.end_iso,
        "stories": digest.stories,
        "sections": {
            s.category: {
                "total": s.total,
                "previous": s.previous_total,
                "lines": [
                    {
                        "title": line.title,
                        "url": line.url,
                        "sources": line.sources,
                        "why": list(line.why),
                    }
                    for line in s.lines
                ],
            }
            for s in digest.sections
        },
        "health": [{"source": n.source_id, "problem": n.problem} for n in digest.health],
        "ledger": ledger,
    }


def _replay_alert(
    dispatcher: Any, rule: Rule, start: Any, now: Any, full: bool, as_json: bool
) -> None:
    from signals.digest.render import render_text
    from signals.rules.backtest import HOURLY, replay
    from signals.rules.types import RULE_TYPES
    from signals.snapshot import archive_started_at, entity_first_seen, load_items, load_sources

    rule_type = RULE_TYPES[rule.type]
    options = rule.options
    history = max(
        rule.max_age,
        getattr(options, "window", rule.max_age) + getattr(options, "baseline", rule.max_age),
        getattr(options, "lookback", rule.max_age),
    )
    items = load_items(dispatcher.db, start - history, now)
    first_seen = {}
    candidates = getattr(rule_type, "candidates", None)
    if candidates is not None:
        first_seen = entity_first_seen(dispatcher.db, sorted(candidates(rule, items)))
    alerts: list[Alert] = replay(
        rule,
        items,
        start,
        now,
        sources=load_sources(dispatcher.db),
        first_seen=first_seen,
        archive_started_at=archive_started_at(dispatcher.db),
        timezone=dispatcher.timezone,
    )
    if not as_json:
        cadence = "every hour" if rule.type in HOURLY else "after every poll"
        click.echo(
            f"{rule.id}: {rule.type} alert, evaluated {cadence} since {start:%Y-%m-%d %H:%M} UTC:"
            f" {len(alerts)} message{'s' if len(alerts) != 1 else ''} → {_channels(rule)}"
        )
    for alert in alerts:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "at": alert.window.end_iso,
                        "entries": [
                            {
                                "key": e.key,
                                "headline": e.headline,
                                "titles": [line.title for line in e.lines],
                            }
                            for e in alert.entries
                        ],
                    },
                    ensure_ascii=False,
                )
            )
            continue
        local = alert.window.local(alert.window.end)
        click.echo(f"\n── {local:%a %d %b %Y %H:%M %Z} · {len(alert.entries)} event(s)")
        if full:
            click.echo(render_text(alert))
            continue
        for entry in alert.entries:
            if entry.headline:
                click.echo(f"   {entry.headline}")
            for line in entry.lines:
                why = f"  (why: {', '.join(line.why)})" if line.why else ""
                click.echo(f"   • {line.title}{why}")
