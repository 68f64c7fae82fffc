from __future__ import annotations

from typing import TYPE_CHECKING

import click

from signals.cli import App, pass_app

if TYPE_CHECKING:
    from signals.config import Config


@click.command()
@click.option("--once", is_flag=True, help="Run one full cycle (every due source), then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print a JSON summary.")
@click.option(
    "--tick",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    hidden=True,
    help="Seconds between scheduler ticks (for tests).",
)
@pass_app
def run(app: App, once: bool, as_json: bool, tick: float) -> None:
    """Run the service: every minute, poll the sources that are due.

    After each poll, alert rules send what they found; digest rules fire on their cron
    schedules, and the digest windows missed while the daemon was down are sent when
    it starts, oldest first.
    One daemon per archive (a lock file next to it); SIGTERM stops it cleanly.
    With --once, run a single cycle (poll, alerts, any digest due) and print the
    summary: on a new archive every source is due, so this polls them all. --once
    refuses to run beside a daemon on the same archive, applies retention
    (settings.keep_items_for) like the daemon does daily, and exits 1 only when every
    polled source failed.

    \b
    Example:
      signals run --once
      signals -v run          # daemon, logging each poll (-v goes before the command)
    """
    if once:
        from signals.commands._poll_output import PollDisplay, print_json, print_table
        from signals.cycle import run_cycle
        from signals.lock import DaemonLock
        from signals.logs import quiet_polls

        quiet_polls(app.verbose)
        config = app.config()
        display = PollDisplay(enabled=not as_json)
        # a cycle is the daemon's job: never run one beside a daemon on the same archive
        with DaemonLock(app.archive_path()):
            with display.running():
                reports = run_cycle(
                    config,
                    app.archive(),
                    on_start=display.on_start,
                    on_report=display.on_report,
                    rules_dir=app.rules_path,
                )
            from signals.digest_jobs import DigestJobs

            # digests whose windows have not gone out yet (e.g. run --once from cron)
            outcomes = DigestJobs(lambda: config, app.archive_path(), app.rules_path).run_due()
            from signals.retention import apply_retention
            from signals.times import utcnow

            # run --once from cron replaces the daemon, so it applies retention too
            apply_retention(app.archive(), config.settings.keep_items_for, utcnow())
        for outcome in outcomes:  # where each digest went (the outbox says why), or why not
            click.echo(outcome.message, err=True)
        if as_json:
            print_json(reports)
        else:
            print_table(reports)
        if reports and all(not r.ok for r in reports):
            raise SystemExit(1)  # nothing worked: network, proxy or config needs a look
        return

    from signals.config import load_config
    from signals.daemon import Daemon

    def fresh_config() -> Config:
        return load_config(app.sources_path, db_override=app.db_path)

    Daemon(fresh_config, app.archive_path(), app.rules_path, tick_seconds=tick).run()
