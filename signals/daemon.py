"""``signals run``: the long-running service.

APScheduler ticks every minute; each tick re-reads sources.toml (keeping the last good
config if the file became invalid, and saying so), asks the archive which sources are due
and polls them. The scheduler holds no state of its own: the database decides what is
due, so a restart neither loses nor repeats work. SIGTERM or SIGINT stop the ticks, let a
poll in flight store what it has, and exit 0. Once a day (and a minute after start) it
applies retention (``keep_items_for``) in short batches, so polls go on in between.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from signals.archive import open_archive
from signals.config import Config
from signals.digest_jobs import DigestJobs
from signals.errors import ConfigError
from signals.lock import DaemonLock
from signals.logs import event

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self,
        load_config: Callable[[], Config],
        db_path: Path,
        rules_dir: Path,
        tick_seconds: float = 60,
    ):
        self.load_config = load_config
        self.db_path = db_path
        self.rules_dir = rules_dir
        self.tick_seconds = tick_seconds
        self.stop = threading.Event()
        self._config: Config | None = None
        self._scheduler: Any = None
        self.digests = DigestJobs(self.current_config, db_path, rules_dir)

    def current_config(self) -> Config | None:
        """The newest valid config; an invalid edit keeps the previous one running."""
        try:
            self._config = self.load_config()
        except ConfigError as exc:
            if self._config is None:
                raise
            event(log, "config_invalid", logging.ERROR, problems=len(exc.problems), error=str(exc))
        return self._config

    def tick(self) -> None:
        from signals.cycle import run_cycle

        if self.stop.is_set():
            return
        try:
            config = self.current_config()
            if config is None:
                return
            db = open_archive(self.db_path)
            try:
                reports = run_cycle(config, db, stop=self.stop, rules_dir=self.rules_dir)
            finally:
                db.close()
            failed = sum(1 for r in reports if not r.ok)
            event(log, "tick", polled=len(reports), failed=failed)
            if self._scheduler is not None and not self.stop.is_set():
                self.digests.refresh(self._scheduler)  # rule changes, catch-up, retries
        except Exception:  # the daemon must never silently stop: log and try next tick
            log.exception("tick failed; will try again at the next tick")

    def housekeeping(self) -> None:
        """Once a day: retention (``keep_items_for``), in short batches beside the polls."""
        from signals.retention import apply_retention

        if self.stop.is_set() or self._config is None:
            return
        try:
            db = open_archive(self.db_path)
            try:
                apply_retention(
                    db,
                    self._config.settings.keep_items_for,
                    datetime.now(UTC),
                    should_stop=self.stop.is_set,
                )
            finally:
                db.close()
        except Exception:  # retention failing must not stop the daemon; it tries tomorrow
            log.exception("retention failed; will try again tomorrow")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        event(log, "shutdown", signal=signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        self.current_config()  # fail fast on an invalid file at start
        with DaemonLock(self.db_path):
            previous = {
                sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            scheduler = BackgroundScheduler(
                timezone=UTC,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            )
            scheduler.add_job(
                self.tick,
                IntervalTrigger(seconds=self.tick_seconds, jitter=min(5, self.tick_seconds / 10)),
                id="poll",
                next_run_time=datetime.now(UTC),
            )
            scheduler.start()
            self._scheduler = scheduler
            scheduler.add_job(  # catch-up of digests missed while the daemon was down
                self.digests.refresh,
                args=[scheduler],
                id="digest-catch-up",
                next_run_time=datetime.now(UTC),
            )
            scheduler.add_job(  # retention: a minute after start, then daily
                self.housekeeping,
                IntervalTrigger(hours=24),
                id="housekeeping",
                next_run_time=datetime.now(UTC) + timedelta(seconds=min(60, self.tick_seconds)),
            )
            event(log, "daemon_started", db=str(self.db_path), tick_s=self.tick_seconds)
            try:
                while not self.stop.wait(1.0):
                    pass
            finally:
                scheduler.shutdown(wait=True)
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                event(log, "daemon_stopped")
