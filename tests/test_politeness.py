from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signals.config import load_config
from signals.politeness import HostLimit, HostLimiter, host_limits
from signals.scheduling import next_check
from tests.conftest import write_sources


def test_the_strictest_source_setting_wins_and_sec_is_capped(tmp_path: Path) -> None:
    path = write_sources(
        tmp_path,
        [
            {"id": "a", "url": "https://data.sec.gov/a", "rate_limit": "50/s"},
            {"id": "b", "url": "https://data.sec.gov/b", "rate_limit": "5/s", "concurrency": 1},
            {"id": "c", "url": "https://example.org/c"},
        ],
        host_rate="2/s",
        host_concurrency=3,
    )
    limits = host_limits(load_config(path).settings, load_config(path).sources)
    assert limits["sec.gov"] == HostLimit(rate=5.0, concurrency=1)
    assert limits["example.org"] == HostLimit(rate=2.0, concurrency=3)
    path = write_sources(
        tmp_path,
        [
            {"id": "a", "url": "https://www.sec.gov/x", "rate_limit": "50/s"},
            {"id": "b", "url": "https://data.sec.gov/y", "rate_limit": "50/s"},
        ],
    )
    config = load_config(path)
    assert host_limits(config.settings, config.sources) == {
        "sec.gov": HostLimit(rate=10.0, concurrency=8)
    }


def test_all_sec_hosts_share_one_ten_per_second_budget() -> None:
    now = [0.0]
    starts: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = HostLimiter(
        {}, HostLimit(rate=1000.0, concurrency=4), clock=lambda: now[0], sleep=sleep
    )
    for host in ["www.sec.gov", "data.sec.gov", "efts.sec.gov"] * 10:
        with limiter.request(host):
            starts.append(now[0])
    # 30 requests over three SEC hosts: never more than 10 starts in any one second
    assert max(sum(1 for s in starts if t <= s < t + 0.999) for t in starts) == 10


def test_limiter_spaces_starts_and_bounds_concurrency() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = HostLimiter(
        {"h": HostLimit(rate=2.0, concurrency=1)},
        HostLimit(1.0, 1),
        clock=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(3):
        with limiter.request("h"):
            pass
    assert slept == [0.5, 0.5]

    limiter = HostLimiter({}, HostLimit(rate=1000.0, concurrency=2))
    inside = 0
    peak = 0
    lock = threading.Lock()
    gate = threading.Event()

    def worker() -> None:
        nonlocal inside, peak
        with limiter.request("other"):
            with lock:
                inside += 1
                peak = max(peak, inside)
            gate.wait(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_next_check_backs_off_caps_and_honours_retry_after() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    rng = random.Random(1)
    every = timedelta(minutes=30)
    kwargs = {"backoff_max": timedelta(hours=6), "jitter": 0.0, "rng": rng}
    assert next_check(now, every, succeeded=True, failures=0, **kwargs) == now + every
    waits = [
        next_check(now, every, succeeded=False, failures=n, **kwargs) - now for n in range(1, 7)
    ]
    assert waits == [timedelta(minutes=m) for m in (30, 60, 120, 240, 360, 360)]
    later = next_check(now, every, succeeded=False, failures=1, retry_after_s=7200, **kwargs)
    assert later == now + timedelta(hours=2)
    jittered = next_check(
        now, every, succeeded=True, failures=0, backoff_max=timedelta(hours=6), jitter=0.1, rng=rng
    )
    assert now + every <= jittered <= now + every * 1.1
