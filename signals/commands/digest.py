from __future__ import annotations

import click

from signals.cli import App, pass_app


@click.command()
@click.argument("rule_id", metavar="RULE")
@click.option(
    "--now",
    "now_text",
    metavar="ISO",
    help="Pretend it is this time (e.g. 2026-11-24T13:05:00Z): the digest is the window"
    " of the last fire at or before it.",
)
@click.option("--dry-run", is_flag=True, help="Build and print the digest; send nothing.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "slack", "html"]),
    default="text",
    show_default=True,
    help="What to print: plain text, the Slack Block Kit messages (JSON), or the e-mail HTML.",
)
@pass_app
def digest(app: App, rule_id: str, now_text: str | None, dry_run: bool, fmt: str) -> None:
    """Send the digest RULE would send for the window ending now (its last fire time).

    A window already sent goes out nowhere again (the deliveries ledger remembers), and
    a failed send can simply be repeated. With no Slack token, webhook or SMTP URL in
    the environment the digest is written to the outbox folder and printed.

    \b
    Example:
      signals digest daily-slack --dry-run
      signals digest weekly-email --dry-run --format html > brief.html
      signals digest daily-slack --now 2026-11-24T13:05:00Z
    """
    import os

    from signals.commands._rules import load_rule_set, parse_now
    from signals.digest.render import render
    from signals.dispatch import Dispatcher
    from signals.errors import SignalsError, UsageError

    config = app.config()
    rule = load_rule_set(app, config).get(rule_id)
    if not rule.is_digest:
        raise UsageError(
            f'rule {rule.id!r} is an alert (action = "alert"): it sends as items arrive.'
            f" See what it would have sent with: signals rules test {rule.id} --since 7d"
        )
    now = parse_now(now_text)
    db = app.archive(readonly=dry_run)
    dispatcher = Dispatcher(
        db, env=os.environ, outbox=config.settings.outbox, timezone=config.settings.timezone
    )
    window = dispatcher.latest_window(rule, now)
    if window is None:
        raise SignalsError(f"{rule.id}: its schedule has not fired in the past year")
    if dry_run:
        document = dispatcher.digest(rule, window)
        click.echo(render(document, fmt), nl=False)
        click.echo(
            f"dry run: {rule.id}, {document.stories} stories; nothing sent, ledger untouched",
            err=True,
        )
        return
    outcomes = dispatcher.send_digest(rule, window)
    for outcome in outcomes:
        if outcome.printed is not None and outcome.document is not None:
            click.echo(render(outcome.document, fmt), nl=False)
        if not outcome.failed:
            click.echo(outcome.message, err=True)
    failed = [o.message for o in outcomes if o.failed]
    if failed:
        raise SignalsError("\n".join(failed))
