"""Backups and VACUUM of the archive.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``) page steps at
a time. In WAL mode a reader never blocks the daemon's writes, and SQLite restarts the
copy when another connection writes in between two steps, so the copy is always one
consistent snapshot; after a few restarts (a busy daemon, a large archive) the rest is
copied in one step, which holds a read snapshot instead of restarting. The copy is
written next to the destination, checked with ``PRAGMA integrity_check`` and only then
renamed into place, so a killed backup never leaves a half-written file under its name.

``vacuum`` rebuilds the file without free pages. VACUUM writes the whole database in one
transaction and would stall a daemon's polls (or fail them after the busy timeout), so
it takes the daemon lock and refuses to run beside a daemon or ``run --once``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signals.errors import ArchiveError, DaemonLockedError, UsageError
from signals.lock import DaemonLock

PAGES_PER_STEP = 4096
MAX_RESTARTS = 3


class _Restarted(Exception):
    pass


@dataclass
class BackupReport:
    path: Path
    bytes: int
    pages: int
    one_step: bool


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise ArchiveError(f"{path}: no archive here (check --db or settings.database)")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def backup(
    archive: Path,
    destination: Path,
    *,
    force: bool = False,
    pages: int = PAGES_PER_STEP,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackupReport:
    """Copy the live archive to ``destination`` and verify the copy."""
    if destination.exists() and not force:
        raise UsageError(f"{destination}: already exists; pass --force to overwrite it")
    if destination.resolve() == archive.resolve():
        raise UsageError(f"{destination}: is the archive itself; choose another file")
    if not destination.parent.is_dir():
        raise UsageError(f"{destination}: folder {destination.parent} does not exist")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = _connect(archive)
    restarts = 0
    previous = [-1]

    def progress(status: int, remaining: int, total: int) -> None:
        nonlocal restarts
        if previous[0] >= 0 and remaining > previous[0]:  # another connection wrote: restart
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise _Restarted
        previous[0] = remaining
        if on_progress:
            on_progress(total - remaining, total)

    one_step = False
    try:
        target = sqlite3.connect(partial)
        try:
            try:
                source.backup(target, pages=pages, progress=progress)
            except _Restarted:
                one_step = True
                source.backup(target, pages=-1)
            total_pages = target.execute("PRAGMA page_count").fetchone()[0]
            result = target.execute("PRAGMA integrity_check").fetchall()
        finally:
            target.close()
        if result != [("ok",)]:
            problems = "; ".join(str(row[0]) for row in result[:5])
            raise ArchiveError(f"{partial}: the copy failed its integrity check: {problems}")
        os.replace(partial, destination)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{archive}: backup failed: {exc}") from exc
    finally:
        source.close()
        partial.unlink(missing_ok=True)
    return BackupReport(destination, destination.stat().st_size, total_pages, one_step)


@dataclass
class VacuumReport:
    before: int
    after: int

    @property
    def reclaimed(self) -> int:
        return self.before - self.after


def _size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def vacuum(archive: Path) -> VacuumReport:
    """Merge the full-text index's segments, VACUUM, and truncate the WAL."""
    conn = _connect(archive)
    lock = DaemonLock(archive)
    try:
        lock.acquire()
    except DaemonLockedError as exc:
        conn.close()
        raise DaemonLockedError(
            f"{exc}. VACUUM rewrites the whole file and needs the archive to itself"
        ) from None
    try:
        before = _size(archive)
        has_fts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items_fts'").fetchone()
        if has_fts:
            conn.execute("INSERT INTO items_fts(items_fts) VALUES ('optimize')")
            conn.commit()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA optimize")
        return VacuumReport(before, _size(archive))
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(f"{archive}: vacuum failed: {exc}") from exc
    finally:
        conn.close()
        lock.release()
