from __future__ import annotations

import click

from signals.cli import App, pass_app


@click.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE_ID]...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
@pass_app
def fetch(app: App, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Poll sources now (all enabled ones, or those named) and print a summary.

    A source the server asked to leave alone (Retry-After) is skipped until then.
    Exits 1 when any polled source failed.

    \b
    Example:
      signals fetch                          # every source
      signals fetch fr-bis-documents --json  # one source, machine-readable
    """
    from signals.commands._poll_output import PollDisplay, print_json, print_table
    from signals.cycle import run_poll
    from signals.logs import quiet_polls

    quiet_polls(app.verbose)
    config = app.config()
    db = app.archive()
    display = PollDisplay(enabled=not as_json)
    with display.running():
        reports = run_poll(
            config,
            db,
            list(source_ids) or None,
            on_start=display.on_start,
            on_report=display.on_report,
            rules_dir=app.rules_path,
        )
    if as_json:
        print_json(reports)
    else:
        print_table(reports)
    if any(not r.ok and r.outcome != "deferred" for r in reports):
        raise SystemExit(1)
