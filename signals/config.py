"""Load and validate ``sources.toml`` into typed, immutable settings and sources.

Every problem in the file is collected and reported at once, one per line, in the form
``sources.toml: source "x": key: problem``; the caller gets a ``ConfigError`` and exits 2.
Kind-specific keys (``[source.select]``, ``[source.fields]``, ...) are checked by the kind
itself through the ``SOURCE_KINDS`` registry, so a new kind brings its own validation.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from signals import __version__
from signals.errors import ConfigError
from signals.model import CATEGORY_IDS
from signals.units import parse_duration, parse_rate, parse_size

SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
DEFAULT_USER_AGENT = f"signals/{__version__} (+https://github.com/signals-monitor/signals)"
MIN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Setting:
    """One ``[settings]`` key: its default, how to parse it, and what it is for."""

    default: Any
    parse: Callable[[Any], Any]
    help: str


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return value


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number of at least 0, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _seconds(value: Any) -> float:
    seconds = parse_duration(value).total_seconds()
    if seconds <= 0:
        raise ValueError(f"expected a duration above zero, got {value!r}")
    return seconds


def _retention(value: Any) -> timedelta | None:
    if value in ("", "forever", None):
        return None
    kept = parse_duration(value)
    if kept < timedelta(days=1):  # "30m" here is a typo for days, and would empty the archive
        raise ValueError(f"expected a duration of at least 1d (e.g. '365d'), got {value!r}")
    return kept


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"expected a number from 0 to 1 (e.g. 0.1), got {value!r}")
    return float(value)


def _timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. 'Europe/Berlin')") from None
    return str(value).strip()


#: Every ``[settings]`` key, declared once with its default and help (datasette style).
SETTINGS: dict[str, Setting] = {
    "database": Setting("signals.db", _text, "archive file, relative to sources.toml"),
    "outbox": Setting("outbox", _text, "folder for digests when no channel is configured"),
    "user_agent": Setting(
        DEFAULT_USER_AGENT, _text, "User-Agent for every request; include a contact address"
    ),
    "timezone": Setting("UTC", _timezone, "IANA zone for display and date-only sources"),
    "workers": Setting(8, _positive_int, "sources fetched at the same time"),
    "connect_timeout": Setting(10.0, _seconds, "seconds to open a connection"),
    "read_timeout": Setting(30.0, _seconds, "seconds to wait for the next bytes"),
    "total_timeout": Setting(120.0, _seconds, "seconds a whole response may take"),
    "max_bytes": Setting(20_000_000, parse_size, "largest body accepted, after decompression"),
    "max_redirects": Setting(5, _non_negative_int, "redirects followed per request"),
    "retries": Setting(1, _non_negative_int, "immediate retries of a refused or reset connection"),
    "backoff_max": Setting(
        timedelta(hours=6), parse_duration, "longest wait between checks of a failing source"
    ),
    "host_rate": Setting(1.0, parse_rate, "default requests per second to one host"),
    "host_concurrency": Setting(2, _positive_int, "default requests in flight to one host"),
    "jitter": Setting(0.1, _fraction, "fraction of `every` added at random to spread checks"),
    "keep_items_for": Setting(
        None, _retention, "delete items first seen and published longer ago; empty keeps all"
    ),
}

COMMON_SOURCE_KEYS = frozenset(
    {
        "id",
        "name",
        "kind",
        "url",
        "every",
        "hint",
        "enabled",
        "headers",
        "rate_limit",
        "concurrency",
        "max_bytes",
        "timeout",
    }
)


@dataclass(frozen=True)
class Settings:
    """Validated ``[settings]``; paths are absolute."""

    database: Path
    outbox: Path
    user_agent: str
    timezone: str
    workers: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_bytes: int
    max_redirects: int
    retries: int
    backoff_max: timedelta
    host_rate: float
    host_concurrency: int
    jitter: float
    keep_items_for: timedelta | None


@dataclass(frozen=True)
class Source:
    """One validated ``[[source]]`` table. ``options`` holds the kind-specific keys."""

    id: str
    kind: str
    url: str
    every: timedelta
    name: str = ""
    hint: tuple[str, ...] = ()
    enabled: bool = True
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rate_limit: float | None = None
    concurrency: int | None = None
    max_bytes: int | None = None
    timeout: float | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


@dataclass(frozen=True)
class Config:
    """The whole of ``sources.toml``: where it came from, settings, and sources in file order."""

    path: Path
    settings: Settings
    sources: tuple[Source, ...]

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)


class _Problems:
    """Collects problems so the user sees all of them in one run."""

    def __init__(self, filename: str):
        self.filename = filename
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{self.filename}: {where}: {problem}")


def load_config(path: str | os.PathLike[str], db_override: str | None = None) -> Config:
    """Read and validate a sources file; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file (pass --sources or set SIGNALS_SOURCES)"]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{name}: invalid TOML: {exc}"]) from None
    return parse_config(raw, path, db_override=db_override)


def parse_config(raw: Mapping[str, Any], path: Path, db_override: str | None = None) -> Config:
    """Validate an already-parsed TOML document (separate so tests can feed dicts)."""
    problems = _Problems(path.name)
    for key in raw:
        if key not in ("settings", "source"):
            problems.add(key, "unknown top-level table (expected [settings] and [[source]])")
    settings = _parse_settings(raw.get("settings", {}), path, problems, db_override)
    source_tables = raw.get("source", [])
    if not isinstance(source_tables, list):
        problems.add("source", "must be an array of tables: write [[source]], not [source]")
        source_tables = []
    sources: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(source_tables, start=1):
        source = _parse_source(table, index, settings, problems)
        if source is None:
            continue
        if source.id in seen:
            problems.add(f'source "{source.id}"', "id: used by more than one source")
        seen.add(source.id)
        sources.append(source)
    if problems.items:
        raise ConfigError(problems.items)
    return Config(path=path.resolve(), settings=settings, sources=tuple(sources))


def _parse_settings(
    table: Any, path: Path, problems: _Problems, db_override: str | None
) -> Settings:
    if not isinstance(table, Mapping):
        problems.add("settings", "must be a table")
        table = {}
    values: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        if key in table:
            try:
                values[key] = setting.parse(table[key])
            except ValueError as exc:
                problems.add(f"settings.{key}", str(exc))
                values[key] = setting.default
        else:
            values[key] = setting.default
    for key in table:
        if key not in SETTINGS:
            known = ", ".join(sorted(SETTINGS))
            problems.add(f"settings.{key}", f"unknown setting (known: {known})")
    if env_agent := os.environ.get("SIGNALS_USER_AGENT"):
        values["user_agent"] = env_agent
    base = path.resolve().parent
    database = db_override or values["database"]
    values["database"] = Path(database) if Path(database).is_absolute() else base / database
    values["outbox"] = base / values["outbox"]
    return Settings(**values)


def _parse_source(table: Any, index: int, settings: Settings, problems: _Problems) -> Source | None:
    from signals.sources import SOURCE_KINDS

    if not isinstance(table, Mapping):
        problems.add(f"source #{index}", "must be a table")
        return None
    source_id = table.get("id")
    if not isinstance(source_id, str) or not SOURCE_ID.match(source_id):
        where = f"source #{index}"
        problems.add(
            where,
            f"id: expected lower-case letters, digits, '.', '_' or '-' (got {source_id!r})",
        )
        source_id = f"#{index}"
    where = f'source "{source_id}"'
    count = len(problems.items)

    kind_name = table.get("kind", "feed")
    kind = SOURCE_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        problems.add(where, f"kind: unknown kind {kind_name!r} (known: {', '.join(SOURCE_KINDS)})")

    url = table.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(where, f"url: expected an absolute http(s) URL, got {url!r}")

    every = timedelta(minutes=30)
    try:
        every = parse_duration(table.get("every", "30m"))
        if every < MIN_EVERY:
            problems.add(where, "every: polling more often than once a minute is not polite")
    except ValueError as exc:
        problems.add(where, f"every: {exc}")

    hint = table.get("hint", [])
    if isinstance(hint, str):
        hint = [hint]
    if not isinstance(hint, list) or not all(isinstance(h, str) for h in hint):
        problems.add(where, "hint: expected a list of category ids")
        hint = []
    for category in hint:
        if category not in CATEGORY_IDS:
            problems.add(
                where, f"hint: unknown category {category!r} (known: {', '.join(CATEGORY_IDS)})"
            )

    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add(where, f"enabled: expected true or false, got {enabled!r}")

    headers = table.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        problems.add(where, 'headers: expected a table of header = "value" strings')
        headers = {}

    limits: dict[str, Any] = {}
    for key, parse in (
        ("rate_limit", parse_rate),
        ("concurrency", _positive_int),
        ("max_bytes", parse_size),
        ("timeout", _seconds),
    ):
        if key in table:
            try:
                limits[key] = parse(table[key])
            except ValueError as exc:
                problems.add(where, f"{key}: {exc}")

    allowed = COMMON_SOURCE_KEYS | (kind.option_keys if kind else frozenset())
    for key in table:
        if key not in allowed:
            problems.add(where, f"{key}: unknown key for kind {kind_name!r}")
    options = {k: v for k, v in table.items() if k not in COMMON_SOURCE_KEYS}
    if kind is not None:
        for key, problem in kind.validate(options):
            problems.add(where, f"{key}: {problem}")

    host = (parts.hostname or "").lower() if parts else ""
    if host.endswith("sec.gov") and not EMAIL.search(settings.user_agent):
        problems.add(
            where,
            "url: SEC requires a User-Agent with a contact e-mail address; "
            "set settings.user_agent (or SIGNALS_USER_AGENT)",
        )

    if len(problems.items) > count:
        return None
    return Source(
        id=source_id,
        kind=str(kind_name),
        url=str(url),
        every=every,
        name=str(table.get("name", "")) or source_id,
        hint=tuple(hint),
        enabled=bool(enabled),
        headers=MappingProxyType(dict(headers)),
        options=MappingProxyType(options),
        **limits,
    )
