"""Per-host request limits shared by every worker thread: how many at once, how many per second.

A host's limit is the strictest one configured by any source on that host (``rate_limit``,
``concurrency``), else the ``[settings]`` defaults. Some operators limit a whole domain:
SEC allows 10 requests/s per client across www.sec.gov and data.sec.gov together, so those
hosts share one budget (a *rate domain*) capped at 10/s whatever the config says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from signals.config import Settings, Source

#: Hosts whose operators publish a hard limit; the config can go lower, never higher.
HOST_CEILINGS = {"sec.gov": 10.0}


@dataclass
class HostLimit:
    rate: float  # requests per second
    concurrency: int


def rate_domain(host: str) -> str:
    """The key requests are limited by: the operator's domain where it limits all its hosts."""
    host = host.lower()
    for suffix in HOST_CEILINGS:
        if host == suffix or host.endswith("." + suffix):
            return suffix
    return host


def _ceiling(domain: str) -> float | None:
    return HOST_CEILINGS.get(domain)


def host_limits(settings: Settings, sources: Iterable[Source]) -> dict[str, HostLimit]:
    """The limit per rate domain: the strictest source setting there, capped by HOST_CEILINGS."""
    limits: dict[str, HostLimit] = {}
    for source in sources:
        host = rate_domain(source.host)
        rate = source.rate_limit if source.rate_limit is not None else settings.host_rate
        concurrency = source.concurrency or settings.host_concurrency
        if host in limits:
            current = limits[host]
            rate = min(rate, current.rate) if source.rate_limit is not None else current.rate
            concurrency = min(concurrency, current.concurrency)
        limits[host] = HostLimit(rate=rate, concurrency=concurrency)
    for host, limit in limits.items():
        if (ceiling := _ceiling(host)) is not None:
            limit.rate = min(limit.rate, ceiling)
    return limits


class _HostSlot:
    def __init__(self, limit: HostLimit):
        self.interval = 1.0 / limit.rate
        self.semaphore = threading.BoundedSemaphore(limit.concurrency)
        self.lock = threading.Lock()
        self.next_start = 0.0


class HostLimiter:
    """Blocks a request until its host has a free slot and the rate allows another start."""

    def __init__(
        self,
        limits: dict[str, HostLimit],
        default: HostLimit,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._limits = limits
        self._default = default
        self._slots: dict[str, _HostSlot] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._blocked: dict[str, float] = {}

    def block(self, host: str, seconds: float) -> None:
        """The host answered 429/503 with Retry-After: ask nothing more of it until then."""
        with self._lock:
            domain = rate_domain(host)
            until = self._clock() + seconds
            self._blocked[domain] = max(until, self._blocked.get(domain, 0.0))

    def blocked_for(self, host: str) -> float | None:
        """Seconds the host (its rate domain) still asked us to wait, or None."""
        with self._lock:
            until = self._blocked.get(rate_domain(host))
        remaining = until - self._clock() if until is not None else 0.0
        return remaining if remaining > 0 else None

    def _slot(self, host: str) -> _HostSlot:
        domain = rate_domain(host)
        with self._lock:
            slot = self._slots.get(domain)
            if slot is None:
                limit = self._limits.get(domain, self._default)
                if (ceiling := _ceiling(domain)) is not None and limit.rate > ceiling:
                    limit = HostLimit(rate=ceiling, concurrency=limit.concurrency)
                slot = self._slots[domain] = _HostSlot(limit)
            return slot

    @contextmanager
    def request(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a request."""
        slot = self._slot(host)
        slot.semaphore.acquire()
        try:
            with slot.lock:
                now = self._clock()
                start = max(now, slot.next_start)
                slot.next_start = start + slot.interval
            if start > now:
                self._sleep(start - now)
            yield
        finally:
            slot.semaphore.release()
