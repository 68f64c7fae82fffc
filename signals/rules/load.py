"""Read the ``rules/`` folder into validated ``Rule`` objects, every problem listed at once.

One rule per TOML file; the file name (without ``.toml``) is the rule id.
``categories.toml`` is the tagger's taxonomy, not a rule, and is skipped. Problems read
``rules/x.toml: key.path: what is wrong``. A broken file never hides the good ones: the
caller gets both and decides (``signals rules check`` exits 2; the daemon runs the good
rules and logs the rest).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from signals.errors import ConfigError, UsageError
from signals.model import CATEGORY_IDS
from signals.rules.model import (
    ACTIONS,
    DIGEST,
    FACT_KINDS,
    Conditions,
    DigestSpec,
    FactCondition,
    Rule,
)
from signals.rules.schedule import Schedule
from signals.units import format_duration, parse_duration

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENTITY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TAXONOMY_FILE = "categories.toml"
SINCE_PREVIOUS = "since_previous"

TOP_KEYS = {
    "title",
    "description",
    "type",
    "action",
    "when",
    "digest",
    "notify",
    "realert",
    "max_age",
}
WHEN_KEYS = {
    "categories",
    "min_score",
    "terms",
    "exclude_terms",
    "entities",
    "sources",
    "source_kinds",
    "facts",
    "any",
}
DIGEST_KEYS = {"schedule", "timezone", "window", "per_category", "compare_previous", "upcoming"}
FACT_KEYS = {"kind", "min", "max", "unit", "text"}
DEFAULT_MAX_AGE = {"alert": timedelta(days=3), "digest": timedelta(days=14)}


@dataclass(frozen=True)
class RuleSet:
    """The valid rules of a folder, and every problem found in the others."""

    folder: Path
    rules: tuple[Rule, ...] = ()
    problems: tuple[str, ...] = ()
    broken: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule id -> problems

    def ids(self) -> list[str]:
        return sorted({r.id for r in self.rules} | set(self.broken))

    def get(self, rule_id: str) -> Rule:
        """The rule named ``rule_id``; its own problems (not others') raise ConfigError."""
        if rule_id in self.broken:
            raise ConfigError(self.broken[rule_id])
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(self.ids()) or "none"
        raise UsageError(f"unknown rule {rule_id!r} in {self.folder} (known: {known})")

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


class _Problems:
    def __init__(self, label: str):
        self.label = label
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{self.label}: {where}: {problem}")


def rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.toml") if p.name != TAXONOMY_FILE and p.is_file())


def load_rules(
    folder: str | Path,
    *,
    known_sources: Collection[str] | None = None,
    required: bool = False,
    retention: timedelta | None = None,
) -> RuleSet:
    """Every rule file in ``folder``; a missing folder means no rules (an error if required).

    ``known_sources`` (ids in sources.toml) and ``retention`` (``keep_items_for``) are
    checked against when given.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if required:
            raise ConfigError([f"{folder}: no such folder (pass --rules or set SIGNALS_RULES)"])
        return RuleSet(folder=folder)
    rules: list[Rule] = []
    problems: list[str] = []
    broken: dict[str, tuple[str, ...]] = {}
    for path in rule_files(folder):
        found = _Problems(f"{folder.name}/{path.name}")
        rule = load_rule(path, found, known_sources, retention)
        if found.items:
            problems += found.items
            broken[path.stem] = tuple(found.items)
        elif rule is not None:
            rules.append(rule)
    return RuleSet(folder=folder, rules=tuple(rules), problems=tuple(problems), broken=broken)


def load_rule(
    path: Path,
    problems: _Problems,
    known_sources: Collection[str] | None = None,
    retention: timedelta | None = None,
) -> Rule | None:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.items.append(
            f"{problems.label}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        )
        return None
    except tomllib.TOMLDecodeError as exc:
        problems.items.append(f"{problems.label}: invalid TOML: {exc}")
        return None
    return parse_rule(raw, path, problems, known_sources, retention)


def parse_rule(
    raw: Mapping[str, Any],
    path: Path,
    problems: _Problems,
    known_sources: Collection[str] | None = None,
    retention: timedelta | None = None,
) -> Rule | None:
    """Validate one parsed rule file; problems go to ``problems``; None if any."""
    from signals.channels import CHANNELS
    from signals.rules.types import RULE_TYPES

    add = problems.add
    if not RULE_ID.match(path.stem):
        add(
            "file name",
            "a rule id is lower-case letters, digits, '.', '_' or '-' (rename the file)",
        )
    type_tables = {t.table for t in RULE_TYPES.values() if t.table}
    for key in raw:
        if key not in TOP_KEYS | type_tables:
            known = ", ".join(sorted(TOP_KEYS | type_tables))
            add(key, f"unknown key (known: {known})")

    type_name = raw.get("type", "match")
    rule_type = RULE_TYPES.get(type_name) if isinstance(type_name, str) else None
    if rule_type is None:
        add("type", f"unknown rule type {type_name!r} (known: {', '.join(RULE_TYPES)})")

    action = raw.get("action")
    if action is None:
        add("action", 'required: "alert" (send as soon as found) or "digest" (on a schedule)')
    elif action not in ACTIONS:
        add("action", f'expected "alert" or "digest", got {action!r}')
    elif rule_type is not None and action not in rule_type.actions:
        add(
            "action",
            f'a {type_name} rule can only alert (action = "alert"); digests collect'
            ' the items of a type = "match" rule',
        )

    for other in RULE_TYPES.values():
        if other.table and other.table in raw and other is not rule_type:
            add(other.table, f'only for type = "{other.name}"')
    options = None
    if rule_type is not None:
        table = raw.get(rule_type.table, {}) if rule_type.table else {}
        if not isinstance(table, Mapping):
            add(str(rule_type.table), "must be a table")
            table = {}
        options = rule_type.parse(table, add)

    title = raw.get("title", path.stem)
    if not isinstance(title, str) or not title.strip():
        add("title", f"expected a non-empty text, got {title!r}")
        title = path.stem
    description = raw.get("description", "")
    if not isinstance(description, str):
        add("description", f"expected a text, got {description!r}")
        description = ""

    when_table = raw.get("when", {})
    if not isinstance(when_table, Mapping):
        add("when", "must be a table ([when])")
        when_table = {}
    when = _conditions(when_table, "when", add, known_sources, nested=False)
    if type_name == "flatline" and getattr(options, "by", "") == "source":
        for key in (
            "categories",
            "terms",
            "exclude_terms",
            "entities",
            "facts",
            "any",
            "min_score",
        ):
            if key in when_table:
                add(
                    f"when.{key}",
                    "a flatline by source watches whole sources; only when.sources and"
                    " when.source_kinds apply",
                )

    digest = None
    if "digest" in raw and action != DIGEST:
        add("digest", 'only for action = "digest"')
    if action == DIGEST:
        table = raw.get("digest")
        if not isinstance(table, Mapping):
            add("digest", 'required for action = "digest": schedule, timezone and window')
        else:
            digest = _digest(table, add)

    realert = None
    if "realert" in raw:
        if action == DIGEST:
            add("realert", "only for alerts (a digest goes out once per window)")
        else:
            realert = _duration(raw["realert"], "realert", add)
    max_age = _duration(raw["max_age"], "max_age", add) if "max_age" in raw else None

    notify_table = raw.get("notify")
    notify: list[tuple[str, Any]] = []
    if not isinstance(notify_table, Mapping) or not notify_table:
        add("notify", "required: at least one of [notify.slack], [notify.email], [notify.outbox]")
    else:
        for name, block in notify_table.items():
            channel = CHANNELS.get(name)
            if channel is None:
                add(f"notify.{name}", f"unknown channel (known: {', '.join(CHANNELS)})")
                continue
            if not isinstance(block, Mapping):
                add(f"notify.{name}", f"must be a table ([notify.{name}])")
                continue
            target = channel.parse(block, add)
            if target is not None:
                notify.append((name, target))

    if retention is not None:
        _check_retention(retention, digest, options, type_name, add)

    if problems.items or rule_type is None or not isinstance(action, str):
        return None
    return Rule(
        id=path.stem,
        path=path,
        title=title.strip(),
        description=description.strip(),
        type=rule_type.name,
        action=action,
        when=when,
        notify=tuple(notify),
        options=options,
        digest=digest,
        realert=realert if realert is not None else rule_type.default_realert,
        max_age=max_age if max_age is not None else DEFAULT_MAX_AGE[action],
    )


def _check_retention(
    retention: timedelta, digest: DigestSpec | None, options: Any, type_name: Any, add: Any
) -> None:
    """A rule that needs items older than ``keep_items_for`` would read deleted data."""
    kept = f"keep_items_for ({format_duration(retention)} in sources.toml [settings])"
    window = digest.window if digest is not None else None
    if digest is not None and window is None:
        window = _longest_gap(digest)  # since_previous: as long as the gap between fires
    if digest is not None and window is not None:
        if window > retention:
            length = format_duration(window)
            said = length if digest.window else f'"{SINCE_PREVIOUS}" spans up to {length}, which'
            add(
                "digest.window",
                f"{said} is longer than {kept}: its items would be"
                " deleted before the digest goes out",
            )
        elif digest.compare_previous and window * 2 > retention:
            add(
                "digest.compare_previous",
                f"needs the previous window too ({format_duration(window * 2)} of"
                f" items), longer than {kept}",
            )
    if type_name == "spike" and options is not None:
        span = options.window + options.baseline
        if span > retention:
            add(
                "spike.baseline",
                f"window and baseline need {format_duration(span)} of items, longer than {kept}",
            )
    by_category = type_name == "flatline" and options is not None and options.by == "category"
    if by_category and options.lookback > retention:
        add(
            "flatline.lookback",
            f"{format_duration(options.lookback)} is longer than {kept}: the cadence would"
            " be judged on deleted items",
        )


def _longest_gap(digest: DigestSpec, fires: int = 24) -> timedelta | None:
    """The longest time between consecutive fires of the schedule (over a sample)."""
    from datetime import UTC, datetime

    try:
        schedule = Schedule(digest.schedule, digest.timezone)
        found: list[datetime] = []
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        for _ in range(fires):
            following = schedule.next_after(moment)
            if following is None:
                break
            found.append(following)
            moment = following
    except (ValueError, KeyError):
        return None  # an invalid schedule or timezone, reported on its own
    gaps = [b - a for a, b in pairwise(found)]
    return max(gaps, default=None)


def _duration(raw: Any, where: str, add: Any) -> timedelta | None:
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        add(where, str(exc))
        return None
    if value <= timedelta(0):
        add(where, f"expected a duration above zero, got {raw!r}")
        return None
    return value


def _strings(table: Mapping[str, Any], key: str, where: str, add: Any) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        add(f"{where}.{key}", f"expected a list of non-empty strings, got {value!r}")
        return ()
    if key in table and not value:
        # `categories = []` reads as "none" but would mean "any": say so, do not guess.
        hint = (
            "name at least one category, or leave the key out for all six"
            if key == "categories"
            else "give at least one entry, or leave the key out"
        )
        add(f"{where}.{key}", f"an empty list; {hint}")
    return tuple(v.strip() for v in value)


def _conditions(
    table: Mapping[str, Any],
    where: str,
    add: Any,
    known_sources: Collection[str] | None,
    nested: bool,
) -> Conditions:
    from signals.sources import SOURCE_KINDS

    for key in table:
        if key not in WHEN_KEYS:
            add(f"{where}.{key}", f"unknown condition (known: {', '.join(sorted(WHEN_KEYS))})")
    categories = _strings(table, "categories", where, add)
    for category in categories:
        if category not in CATEGORY_IDS:
            add(
                f"{where}.categories",
                f"unknown category {category!r} (known: {', '.join(CATEGORY_IDS)})",
            )
    terms = _strings(table, "terms", where, add)
    exclude_terms = _strings(table, "exclude_terms", where, add)
    min_score = table.get("min_score", 0.0)
    if (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not 0 <= min_score <= 1
    ):
        add(f"{where}.min_score", f"expected a number from 0 to 1, got {min_score!r}")
        min_score = 0.0
    entities = _strings(table, "entities", where, add)
    for entity in entities:
        if not ENTITY_ID.match(entity):
            add(
                f"{where}.entities",
                f"{entity!r} is not an entity id (watchlist ids are lower-case, e.g. 'nvidia-h20')",
            )
    sources = _strings(table, "sources", where, add)
    if known_sources is not None:
        for source in sources:
            if source not in known_sources:
                add(f"{where}.sources", f"unknown source {source!r} (not in sources.toml)")
    kinds = _strings(table, "source_kinds", where, add)
    for kind in kinds:
        if kind not in SOURCE_KINDS:
            add(
                f"{where}.source_kinds", f"unknown kind {kind!r} (known: {', '.join(SOURCE_KINDS)})"
            )
    facts = _facts(table.get("facts", []), f"{where}.facts", add, given="facts" in table)
    alternatives: list[Conditions] = []
    if "any" in table:
        if nested:
            add(f"{where}.any", "alternatives cannot nest")
        elif not isinstance(table["any"], list) or not all(
            isinstance(t, Mapping) for t in table["any"]
        ):
            add(f"{where}.any", "expected [[when.any]] tables")
        else:
            for index, alternative in enumerate(table["any"], start=1):
                if not alternative:
                    add(
                        f"{where}.any[{index}]",
                        "no conditions: an alternative that holds for every item makes"
                        " [[when.any]] meaningless",
                    )
                alternatives.append(
                    _conditions(
                        alternative, f"{where}.any[{index}]", add, known_sources, nested=True
                    )
                )
    return Conditions(
        categories=categories,
        min_score=float(min_score),
        terms=terms,
        exclude_terms=exclude_terms,
        entities=entities,
        sources=sources,
        source_kinds=kinds,
        facts=facts,
        any=tuple(alternatives),
    )


def _facts(raw: Any, where: str, add: Any, given: bool = False) -> tuple[FactCondition, ...]:
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(f, Mapping) for f in raw):
        add(where, 'expected a list of tables such as { kind = "money", unit = "USD", min = 1e9 }')
        return ()
    if given and not raw:
        add(where, "an empty list; give at least one fact condition, or leave the key out")
    found = []
    for index, table in enumerate(raw, start=1):
        at = f"{where}[{index}]"
        for key in table:
            if key not in FACT_KEYS:
                add(f"{at}.{key}", f"unknown key (known: {', '.join(sorted(FACT_KEYS))})")
        kind = table.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            add(f"{at}.kind", 'required, e.g. "money", "percent", "eccn" or "effective_date"')
            continue
        if kind.strip() not in FACT_KINDS:
            add(f"{at}.kind", f"unknown fact kind {kind!r} (known: {', '.join(FACT_KINDS)})")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max"):
            value = table.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                add(f"{at}.{key}", f"expected a number, got {value!r}")
                value = None
            bounds[key] = float(value) if value is not None else None
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and high < low:
            add(f"{at}.max", f"{high!r} is below min {low!r}: no fact could match")
        numeric = FACT_KINDS.get(kind.strip())
        if numeric is False and (low is not None or high is not None):
            add(
                f"{at}.{'min' if low is not None else 'max'}",
                f"{kind.strip()} facts carry text, not a number: use text = [...] instead of"
                " min/max",
            )
        unit = table.get("unit")
        if unit is not None and not isinstance(unit, str):
            add(f"{at}.unit", f"expected a text such as 'USD', got {unit!r}")
            unit = None
        text = _strings(table, "text", at, add)
        found.append(FactCondition(kind=kind.strip(), unit=unit, text=text, **bounds))
    return tuple(found)


def _digest(table: Mapping[str, Any], add: Any) -> DigestSpec:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for key in table:
        if key not in DIGEST_KEYS:
            add(f"digest.{key}", f"unknown key (known: {', '.join(sorted(DIGEST_KEYS))})")
    schedule = table.get("schedule")
    if schedule is None:
        add("digest.schedule", 'required: a cron expression such as "0 8 * * mon-fri"')
    else:
        problem = Schedule.validate(schedule)
        if problem:
            add("digest.schedule", problem)
    timezone = table.get("timezone")
    if timezone is None:
        add("digest.timezone", 'required: an IANA name such as "America/New_York"')
    else:
        try:
            ZoneInfo(str(timezone))
            if not isinstance(timezone, str) or not timezone.strip():
                raise ValueError
        except (ZoneInfoNotFoundError, ValueError):
            add("digest.timezone", f"unknown IANA timezone {timezone!r} (e.g. 'America/New_York')")
    raw_window = table.get("window", SINCE_PREVIOUS)
    window: timedelta | None = None
    if raw_window != SINCE_PREVIOUS:
        try:
            window = parse_duration(raw_window)
            if window <= timedelta(0):
                raise ValueError
        except ValueError:
            add(
                "digest.window",
                f"expected a duration such as '24h' or '7d', or \"{SINCE_PREVIOUS}\","
                f" got {raw_window!r}",
            )
    per_category = table.get("per_category", 5)
    if (
        isinstance(per_category, bool)
        or not isinstance(per_category, int)
        or not 1 <= per_category <= 50
    ):
        add("digest.per_category", f"expected a whole number from 1 to 50, got {per_category!r}")
    compare = table.get("compare_previous", False)
    if not isinstance(compare, bool):
        add("digest.compare_previous", f"expected true or false, got {compare!r}")
    upcoming = None
    if "upcoming" in table:
        upcoming = _duration(table["upcoming"], "digest.upcoming", add)
    # Invalid values only reach here alongside a reported problem, and then no Rule is built.
    return DigestSpec(
        schedule=str(schedule),
        timezone=str(timezone),
        window=window,
        per_category=int(per_category),
        compare_previous=bool(compare),
        upcoming=upcoming,
    )
