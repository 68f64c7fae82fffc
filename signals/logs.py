"""Structured log events with a fixed vocabulary: ``poll source=x outcome=ok new=3``.

Records carry ``event`` and ``fields`` attributes so tests assert on data, not on text.
Nothing here ever logs request headers or credentials.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``name`` followed by ``key=value`` pairs in the order given."""
    if not logger.isEnabledFor(level):
        return
    rendered = " ".join(f"{key}={_render(value)}" for key, value in fields.items())
    logger.log(
        level, "%s %s", name, rendered, extra={"event": name, "fields": fields}, stacklevel=2
    )


def _render(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() for c in text) or '"' in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def quiet_polls(verbosity: int) -> None:
    """In an interactive poll the summary table reports each source; skip the log lines."""
    if verbosity <= 0:
        logging.getLogger("signals.poll").setLevel(logging.ERROR)


def configure(verbosity: int) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("signals")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("signals.poll").setLevel(logging.NOTSET)
    if verbosity < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
