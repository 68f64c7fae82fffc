"""Parsing of the human-sized values used in config files: durations, byte sizes and rates.

Every parser raises ValueError with a message that can be shown to the user as is, so the
config validator can prefix it with the file and key.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*(s|sec|m|min|h)\s*$", re.IGNORECASE)
_RATE_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str | int | float) -> timedelta:
    """Parse "90s", "30m", "1h30m", "7d" (or a number of seconds) into a timedelta."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as '30m', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, got {text!r}")
        return timedelta(seconds=text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as '30m', got {text!r}")
    compact = text.replace(" ", "")
    parts = list(_DURATION_PART.finditer(compact))
    if not parts or "".join(p.group(0) for p in parts) != compact:
        raise ValueError(f"expected a duration such as '30m', '6h' or '7d', got {text!r}")
    seconds = sum(float(p.group(1)) * _DURATION_SECONDS[p.group(2).lower()] for p in parts)
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a timedelta compactly ("2h", "1d6h", "45s"), the inverse of parse_duration."""
    seconds = round(delta.total_seconds())
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + "".join(out)


def parse_size(text: str | int) -> int:
    """Parse "10MB", "512KiB" or a plain number of bytes."""
    if isinstance(text, bool):
        raise ValueError(f"expected a size such as '10MB', got {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"a size must be positive, got {text!r}")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"expected a size such as '10MB' or '512KiB', got {text!r}")
    value = float(match.group(1)) * _SIZE_FACTOR[(match.group(2) or "b").lower()]
    if value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return int(value)


def parse_rate(text: str) -> float:
    """Parse a request rate such as "10/s", "1/5s" or "30/min" into requests per second."""
    match = _RATE.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected a rate such as '10/s', '1/5s' or '30/min', got {text!r}")
    count = float(match.group(1))
    per = float(match.group(2) or 1) * _RATE_SECONDS[match.group(3).lower()]
    if count <= 0 or per <= 0:
        raise ValueError(f"a rate must be positive, got {text!r}")
    return count / per
