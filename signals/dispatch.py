"""Send what rules find, once: the thin shell around the pure engine and the ledger.

For a digest rule: the window of a fire time -> load its items -> ``build_digest`` ->
for each ``[notify.*]`` channel: claim the ledger row -> send -> record. For an alert
rule: the window since its last evaluation -> load -> evaluate (``RULE_TYPES``) ->
suppress what was already told -> one message per channel, claimed before it is sent.

Both are used by ``signals digest``, the daemon (cron jobs, catch-up at start, retries
on every tick) and ``run_cycle`` (alerts after each poll). The archive, not the
scheduler, says what was sent, so a restart neither loses nor repeats a window.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from signals.channels import CHANNELS, Transport
from signals.delivery import (
    AlreadySent,
    Busy,
    Claim,
    DeliveryError,
    Ledger,
    LedgerKey,
    retry_due,
)
from signals.digest.build import DATE_KINDS, build_alert, build_digest
from signals.digest.model import Digest, Document
from signals.errors import SignalsError
from signals.logs import event
from signals.redact import redact_text
from signals.rules.model import Rule
from signals.rules.schedule import Schedule, Window, digest_window
from signals.rules.types import RULE_TYPES, Event, Inputs, suppress
from signals.snapshot import (
    archive_started_at,
    entity_first_seen,
    load_dated_facts,
    load_items,
    load_items_by_id,
    load_sources,
    story_keys,
)
from signals.times import parse_utc_iso, utcnow

log = logging.getLogger(__name__)

SENT = "sent"
ALREADY_SENT = "already_sent"
BUSY = "busy"
FAILED = "failed"
#: How long an unsent alert is still worth retrying.
ALERT_RETRY_FOR = timedelta(hours=24)
#: At most this many missed windows of one digest rule go out after downtime (the newest).
CATCH_UP_LIMIT = 14
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SIGNALS_SMTP_URL")


@dataclass(frozen=True)
class Outcome:
    """What happened to one window on one channel, told in one line."""

    rule: str
    channel: str
    window: Window
    status: str  # sent, already_sent, busy, failed
    message: str
    document: Document | None = None
    transport: str | None = None
    external_id: str | None = None
    printed: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAILED


def _secrets(env: Mapping[str, str]) -> list[str]:
    from urllib.parse import unquote, urlsplit

    found = [env[name] for name in SECRET_VARIABLES if env.get(name)]
    smtp = env.get("SIGNALS_SMTP_URL")
    if smtp:
        try:
            password = urlsplit(smtp).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    return found


def _describe_window(window: Window) -> str:
    local = window.local(window.end)
    return f"window ending {local:%a} {local.day} {local:%b %Y %H:%M %Z}"


class Dispatcher:
    """Builds and sends digests and alerts against one archive."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        env: Mapping[str, str],
        outbox: Path,
        timezone: str = "UTC",
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ):
        self.db = db
        self.env = env
        self.outbox = outbox
        self.timezone = timezone
        self.clock = clock
        self.ledger = Ledger(db, owner)

    # ------------------------------------------------------------------ digests

    @staticmethod
    def schedule(rule: Rule) -> Schedule:
        assert rule.digest is not None
        return Schedule(rule.digest.schedule, rule.digest.timezone)

    def latest_window(self, rule: Rule, now: datetime) -> Window | None:
        """The window of the most recent fire at or before ``now``."""
        fire = self.schedule(rule).latest_at_or_before(now)
        return None if fire is None else self.window_at(rule, fire)

    def window_at(self, rule: Rule, fire: datetime) -> Window:
        assert rule.digest is not None
        return digest_window(self.schedule(rule), rule.digest.window, fire, rule.digest.timezone)

    def told_stories(self, rule: Rule, window: Window) -> set[str]:
        """Stories this rule's earlier digests already told (sent windows that ended before
        this one, within its ``max_age``): a story is in one digest, not in every window
        where another source reports it again."""
        items = self.ledger.sent_items(rule.id, window.start - rule.max_age, window.end)
        return story_keys(self.db, items) if items else set()

    def digest(self, rule: Rule, window: Window, told: Collection[str] | None = None) -> Digest:
        """Load what the window needs from the archive and build the digest (nothing sent).

        ``told``: story keys to leave out, by default ``told_stories`` from the ledger.
        """
        assert rule.digest is not None
        spec = rule.digest
        if told is None:
            told = self.told_stories(rule, window)
        items = load_items(self.db, window.start, window.end)
        previous = None
        if spec.compare_previous:
            before = window.previous()
            previous = load_items(self.db, before.start, before.end)
        dated = []
        if spec.upcoming is not None:
            first = window.local(window.end).date()
            last = window.local(window.end + spec.upcoming).date()
            dated = load_dated_facts(self.db, list(DATE_KINDS), first.isoformat(), last.isoformat())
        return build_digest(
            rule,
            window,
            items,
            sources=load_sources(self.db),
            previous_items=previous,
            dated=dated,
            told=told,
        )

    def send_digest(
        self,
        rule: Rule,
        window: Window,
        channels: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> list[Outcome]:
        """Send the digest of ``window`` on every channel that has not had it yet."""
        outcomes = []
        document: Digest | None = None
        for channel in channels or rule.channels:
            key = LedgerKey(rule.id, channel, window.start_iso, window.end_iso)
            row = self.ledger.row(key)
            if row is not None and row.status == SENT:
                outcomes.append(self._already(rule, channel, window, AlreadySent(row)))
                continue
            if document is None:
                document = self.digest(rule, window)
            outcomes.append(self._deliver(rule, channel, window, document, now))
        return outcomes

    def due_windows(self, rule: Rule, now: datetime) -> list[Window]:
        """The windows the daemon should have sent by ``now``, oldest first.

        Always the latest window. Once a rule has a ledger row (its series has begun),
        also every window that ended after its newest row, and every unsent (failed or
        abandoned) row, so that windows missed while the daemon was down go out one by one
        and no item first seen in them is lost. Windows are pure functions of their fire
        time, so each keeps its own ledger key, dates and week-on-week counts, and a
        manual ``signals digest --now`` of the same fire finds the same row. Bounded:
        only windows that ended within the rule's ``max_age`` (items older than that are
        left out of digests anyway), at most ``CATCH_UP_LIMIT`` of them (the newest). A
        rule with no row yet sends only its latest window: a fresh install or a new rule
        does not replay the archive. A window that ended before the archive began
        collecting is never sent (it would be an empty "yesterday").
        """
        assert rule.digest is not None
        latest = self.latest_window(rule, now)
        started = archive_started_at(self.db)
        if latest is None or started is None:
            return []
        windows = {(latest.start, latest.end): latest}
        newest = self.ledger.newest_window_end(rule.id)
        if newest is not None:
            oldest_end = now - rule.max_age
            for fire in self.schedule(rule).fires_between(max(newest, oldest_end), now):
                window = self.window_at(rule, fire)
                windows.setdefault((window.start, window.end), window)
            for _, row in self.ledger.unsent(rule.id, oldest_end):
                window = Window(
                    parse_utc_iso(row.window_start),
                    parse_utc_iso(row.window_end),
                    rule.digest.timezone,
                )
                if window.end <= now:
                    windows.setdefault((window.start, window.end), window)
        chosen = sorted(
            (w for w in windows.values() if w.end > started), key=lambda w: (w.end, w.start)
        )
        skipped = chosen[:-CATCH_UP_LIMIT]
        if skipped:
            event(
                log,
                "digest_catch_up_capped",
                logging.WARNING,
                rule=rule.id,
                skipped=len(skipped),
                first=skipped[0].end_iso,
                last=skipped[-1].end_iso,
            )
        return chosen[-CATCH_UP_LIMIT:]

    def deliver_due(self, rule: Rule, now: datetime | None = None) -> list[Outcome]:
        """The daemon's question for a digest rule: which windows are not out yet? Send them.

        See ``due_windows``: the latest window, plus, after downtime, every window missed
        since the rule's newest ledger row (within its ``max_age``), oldest first. A failed
        window is retried with backoff (1, 2, 4 ... 30 minutes).
        """
        now = now or self.clock()
        outcomes = []
        for window in self.due_windows(rule, now):
            due = []
            for channel in rule.channels:
                key = LedgerKey(rule.id, channel, window.start_iso, window.end_iso)
                row = self.ledger.row(key)
                if row is None or retry_due(row, now):
                    due.append(channel)
            if due:
                outcomes += self.send_digest(rule, window, due, now)
        return outcomes

    # ------------------------------------------------------------------ alerts

    def inputs(self, rule: Rule, window: Window, now: datetime) -> Inputs:
        """Load what this rule type needs to evaluate ``window`` at ``now``."""
        rule_type = RULE_TYPES[rule.type]
        since, until = rule_type.span(rule, window, now)
        items = (
            load_items(self.db, since, until, include_updated=rule.type == "match")
            if since < until
            else []
        )
        first_seen = {}
        candidates = getattr(rule_type, "candidates", None)
        if candidates is not None:
            first_seen = entity_first_seen(self.db, sorted(candidates(rule, items)))
        return Inputs(
            items=items,
            sources=load_sources(self.db) if rule.type == "flatline" else (),
            first_seen=first_seen,
            archive_started_at=archive_started_at(self.db),
        )

    def evaluate(self, rule: Rule, window: Window, now: datetime) -> list[Event]:
        return RULE_TYPES[rule.type].evaluate(rule, self.inputs(rule, window, now), window, now)

    def run_alert(self, rule: Rule, now: datetime | None = None) -> list[Outcome]:
        """Retry this alert rule's unsent messages, then evaluate what arrived since last time."""
        now = now or self.clock()
        outcomes = self._retry_alerts(rule, now)
        rule_type = RULE_TYPES[rule.type]
        mark = self.ledger.mark(rule.id)
        if mark is not None and now - mark < rule_type.check_every:
            return outcomes
        # The archive keeps whole seconds: the window takes in the current second, and the
        # next one starts at it again; suppression drops whatever that second repeats.
        end = now.replace(microsecond=0) + timedelta(seconds=1)
        start = now - rule.max_age if mark is None else max(mark, now - rule.max_age)
        if start >= end:
            return outcomes
        window = Window(start, end, self.timezone)
        since = now - max(rule.realert, rule.max_age)
        recent = self.ledger.recent_keys(rule.id, now - rule.realert)
        if rule.type == "match":
            # The stories told within realert, as stories stand now: an item told alone
            # that has since joined a story suppresses that story's later items too.
            told = self.ledger.delivered_items(rule.id, now - rule.realert)
            recent |= {f"story:{key}" for key in story_keys(self.db, told)}
        events = suppress(
            rule,
            self.evaluate(rule, window, now),
            recent,
            self.ledger.delivered_items(rule.id, since),
        )
        mark_at = end - timedelta(seconds=1)
        if not events:
            self.ledger.set_mark(rule.id, mark_at)
            return outcomes
        alert = build_alert(rule, window, events)
        # Rows are claimed before the mark moves: a crash in between leaves pending rows
        # (retried, with the guard) and suppression keeps the re-evaluation from repeating.
        prepared = [self._prepare(rule, channel, window, alert, now) for channel in rule.channels]
        self.ledger.set_mark(rule.id, mark_at)
        for channel, transport, claim in prepared:
            outcomes.append(self._send(rule, channel, window, alert, transport, claim))
        return outcomes

    def _retry_alerts(self, rule: Rule, now: datetime) -> list[Outcome]:
        outcomes = []
        for key, row in self.ledger.unsent(rule.id, now - ALERT_RETRY_FOR):
            if not retry_due(row, now) or key.channel not in rule.channels:
                continue
            window = Window(
                parse_utc_iso(row.window_start), parse_utc_iso(row.window_end), self.timezone
            )
            wanted, told = set(row.keys), set(row.item_ids)
            events = [
                Event(e.key, e.headline, tuple(i for i in e.items if i.id in told))
                for e in self.evaluate(rule, window, window.end)
                if e.key in wanted
            ]  # the same message as the first attempt: its keys, its items
            if not events and row.item_ids:
                items = load_items_by_id(self.db, row.item_ids)
                events = [
                    Event(key=row.keys[0] if row.keys else "retry", headline="", items=tuple(items))
                ]
            if not events:
                continue
            alert = build_alert(rule, window, events)
            outcomes.append(self._deliver(rule, key.channel, window, alert))
        return outcomes

    # ------------------------------------------------------------------ sending

    def _transport(self, rule: Rule, channel: str) -> Transport:
        return CHANNELS[channel].transport(rule.target(channel), self.env, self.outbox)

    def _prepare(
        self, rule: Rule, channel: str, window: Window, document: Document, now: datetime
    ) -> tuple[str, Transport | DeliveryError, Claim]:
        """Pick the transport and claim the ledger row (also when the transport is unusable,
        so the failure is recorded and retried like any other)."""
        key = LedgerKey(rule.id, channel, window.start_iso, window.end_iso)
        transport: Transport | DeliveryError
        try:
            transport = self._transport(rule, channel)
            name = transport.name
        except DeliveryError as exc:  # e.g. an unusable SIGNALS_SMTP_URL: nothing can be sent
            transport, name = exc, "unavailable"
        claim = self.ledger.claim(
            key, now=now, transport=name, item_ids=document.item_ids, keys=document.keys
        )
        return channel, transport, claim

    def _deliver(
        self,
        rule: Rule,
        channel: str,
        window: Window,
        document: Document,
        now: datetime | None = None,
    ) -> Outcome:
        _, transport, claim = self._prepare(rule, channel, window, document, now or self.clock())
        return self._send(rule, channel, window, document, transport, claim)

    def _already(
        self, rule: Rule, channel: str, window: Window, claim: AlreadySent | Busy
    ) -> Outcome:
        row = claim.row
        if isinstance(claim, AlreadySent):
            via = " (via the outbox)" if row.transport == "outbox" and channel != "outbox" else ""
            message = (
                f"{rule.id}: {_describe_window(window)} was already sent to {channel}{via}"
                f" at {row.sent_at} ({row.external_id}); nothing sent"
            )
            return Outcome(
                rule.id, channel, window, ALREADY_SENT, message, external_id=row.external_id
            )
        message = (
            f"{rule.id}: {_describe_window(window)} is being sent to {channel} right now"
            f" by {row.claimed_by}; nothing sent"
        )
        return Outcome(rule.id, channel, window, BUSY, message)

    def _send(
        self,
        rule: Rule,
        channel: str,
        window: Window,
        document: Document,
        transport: Transport | DeliveryError,
        claim: Claim,
    ) -> Outcome:
        if isinstance(claim, AlreadySent | Busy):
            return self._already(rule, channel, window, claim)
        attempt = claim.attempt
        where = f"{rule.id}: {_describe_window(window)}"
        try:
            if isinstance(transport, DeliveryError):
                raise transport
            sent = transport.send(document, attempt)
        except DeliveryError as exc:
            error = redact_text(str(exc), _secrets(self.env))
            self.ledger.mark_failed(attempt, error, ambiguous=exc.ambiguous)
            event(
                log,
                "delivery",
                logging.ERROR,
                rule=rule.id,
                channel=channel,
                status=FAILED,
                error=error,
            )
            state = (
                "may have gone out; will check before retrying" if exc.ambiguous else "will retry"
            )
            name = None if isinstance(transport, DeliveryError) else transport.name
            return Outcome(
                rule.id, channel, window, FAILED, f"{where}: {error} ({state})", document, name
            )
        except Exception as exc:  # a bug must not lose the window: record it, retry later
            secrets = _secrets(self.env)
            error = redact_text(f"internal error: {type(exc).__name__}: {exc}", secrets)
            # The traceback, redacted: an exception message may quote a credential.
            trace = redact_text("".join(traceback.format_exception(exc)), secrets)
            log.error("delivery of %s to %s failed\n%s", rule.id, channel, trace.rstrip())
            self.ledger.mark_failed(attempt, error, ambiguous=True)
            return Outcome(rule.id, channel, window, FAILED, f"{where}: {error}", document)
        note = redact_text(sent.note, _secrets(self.env)) if sent.note else None
        try:
            self.ledger.mark_sent(attempt, sent.external_id, self.clock(), note)
        except sqlite3.Error as exc:
            # The write barrier: nothing more goes out while a send cannot be recorded. The
            # row stays pending, so the next attempt looks for this message before resending.
            raise SignalsError(
                f"{where}: sent to {sent.where} ({sent.external_id}) but the archive could not"
                f" record it ({exc}); nothing more is sent now, and the next attempt checks"
                " for this message before sending again"
            ) from None
        event(
            log,
            "delivery",
            logging.WARNING if note else logging.INFO,
            rule=rule.id,
            channel=channel,
            status=SENT,
            transport=transport.name,
            id=sent.external_id,
            attempt=attempt.progress.get("parts", 1),
            **({"note": note} if note else {}),
        )
        stories = document.stories
        verb = "written to" if transport.name == "outbox" else "sent to"
        message = f"{where}: {verb} {sent.where} ({stories} stor{'y' if stories == 1 else 'ies'})"
        if note:
            message += f"; {note}"
        return Outcome(
            rule.id,
            channel,
            window,
            SENT,
            message,
            document,
            transport.name,
            sent.external_id,
            sent.printed,
        )
