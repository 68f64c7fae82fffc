"""``signals sources check``: what each source would yield now, without writing anything.

For people writing a new ``[[source]]``: every named source (or every enabled one) is
fetched once, unconditionally (no ETag, so the answer is never an empty 304), parsed and
normalized exactly as a poll would, and the result is reported: the named outcome, how
many entries, how many the archive does not hold yet, the first titles and every warning.
Nothing is written, and no archive is needed (without one, every entry counts as new).
Kinds do not follow further pages or article links here unless ``follow`` is asked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

from signals.config import Config, Source
from signals.errors import UsageError
from signals.fetch import Fetcher
from signals.model import Fetched, NotModified
from signals.politeness import HostLimit, HostLimiter, host_limits
from signals.poll import SUCCESS, Collected, collect, fetch_source, request_for
from signals.redact import redact_url, redact_urls

SAMPLE_TITLES = 5


@dataclass
class CheckReport:
    source_id: str
    kind: str
    url: str
    outcome: str
    http_status: int | None = None
    duration_ms: int = 0
    bytes: int | None = None
    entries: int = 0
    new: int = 0
    titles: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in SUCCESS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chosen_sources(config: Config, source_ids: Sequence[str]) -> list[Source]:
    """The named sources (even disabled ones: you may be writing one), else every enabled one."""
    if not source_ids:
        return [s for s in config.sources if s.enabled]
    unknown = [sid for sid in source_ids if config.source(sid) is None]
    if unknown:
        known = ", ".join(s.id for s in config.sources)
        raise UsageError(f"unknown source {', '.join(unknown)} (known: {known})")
    return [s for s in config.sources if s.id in set(source_ids)]


def check_sources(
    config: Config,
    sources: Sequence[Source],
    known_keys: Mapping[str, set[str]],
    *,
    deferred: Mapping[str, str] | None = None,
    follow: bool = False,
    on_report: Callable[[CheckReport], None] | None = None,
) -> list[CheckReport]:
    """Fetch and parse each source once; report what a poll would store. Writes nothing."""
    settings = config.settings
    limiter = HostLimiter(
        host_limits(settings, config.sources),
        HostLimit(rate=settings.host_rate, concurrency=settings.host_concurrency),
    )
    reports: dict[str, CheckReport] = {}
    deferred = deferred or {}
    for source in sources:
        if source.id in deferred:  # Retry-After binds a check as much as a poll
            reports[source.id] = CheckReport(
                source_id=source.id,
                kind=source.kind,
                url=redact_url(source.url),
                outcome="deferred",
                error=f"server asked to wait (Retry-After) until {deferred[source.id]}",
            )
            if on_report:
                on_report(reports[source.id])
    with Fetcher(settings, limiter) as fetcher, ThreadPoolExecutor(settings.workers) as pool:
        futures = {
            pool.submit(fetch_source, fetcher, request_for(source, None, conditional=False)): source
            for source in sources
            if source.id not in deferred
        }
        for future in as_completed(futures):
            source = futures[future]
            known = set(known_keys.get(source.id, set()))
            collected = collect(
                source,
                future.result(),
                fetcher,
                functools.partial(set, known),
                settings,
                preview=not follow,
            )
            report = _report(source, collected, known)
            reports[source.id] = report
            if on_report:
                on_report(report)
    return [reports[source.id] for source in sources]


def _report(source: Source, collected: Collected, known: set[str]) -> CheckReport:
    result = collected.result
    report = CheckReport(
        source_id=source.id,
        kind=source.kind,
        url=redact_url(source.url),
        outcome=collected.outcome,
        http_status=getattr(result, "status", None),
        duration_ms=getattr(result, "duration_ms", 0),
        bytes=len(result.body) if isinstance(result, Fetched) else None,
        entries=len(collected.items),
        new=sum(1 for item in collected.items if item.entry_key not in known),
        titles=[item.title for item in collected.items[:SAMPLE_TITLES]],
        warnings=[redact_urls(w) for w in collected.warnings],
        error=redact_urls(collected.error) if collected.error else None,
    )
    if isinstance(result, NotModified):  # cannot happen without validators; say so
        report.error = "server answered 304 to an unconditional request"
    return report
