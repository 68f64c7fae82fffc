"""Per-host request limits shared by every worker thread: how many at once, how many per second.

A host's limit is the strictest one configured by any source on that host (``rate_limit``,
``concurrency``), else the ``[settings]`` defaults; SEC hosts are capped at 10 requests/s
whatever the config says, because SEC blocks clients that go faster.
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


def _ceiling(host: str) -> float | None:
    for suffix, rate in HOST_CEILINGS.items():
        if host == suffix or host.endswith("." + suffix):
            return rate
    return None


def host_limits(settings: Settings, sources: Iterable[Source]) -> dict[str, HostLimit]:
    """The limit per host: the strictest source setting on that host, capped by HOST_CEILINGS."""
    limits: dict[str, HostLimit] = {}
    for source in sources:
        host = source.host
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

    def _slot(self, host: str) -> _HostSlot:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                limit = self._limits.get(host, self._default)
                if (ceiling := _ceiling(host)) is not None and limit.rate > ceiling:
                    limit = HostLimit(rate=ceiling, concurrency=limit.concurrency)
                slot = self._slots[host] = _HostSlot(limit)
            return slot

    @contextmanager
    def request(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a request."""
        slot = self._slot(host.lower())
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
