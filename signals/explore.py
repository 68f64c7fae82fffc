"""Serve the archive read-only in Datasette, described by ``signals.archive_schema``.

Datasette opens a database file that may change (not ``--immutable``) with
``mode=ro`` connections: in WAL mode those readers never block the daemon's writes, and
they see each commit on their next query. Datasette writes to a database only through
canned queries marked ``write: true`` or plugins; the metadata here defines none, and the
SQL page accepts only SELECT statements, so nothing reachable from the browser writes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from signals.archive_schema import datasette_metadata
from signals.errors import SignalsError

INSTALL_HINT = "pip install -e '.[explore]' (in the signals checkout)"

#: Datasette settings: room for the heavier example queries on millions of items, and
#: facets that give up quickly rather than slow every page.
SETTINGS = {"sql_time_limit_ms": "5000", "facet_time_limit_ms": "300", "default_page_size": "50"}


class ExploreUnavailable(SignalsError):
    """Datasette is not installed (it is an optional extra)."""


def require_datasette() -> None:
    if importlib.util.find_spec("datasette") is None:
        raise ExploreUnavailable(
            f"signals explore needs Datasette, an optional extra. Install it with:\n"
            f"  {INSTALL_HINT}\n(or: pip install 'datasette>=0.64')"
        )


def write_metadata(archive: Path, directory: Path) -> Path:
    """Write Datasette's metadata.json for ``archive`` into ``directory``."""
    target = directory / "metadata.json"
    metadata = datasette_metadata(database=archive.stem)
    target.write_text(json.dumps(metadata, indent=2, ensure_ascii=False), encoding="utf-8")
    return target


def datasette_argv(
    archive: Path, metadata: Path, *, host: str, port: int, open_browser: bool
) -> list[str]:
    """The command line that serves ``archive`` (mutable, read-only connections)."""
    argv = [sys.executable, "-m", "datasette", "serve", str(archive)]
    argv += ["--metadata", str(metadata), "--host", host, "--port", str(port)]
    for name, value in SETTINGS.items():
        argv += ["--setting", name, value]
    if open_browser:
        argv.append("--open")
    return argv
