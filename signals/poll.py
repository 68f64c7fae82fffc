"""One poll of a set of sources: the pipeline, read top to bottom.

For each source, isolated from the others::

    fetch      -> Fetched | NotModified | FetchFailed      (worker threads, polite)
    parse      -> RawEntry[] via SOURCE_KINDS[kind]         (main thread)
    normalize  -> Item[]                                    (main thread)
    store      -> one transaction: items, enrichment (tags), fetch record, health  (main thread)

Worker threads only fetch; the main thread parses, normalizes and stores each result as
it completes, so SQLite has a single writer, pure-Python parsing never fights over the
GIL, and a killed process loses at most the polls in flight.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlite_utils

from signals.archive import write_transaction
from signals.config import Config, Settings, Source
from signals.errors import UsageError
from signals.fetch import Fetcher, FetchRequest
from signals.logs import event
from signals.model import Fetched, FetchFailed, FetchResult, Item, NotModified, RawEntry
from signals.normalize import clean_text, normalize, rekey_shared_links
from signals.politeness import HostLimit, HostLimiter, host_limits
from signals.redact import redact_url, redact_urls
from signals.scheduling import next_check
from signals.sources import SOURCE_KINDS, ParseContext, ParseError
from signals.store import (
    FetchRecord,
    SourceState,
    StoreCounts,
    StoredItem,
    known_entry_keys,
    record_fetch,
    source_states,
    store_items,
    sync_sources,
)
from signals.times import to_utc_iso, utcnow

log = logging.getLogger(__name__)

#: Called inside the store transaction with what changed, e.g. the tagger.
Enricher = Callable[[sqlite_utils.Database, Sequence[StoredItem], Source], None]

SUCCESS = frozenset({"ok", "not_modified"})


@dataclass
class Collected:
    """What a worker brings back for one source: the fetch result and normalized items."""

    result: FetchResult | None
    outcome: str
    error: str | None = None
    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class PollReport:
    """The per-source summary printed by ``signals fetch`` and returned to callers."""

    source_id: str
    outcome: str
    http_status: int | None = None
    seen: int = 0
    new: int = 0
    updated: int = 0
    linked: int = 0
    duration_ms: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    next_check_at: str | None = None
    changed: list[StoredItem] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome in SUCCESS

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source_id,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "seen": self.seen,
            "new": self.new,
            "updated": self.updated,
            "linked": self.linked,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "warnings": self.warnings,
            "next_check_at": self.next_check_at,
        }


def select_sources(
    config: Config,
    states: dict[str, SourceState],
    source_ids: Sequence[str] | None,
    due_only: bool,
    now: datetime,
) -> list[Source]:
    """The sources to poll: the named ones, or every enabled (and, if asked, due) one."""
    if source_ids:
        unknown = [sid for sid in source_ids if config.source(sid) is None]
        if unknown:
            known = ", ".join(s.id for s in config.sources)
            raise UsageError(f"unknown source {', '.join(unknown)} (known: {known})")
        return [s for s in config.sources if s.id in set(source_ids)]
    chosen = [s for s in config.sources if s.enabled]
    if due_only:
        now_iso = to_utc_iso(now)
        chosen = [
            s
            for s in chosen
            if not states.get(s.id) or (states[s.id].next_check_at or "") <= now_iso
        ]
    return chosen


def poll_sources(
    config: Config,
    db: sqlite_utils.Database,
    source_ids: Sequence[str] | None = None,
    *,
    due_only: bool = False,
    enrich: Enricher | None = None,
    on_start: Callable[[int], None] | None = None,
    on_report: Callable[[PollReport], None] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[PollReport]:
    """Poll sources concurrently and store each result as it arrives."""
    settings = config.settings
    sync_sources(db, config)
    states = source_states(db)
    now = clock()
    chosen = select_sources(config, states, source_ids, due_only, now)
    if on_start:
        on_start(len(chosen))
    reports: list[PollReport] = []

    def finish(report: PollReport) -> None:
        reports.append(report)
        if on_report:
            on_report(report)

    runnable: list[Source] = []
    for source in chosen:
        state = states[source.id]
        if state.retry_after_until and state.retry_after_until > to_utc_iso(now):
            finish(_deferred(source, state))
        else:
            runnable.append(source)
    if not runnable:
        return reports

    limiter = HostLimiter(
        host_limits(settings, config.sources),
        HostLimit(rate=settings.host_rate, concurrency=settings.host_concurrency),
    )
    with Fetcher(settings, limiter) as fetcher, ThreadPoolExecutor(settings.workers) as pool:
        pending: dict[Future[FetchResult], tuple[Source, str]] = {}
        for source in runnable:
            request = request_for(source, states[source.id], conditional=True)
            pending[pool.submit(fetch_source, fetcher, request)] = (source, to_utc_iso(clock()))
        while pending:
            if stop is not None and stop.is_set():
                for future in pending:
                    future.cancel()
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                source, started = pending.pop(future)
                if future.cancelled():
                    continue
                state = states[source.id]
                known = functools.partial(known_entry_keys, db, source.id)
                collected = collect(
                    source, future.result(), fetcher, known, settings, clock, stop=stop
                )
                report = store_collected(
                    db, source, state, collected, started, settings, enrich, clock
                )
                finish(report)
    return reports


def _deferred(source: Source, state: SourceState) -> PollReport:
    error = f"server asked to wait (Retry-After) until {state.retry_after_until}"
    event(log, "poll", source=source.id, outcome="deferred", until=state.retry_after_until)
    return PollReport(
        source_id=source.id, outcome="deferred", error=error, next_check_at=state.next_check_at
    )


def request_for(source: Source, state: SourceState | None, conditional: bool) -> FetchRequest:
    """The GET for a source's URL (with last poll's validators) or for a further page."""
    # the archive keeps the URL with secrets masked; compare like with like
    validators = conditional and state is not None and state.url == redact_url(source.url)
    return FetchRequest(
        url=source.url,
        etag=state.etag if validators and state else None,
        last_modified=state.last_modified if validators and state else None,
        accept=SOURCE_KINDS[source.kind].accept,
        headers=source.headers,
        max_bytes=source.max_bytes,
        total_timeout=source.timeout,
    )


def fetch_source(fetcher: Fetcher, request: FetchRequest) -> FetchResult:
    """Worker thread: network only. Parsing stays on the main thread (see collect)."""
    try:
        return fetcher.fetch(request)
    except Exception as exc:  # a bug must not cost the other sources
        log.exception("unexpected error while fetching %s", redact_urls(request.url))
        return FetchFailed(outcome="internal_error", error=f"{type(exc).__name__}: {exc}")


def collect(
    source: Source,
    result: FetchResult,
    fetcher: Fetcher,
    known: Callable[[], set[str]],
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    *,
    preview: bool = False,
    stop: threading.Event | None = None,
) -> Collected:
    """Parse and normalize one fetched source. Never raises: every failure gets a name.

    This runs on the main thread on purpose: parsing is pure Python, so parsing in
    several threads only adds GIL contention, while the fetch threads keep the network
    busy and SQLite (which releases the GIL) indexes in parallel. ``known`` loads the
    entry keys already archived for the source, only if the kind asks. ``preview``
    (``signals sources check``) asks kinds not to follow pages or links.
    """
    if isinstance(result, FetchFailed):
        return Collected(result=result, outcome=result.outcome, error=result.error)
    moved = (
        [f"moved permanently (HTTP 301/308) to {result.moved_to}: update url in sources.toml"]
        if result.moved_to
        else []
    )
    if isinstance(result, NotModified):
        return Collected(result=result, outcome="not_modified", warnings=moved)
    try:
        collected = _parse(source, result, fetcher, known, settings, clock, preview, stop)
    except Exception as exc:  # a bug or surprise in one source must not stop the others
        log.exception("unexpected error while parsing %s", source.id)
        collected = Collected(
            result=result, outcome="internal_error", error=f"{type(exc).__name__}: {exc}"
        )
    collected.warnings[:0] = moved
    return collected


def _parse(
    source: Source,
    fetched: Fetched,
    fetcher: Fetcher,
    known: Callable[[], set[str]],
    settings: Settings,
    clock: Callable[[], datetime],
    preview: bool,
    stop: threading.Event | None,
) -> Collected:
    kind = SOURCE_KINDS[source.kind]
    seen_at = clock()
    keys: set[str] | None = None

    def is_known(raw: RawEntry) -> bool:
        nonlocal keys
        if keys is None:
            keys = known()
        return normalize(raw, source.id, fetched.url, seen_at).entry_key in keys

    def fetch_more(url: str) -> FetchResult:
        if stop is not None and stop.is_set():  # shutting down: no more pages or articles
            return FetchFailed(outcome="cancelled", error="the daemon is shutting down")
        return fetcher.fetch(replace(request_for(source, None, conditional=False), url=url))

    context = ParseContext(
        fetch=fetch_more, is_known=is_known, timezone=settings.timezone, preview=preview
    )
    try:
        parsed = kind.parse(fetched, source, context)
    except ParseError as exc:
        return Collected(result=fetched, outcome=exc.outcome, error=str(exc))
    items, warnings = normalize_entries(parsed.entries, source.id, fetched.url, seen_at)
    return Collected(result=fetched, outcome="ok", items=items, warnings=parsed.warnings + warnings)


def normalize_entries(
    entries: Iterable[RawEntry], source_id: str, base_url: str, seen_at: datetime
) -> tuple[list[Item], list[str]]:
    """Normalize entries, skipping broken ones and repeats of an identity, with warnings."""
    normalized: list[tuple[int, Item]] = []
    warnings: list[str] = []
    for position, raw in enumerate(entries, start=1):
        if _is_blank(raw):
            warnings.append(f"entry {position} skipped: no title, link or text")
            continue
        try:
            normalized.append((position, normalize(raw, source_id, base_url, seen_at)))
        except Exception as exc:  # one broken entry must not cost the others
            warnings.append(f"entry {position} skipped: {type(exc).__name__}: {exc}")
    rekey_shared_links([item for _, item in normalized], source_id)
    items: list[Item] = []
    keys: set[str] = set()
    estimated = 0
    repeats: list[str] = []
    for position, item in normalized:
        if item.entry_key in keys:
            repeats.append(f"entry {position} repeats {item.entry_key!r}")
            continue
        keys.add(item.entry_key)
        estimated += item.date_estimated
        items.append(item)
    # One line, not one per repeat: EDGAR's Atom feeds list each filing once per filer
    # (reporting owner and issuer), which made fifty identical warnings every poll.
    if len(repeats) == 1:
        warnings.append(f"{repeats[0]}; kept the first")
    elif repeats:
        warnings.append(
            f"{len(repeats)} entries repeat an earlier entry's id ({repeats[0]}, ...);"
            " kept the first of each"
        )
    if estimated:
        warnings.append(
            f"{estimated} entr{'y' if estimated == 1 else 'ies'} without a usable date;"
            " dated by when first seen"
        )
    return items, warnings


def _is_blank(raw: RawEntry) -> bool:
    """An entry with nothing to show (CMS placeholders: ``<item><title></title><link></link>``)."""
    if raw.link and raw.link.strip():
        return False
    return not any(clean_text(value) for value in (raw.title, raw.summary, raw.body))


def store_collected(
    db: sqlite_utils.Database,
    source: Source,
    state: SourceState,
    collected: Collected,
    started_at: str,
    settings: Settings,
    enrich: Enricher | None,
    clock: Callable[[], datetime] = utcnow,
) -> PollReport:
    """Store one source's poll in one transaction and say what happened."""
    result = collected.result
    succeeded = collected.outcome in SUCCESS
    failures = 0 if succeeded else state.error_count + 1
    retry_after = result.retry_after_s if isinstance(result, FetchFailed) else None
    now = clock()
    due = next_check(
        now,
        source.every,
        succeeded=succeeded,
        failures=failures,
        backoff_max=settings.backoff_max,
        jitter=settings.jitter,
        retry_after_s=retry_after,
        fresh_for_s=getattr(result, "fresh_for_s", None),
    )
    retry_until = to_utc_iso(now + timedelta(seconds=retry_after)) if retry_after else None
    body = result.body if isinstance(result, Fetched) else None
    record = FetchRecord(
        source_id=source.id,
        started_at=started_at,
        outcome=collected.outcome,
        http_status=getattr(result, "status", None),
        bytes=len(body) if body is not None else None,
        sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
        duration_ms=getattr(result, "duration_ms", 0),
        error=redact_urls(collected.error) if collected.error else None,
        warnings=[redact_urls(w) for w in collected.warnings],
        etag=getattr(result, "etag", None) if succeeded else None,
        last_modified=getattr(result, "last_modified", None) if succeeded else None,
        next_check_at=to_utc_iso(due),
        retry_after_until=retry_until,
    )
    try:
        with write_transaction(db):
            # Stamped once the write lock is held: a reader that takes the lock after a
            # moment T (a digest window ending at T) then sees every item stamped before T.
            stamp = to_utc_iso(clock())
            stored, counts = store_items(
                db,
                source.id,
                collected.items,
                stamp,
                link_by_url=getattr(SOURCE_KINDS[source.kind], "url_identity", True),
            )
            if enrich is not None and stored:
                enrich(db, stored, source)
            record_fetch(db, record, counts, succeeded)
    except Exception as exc:  # the poll's writes are rolled back; the failure is recorded
        log.exception("could not store the poll of %s", source.id)
        return _store_failed(db, source, record, exc)
    for warning in collected.warnings:
        event(log, "entry_warning", logging.WARNING, source=source.id, warning=warning)
    event(
        log,
        "poll",
        logging.INFO if succeeded else logging.WARNING,
        source=source.id,
        outcome=collected.outcome,
        status=record.http_status,
        new=counts.new,
        updated=counts.updated,
        ms=record.duration_ms,
        error=record.error or "",
    )
    return PollReport(
        source_id=source.id,
        outcome=collected.outcome,
        http_status=record.http_status,
        seen=counts.seen,
        new=counts.new,
        updated=counts.updated,
        linked=counts.linked,
        duration_ms=record.duration_ms,
        error=record.error,
        warnings=list(collected.warnings),
        next_check_at=record.next_check_at,
        changed=stored,
    )


def _store_failed(
    db: sqlite_utils.Database, source: Source, record: FetchRecord, exc: Exception
) -> PollReport:
    error = f"could not store: {type(exc).__name__}: {exc}"
    failed = FetchRecord(**{**record.__dict__, "outcome": "store_error", "error": error})
    try:
        with write_transaction(db):
            record_fetch(db, failed, StoreCounts(), succeeded=False)
    except Exception:
        log.exception("could not record the failure of %s", source.id)
    return PollReport(
        source_id=source.id,
        outcome="store_error",
        error=error,
        next_check_at=record.next_check_at,
    )
