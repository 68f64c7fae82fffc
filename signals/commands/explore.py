from __future__ import annotations

import click

from signals.cli import App, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open it in a web browser.")
@pass_app
def explore(app: App, host: str, port: int, open_browser: bool) -> None:
    """Browse the archive in Datasette, read-only, beside a running daemon.

    Tables and columns carry their descriptions from docs/archive.md, items are
    searchable (full text) and faceted by category and source, and every example query of
    the docs is a canned query. Needs the optional extra: pip install -e '.[explore]'.

    \b
    Example:
      signals explore --open
      signals --db /srv/signals/archive.db explore --port 8002
    """
    import signal
    import subprocess
    import tempfile
    from pathlib import Path

    from signals.errors import ArchiveError
    from signals.explore import datasette_argv, require_datasette, write_metadata

    require_datasette()
    archive = Path(app.archive_path()).resolve()
    if not archive.exists():
        raise ArchiveError(f"{archive}: no archive here yet (run `signals fetch` first)")
    with tempfile.TemporaryDirectory(prefix="signals-explore-") as directory:
        metadata = write_metadata(archive, Path(directory))
        argv = datasette_argv(archive, metadata, host=host, port=port, open_browser=open_browser)
        click.echo(f"Serving {archive} read-only at http://{host}:{port}/ (Ctrl-C stops)", err=True)
        child = subprocess.Popen(argv)  # noqa: S603 - our own interpreter and fixed arguments

        def stop(signum: int, frame: object) -> None:
            child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.terminate()
            code = child.wait()
    if code not in (0, -signal.SIGINT, -signal.SIGTERM, 130):
        raise SystemExit(code)
