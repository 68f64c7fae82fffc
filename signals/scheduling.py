"""When to check a source next. Pure functions of the outcome, the source's history and now.

After success: ``every`` plus a little jitter so sources on one schedule spread out.
After a failure: exponential backoff from ``every``, capped by ``backoff_max``, never
giving up: a broken source is retried at least every ``backoff_max`` for as long as it is
configured. A ``Retry-After`` from the server is a floor under both; a
``Cache-Control: max-age`` is a floor (capped) after success.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

#: The longest a server's freshness lifetime may delay a source beyond its ``every``.
FRESHNESS_CAP = timedelta(hours=2)

_JITTER = random.Random()  # seeding a new one per call reads os.urandom each time


def next_check(
    now: datetime,
    every: timedelta,
    *,
    succeeded: bool,
    failures: int,
    backoff_max: timedelta,
    jitter: float = 0.1,
    retry_after_s: float | None = None,
    fresh_for_s: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The next time the source is due.

    ``failures`` counts consecutive failures including this one (0 after a success).
    ``fresh_for_s`` (the server's ``Cache-Control: max-age``) delays a successful source's
    next check up to ``FRESHNESS_CAP``: asking again sooner would only get the same
    cached answer, while a cap keeps a long-lived cache header from hiding news for a day.
    """
    rng = rng or _JITTER
    if succeeded:
        wait = every
    else:
        exponent = min(max(failures - 1, 0), 30)
        wait = min(every * (2**exponent), max(backoff_max, every))
    wait += wait * (jitter * rng.random())
    if succeeded and fresh_for_s:
        wait = max(wait, min(timedelta(seconds=fresh_for_s), FRESHNESS_CAP))
    if retry_after_s is not None:
        wait = max(wait, timedelta(seconds=retry_after_s))
    return now + wait
