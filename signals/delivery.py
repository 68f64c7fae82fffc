"""The deliveries ledger: what makes every window go out once.

One row per (rule, channel, window start, window end). The row is written *before*
sending (``pending``, with who claimed it), checkpointed after every part of a multi-part
send (a Slack thread), and marked ``sent`` with the external id (Slack ``ts``,
``Message-ID``, outbox file) after. A send that fails for a known reason becomes
``failed`` and is retried; one whose outcome is unknown (a crash, a timeout after the
request left) stays ``pending`` with no live owner.

Claiming is a ``BEGIN IMMEDIATE`` transaction, so two processes (the daemon and a manual
``signals digest``) can never both send a window. A ``pending`` row whose owner is dead
is *maybe sent*: the transport then looks for the message before resending (Slack: a
message carrying the window's key in its metadata; email resends with the same
Message-ID). That is at-least-once with an idempotency guard, chosen because a missed
morning digest is worse than a rare duplicate, and the guard makes the duplicate rarer
still (see README, "Rules and delivery").
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from signals.errors import SignalsError
from signals.times import parse_utc_iso, to_utc_iso

PENDING = "pending"
SENT = "sent"
FAILED = "failed"

#: A pending row older than this is presumed abandoned even if its owner looks alive.
LEASE = timedelta(minutes=15)
BACKOFF_MAX = timedelta(minutes=30)


class DeliveryError(SignalsError):
    """A send failed. ``ambiguous``: the message may have gone out anyway (timeout, crash)."""

    def __init__(self, message: str, *, ambiguous: bool = False):
        super().__init__(message)
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class LedgerKey:
    rule: str
    channel: str
    window_start: str
    window_end: str

    @property
    def token(self) -> str:
        """A stable short id of the window: Slack metadata, Message-ID, outbox file names."""
        raw = "\x1f".join((self.rule, self.channel, self.window_start, self.window_end))
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Row:
    id: int
    status: str
    attempts: int
    attempted_at: datetime | None
    claimed_by: str | None
    sent_at: str | None
    external_id: str | None
    error: str | None
    transport: str | None
    item_ids: tuple[str, ...]
    keys: tuple[str, ...]
    progress: dict[str, Any]
    window_start: str
    window_end: str


@dataclass
class Attempt:
    """One claimed send. Transports read ``progress`` and call ``checkpoint`` as they go."""

    key: LedgerKey
    row_id: int
    maybe_sent: bool
    progress: dict[str, Any]
    now: datetime
    ledger: Ledger = field(repr=False)

    def checkpoint(self, **progress: Any) -> None:
        self.progress.update(progress)
        self.ledger.checkpoint(self)


@dataclass(frozen=True)
class Claimed:
    attempt: Attempt


@dataclass(frozen=True)
class AlreadySent:
    row: Row


@dataclass(frozen=True)
class Busy:
    row: Row


Claim = Claimed | AlreadySent | Busy


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # cannot tell from here: trust the lease
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def backoff(attempts: int) -> timedelta:
    """Wait before the daemon retries a failed send: 1, 2, 4 ... minutes, at most 30.

    The exponent is capped before it is used: ``2 ** attempts`` minutes no longer fits a
    timedelta after about 42 attempts, and a send that keeps failing (a revoked token
    over a long weekend) must go on being retried, not crash the daemon's jobs.
    """
    cap = BACKOFF_MAX // timedelta(minutes=1)
    exponent = min(max(attempts - 1, 0), cap.bit_length())
    return min(timedelta(minutes=2**exponent), BACKOFF_MAX)


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else None


def _tuple(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw)) if raw else ()


class Ledger:
    """Reads and writes ``deliveries`` and ``rule_marks``; commits each change at once."""

    _COLUMNS = (
        "id, status, attempts, attempted_at, claimed_by, sent_at, external_id, error,"
        " transport, item_ids, keys, progress, window_start, window_end"
    )

    def __init__(self, db: sqlite_utils.Database, owner: str | None = None):
        self.db = db
        self.conn = db.conn
        self.owner = owner or owner_id()

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """One ledger write, on disk when this returns: the write barrier of delivery.

        The archive runs WAL with ``synchronous = NORMAL`` (fast polls), where the last
        commits may roll back after a power cut. A ledger row must not: a ``pending`` claim
        lost after the send, or a lost ``sent``, means a duplicate message. So ledger
        commits run with ``synchronous = FULL`` (the WAL is fsynced at each commit) and
        nothing proceeds (no post, no next part, no next window) until the commit returns.
        """
        if self.conn.in_transaction:
            self.conn.commit()  # an uncommitted write left sqlite3's implicit transaction open
        previous = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        self.conn.execute("PRAGMA synchronous = FULL")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()
        finally:
            self.conn.execute(f"PRAGMA synchronous = {int(previous)}")

    def _row(self, raw: Sequence[Any] | None) -> Row | None:
        if raw is None:
            return None
        return Row(
            id=raw[0],
            status=raw[1],
            attempts=raw[2] or 0,
            attempted_at=parse_utc_iso(raw[3]) if raw[3] else None,
            claimed_by=raw[4],
            sent_at=raw[5],
            external_id=raw[6],
            error=raw[7],
            transport=raw[8],
            item_ids=_tuple(raw[9]),
            keys=_tuple(raw[10]),
            progress=json.loads(raw[11]) if raw[11] else {},
            window_start=raw[12],
            window_end=raw[13],
        )

    def row(self, key: LedgerKey) -> Row | None:
        raw = self.conn.execute(
            f"SELECT {self._COLUMNS} FROM deliveries WHERE rule = ? AND channel = ?"
            " AND window_start = ? AND window_end = ?",
            [key.rule, key.channel, key.window_start, key.window_end],
        ).fetchone()
        return self._row(raw)

    def unsent(self, rule: str, since: datetime) -> list[tuple[LedgerKey, Row]]:
        """Rows of ``rule`` not yet sent whose window ended after ``since``, newest first."""
        rows = self.conn.execute(
            f"SELECT {self._COLUMNS}, channel FROM deliveries WHERE rule = ? AND status != ?"
            " AND window_end > ? ORDER BY window_end DESC",
            [rule, SENT, to_utc_iso(since)],
        ).fetchall()
        found = []
        for raw in rows:
            row = self._row(raw[:-1])
            assert row is not None
            found.append((LedgerKey(rule, raw[-1], row.window_start, row.window_end), row))
        return found

    def newest_window_end(self, rule: str) -> datetime | None:
        """The end of the newest window of ``rule`` on record, whatever its status."""
        row = self.conn.execute(
            "SELECT MAX(window_end) FROM deliveries WHERE rule = ?", [rule]
        ).fetchone()
        return parse_utc_iso(row[0]) if row and row[0] else None

    def claim(
        self,
        key: LedgerKey,
        *,
        now: datetime,
        transport: str,
        item_ids: Sequence[str] = (),
        keys: Sequence[str] = (),
    ) -> Claim:
        """Take the right to send this window, or learn that it went out or is going out."""
        with self._immediate():
            row = self.row(key)
            if row is None:
                cursor = self.conn.execute(
                    "INSERT INTO deliveries (rule, channel, window_start, window_end, status,"
                    " item_ids, keys, transport, attempts, attempted_at, claimed_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    [
                        key.rule,
                        key.channel,
                        key.window_start,
                        key.window_end,
                        PENDING,
                        _json(list(item_ids)),
                        _json(list(keys)),
                        transport,
                        to_utc_iso(now),
                        self.owner,
                    ],
                )
                row_id = int(cursor.lastrowid or 0)
                return Claimed(Attempt(key, row_id, False, {}, now, self))
            if row.status == SENT:
                return AlreadySent(row)
            if row.status == PENDING and row.claimed_by and _owner_alive(row.claimed_by):
                fresh = row.attempted_at is not None and now - row.attempted_at < LEASE
                if fresh:
                    return Busy(row)
            maybe_sent = row.status == PENDING
            self.conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, attempted_at = ?,"
                " claimed_by = ?, transport = ?, item_ids = COALESCE(?, item_ids),"
                " keys = COALESCE(?, keys) WHERE id = ?",
                [
                    PENDING,
                    to_utc_iso(now),
                    self.owner,
                    transport,
                    _json(list(item_ids)) if item_ids else None,
                    _json(list(keys)) if keys else None,
                    row.id,
                ],
            )
            return Claimed(Attempt(key, row.id, maybe_sent, dict(row.progress), now, self))

    def checkpoint(self, attempt: Attempt) -> None:
        with self._immediate():
            self.conn.execute(
                "UPDATE deliveries SET progress = ? WHERE id = ?",
                [_json(attempt.progress), attempt.row_id],
            )

    def mark_sent(
        self, attempt: Attempt, external_id: str, now: datetime, note: str | None = None
    ) -> None:
        """Record the send; ``note`` (e.g. refused recipients) stays in ``error``."""
        with self._immediate():
            self.conn.execute(
                "UPDATE deliveries SET status = ?, sent_at = ?, external_id = ?, error = ?,"
                " claimed_by = NULL, progress = ? WHERE id = ?",
                [
                    SENT,
                    to_utc_iso(now),
                    external_id,
                    note[:2000] if note else None,
                    _json(attempt.progress or None),
                    attempt.row_id,
                ],
            )

    def mark_failed(self, attempt: Attempt, error: str, *, ambiguous: bool) -> None:
        """A known failure is ``failed``; an unknown outcome stays ``pending``, owner released."""
        with self._immediate():
            self.conn.execute(
                "UPDATE deliveries SET status = ?, error = ?, claimed_by = NULL, progress = ?"
                " WHERE id = ?",
                [
                    PENDING if ambiguous else FAILED,
                    error[:2000],
                    _json(attempt.progress or None),
                    attempt.row_id,
                ],
            )

    def recent_keys(self, rule: str, since: datetime, exclude_id: int | None = None) -> set[str]:
        """Suppression keys of this rule's deliveries (sent or in flight) since ``since``."""
        rows = self.conn.execute(
            "SELECT keys FROM deliveries WHERE rule = ? AND window_end >= ? AND keys IS NOT NULL"
            " AND id IS NOT ?",
            [rule, to_utc_iso(since), exclude_id],
        ).fetchall()
        return {key for (raw,) in rows for key in _tuple(raw)}

    def delivered_items(
        self, rule: str, since: datetime, exclude_id: int | None = None
    ) -> set[str]:
        rows = self.conn.execute(
            "SELECT item_ids FROM deliveries WHERE rule = ? AND window_end >= ?"
            " AND item_ids IS NOT NULL AND id IS NOT ?",
            [rule, to_utc_iso(since), exclude_id],
        ).fetchall()
        return {item for (raw,) in rows for item in _tuple(raw)}

    def sent_items(self, rule: str, ended_after: datetime, ended_before: datetime) -> set[str]:
        """Items carried by this rule's *sent* windows that ended in the given span."""
        rows = self.conn.execute(
            "SELECT item_ids FROM deliveries WHERE rule = ? AND status = ? AND window_end >= ?"
            " AND window_end < ? AND item_ids IS NOT NULL",
            [rule, SENT, to_utc_iso(ended_after), to_utc_iso(ended_before)],
        ).fetchall()
        return {item for (raw,) in rows for item in _tuple(raw)}

    def mark(self, rule: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT evaluated_until FROM rule_marks WHERE rule = ?", [rule]
        ).fetchone()
        return parse_utc_iso(row[0]) if row else None

    def set_mark(self, rule: str, until: datetime) -> None:
        with self._immediate():
            self.conn.execute(
                "INSERT INTO rule_marks (rule, evaluated_until) VALUES (?, ?)"
                " ON CONFLICT(rule) DO UPDATE SET evaluated_until = excluded.evaluated_until",
                [rule, to_utc_iso(until)],
            )


def retry_due(row: Row, now: datetime) -> bool:
    """May the daemon try this unsent row again now? (Manual sends do not wait.)"""
    if row.status == SENT:
        return False
    in_flight = row.status == PENDING and row.claimed_by and _owner_alive(row.claimed_by)
    if in_flight and row.attempted_at is not None and now - row.attempted_at < LEASE:
        return False  # someone is sending it right now
    if row.attempted_at is None:
        return True
    return now - row.attempted_at >= backoff(row.attempts)
