"""The ``signals`` command line: a thin shell over the library.

Commands live in ``signals.commands.*`` and are imported only when used, so
``signals --help`` stays fast (no httpx, sqlite-utils or spaCy on that path). Domain
errors become one clear message and an exit code here, and nowhere else: 1 for a failure
the user must act on, 2 for bad usage or invalid config.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from signals import __version__

if TYPE_CHECKING:
    import sqlite_utils

    from signals.config import Config

#: command name -> "module:attribute"; each module imports only click at import time.
COMMANDS: dict[str, str] = {
    "backup": "signals.commands.housekeeping:backup",
    "classify": "signals.commands.classify:classify",
    "digest": "signals.commands.digest:digest",
    "eval": "signals.commands.evaluate:evaluate",
    "explore": "signals.commands.explore:explore",
    "export": "signals.commands.export:export",
    "fetch": "signals.commands.fetch:fetch",
    "prune": "signals.commands.housekeeping:prune",
    "query": "signals.commands.query:query",
    "rules": "signals.commands.rules:rules",
    "run": "signals.commands.run:run",
    "sources": "signals.commands.sources:sources",
    "stories": "signals.commands.housekeeping:stories",
    "tag": "signals.commands.tag:tag",
    "vacuum": "signals.commands.housekeeping:vacuum",
}


class _SignalsFailure(click.ClickException):
    """A domain error shown as is: its lines already name the file, key or source."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class

    def show(self, file: Any = None) -> None:
        click.secho(self.format_message(), err=True, fg="red")


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attribute = COMMANDS[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from signals.errors import SignalsError

        try:
            return super().invoke(ctx)
        except SignalsError as exc:
            raise _SignalsFailure(str(exc), exc.exit_code) from exc


@dataclass
class App:
    """What every command needs: where the config, rules and archive are; loaded lazily."""

    sources_path: Path
    rules_path: Path
    db_path: str | None
    verbose: int = 0
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        from signals.config import load_config

        if self._config is None:
            self._config = load_config(self.sources_path, db_override=self.db_path)
        return self._config

    def archive_path(self) -> Path:
        if self.db_path:
            return Path(self.db_path)
        return self.config().settings.database

    def archive(self, readonly: bool = False) -> sqlite_utils.Database:
        from signals.archive import open_archive

        return open_archive(self.archive_path(), readonly=readonly)


pass_app = click.make_pass_decorator(App)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--sources",
    "sources_path",
    envvar="SIGNALS_SOURCES",
    default="sources.toml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sources file (env SIGNALS_SOURCES).",
)
@click.option(
    "--rules",
    "rules_path",
    envvar="SIGNALS_RULES",
    default="rules",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Rules folder (env SIGNALS_RULES).",
)
@click.option(
    "--db",
    "db_path",
    envvar="SIGNALS_DB",
    default=None,
    help="Archive file; overrides settings.database (env SIGNALS_DB).",
)
@click.option("-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug.")
@click.version_option(__version__, prog_name="signals")
@click.pass_context
def cli(
    ctx: click.Context, sources_path: Path, rules_path: Path, db_path: str | None, verbose: int
) -> None:
    """Watch market and policy sources, tag what matters, archive it, and tell people.

    \b
    Quick start:
      signals fetch            poll every source now and print a summary
      signals sources          health of every source
      signals run              the daemon: poll what is due, every minute
    """
    from signals.logs import configure

    configure(verbose)
    ctx.obj = App(
        sources_path=sources_path, rules_path=rules_path, db_path=db_path, verbose=verbose
    )


def main() -> None:
    """Console-script entry point."""
    cli()
