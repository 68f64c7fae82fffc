"""When to check a source next. Pure functions of the outcome, the source's history and now.

After success: ``every`` plus a little jitter so sources on one schedule spread out.
After a failure: exponential backoff from ``every``, capped by ``backoff_max``, never
giving up: a broken source is retried at least every ``backoff_max`` for as long as it is
configured. A ``Retry-After`` from the server is a floor under both.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_check(
    now: datetime,
    every: timedelta,
    *,
    succeeded: bool,
    failures: int,
    backoff_max: timedelta,
    jitter: float = 0.1,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The next time the source is due.

    ``failures`` counts consecutive failures including this one (0 after a success).
    """
    rng = rng or random.Random()
    if succeeded:
        wait = every
    else:
        exponent = min(max(failures - 1, 0), 30)
        wait = min(every * (2**exponent), max(backoff_max, every))
    wait += wait * (jitter * rng.random())
    if retry_after_s is not None:
        wait = max(wait, timedelta(seconds=retry_after_s))
    return now + wait
