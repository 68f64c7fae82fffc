"""Read ``rules/categories.toml`` (the watch taxonomy) into validated, typed data.

The file holds, for each of the six categories, weighted phrase lists (case-insensitive),
case-sensitive symbols, a few spaCy token patterns and down-weighting terms; the source
priors; and the entity watchlist with canonical ids and aliases. Every problem is reported
at once as ``rules/categories.toml: key.path: problem``. This module does not import spaCy:
validation stays cheap enough for ``signals rules check`` and for every poll.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from signals.errors import ConfigError
from signals.model import CATEGORY_IDS

#: Canonical entity ids: the same shape rules use to name entities (signals/rules/load.py).
ENTITY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
PATTERN_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TAXONOMY_FILE = "categories.toml"

TOP_KEYS = {"settings", "categories", "priors", "entity"}
SETTINGS_KEYS = {"threshold", "anchor", "title_weight", "max_chars", "hint_prior", "spacy_model"}
CATEGORY_KEYS = {"description", "threshold", "terms", "negative", "patterns", "topic_from"}
GROUP_KEYS = {"weight", "phrases", "symbols", "role"}
PATTERN_KEYS = {"id", "weight", "pattern", "prefilter", "role", "title_only"}
PRIOR_KEYS = {"source_kind", "host"}
ENTITY_KEYS = {"id", "label", "name", "names", "symbols", "ciks", "patterns", "categories", "roles"}
#: What a match says about a category. ``evidence`` can tag on its own (from ``anchor``
#: up); a ``topic`` match says what the item is about and a ``support`` match what kind of
#: item it is (a rule, a release): neither counts alone, together they tag. So the form
#: words of a rulemaking ("final rule", "notice") tag nothing unless the item is about
#: something this product watches, and a model name tags no release without a release.
EVIDENCE, TOPIC, SUPPORT = "evidence", "topic", "support"
ROLES = (EVIDENCE, TOPIC, SUPPORT)
ENTITY_LABELS = {"ORG", "PRODUCT", "REGULATOR", "GPE", "PROGRAM", "LAW", "PERSON", "MODEL"}


@dataclass(frozen=True)
class Term:
    """One phrase (or exact-case symbol) that is evidence for, or against, a category."""

    text: str
    weight: float
    exact_case: bool = False
    role: str = EVIDENCE


@dataclass(frozen=True)
class TokenPattern:
    """A spaCy ``Matcher`` pattern: for what a phrase list cannot say (e.g. ``300MW``)."""

    id: str
    weight: float
    pattern: tuple[Mapping[str, Any], ...]
    #: A regex (searched in the lower-cased text) that every match of the pattern contains.
    #: Token patterns cost on every token they are tried on; most texts fail this cheap
    #: C-level search, and where it succeeds the Matcher runs only on the tokens around
    #: each hit (within the pattern's longest match), not the whole text.
    prefilter: re.Pattern[str] | None = None
    role: str = EVIDENCE
    #: Matched in the title only (headline shapes like "A and B to build ..."); needs a
    #: prefilter, and costs nothing on the body.
    title_only: bool = False


@dataclass(frozen=True)
class Category:
    id: str
    description: str
    threshold: float
    terms: tuple[Term, ...] = ()
    negative: tuple[Term, ...] = ()
    patterns: tuple[TokenPattern, ...] = ()
    #: Categories whose own evidence also serves as this category's topic (a rule about
    #: chips is a policy about chips: chip evidence is policy_shifts' topic).
    topic_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    """A watched company, chip, regulator or program: one canonical id, many spellings."""

    id: str
    label: str
    name: str
    names: tuple[str, ...] = ()  # case-insensitive aliases
    symbols: tuple[str, ...] = ()  # exact-case aliases: tickers, CIKs, short forms
    patterns: tuple[TokenPattern, ...] = ()
    categories: Mapping[str, float] = field(default_factory=dict)  # evidence weight when named
    roles: Mapping[str, str] = field(default_factory=dict)  # category id -> role, else evidence


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.5
    anchor: float = 0.5  # a category needs one match at least this strong, not only weak ones
    title_weight: float = 1.25
    max_chars: int = 4000
    hint_prior: float = 0.35
    spacy_model: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """The whole validated file; ``digest`` identifies this version of it."""

    path: Path
    digest: str
    settings: Settings
    categories: tuple[Category, ...]
    entities: tuple[Entity, ...]
    source_kind_priors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    host_priors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    @cached_property
    def entity_weights(self) -> dict[str, Mapping[str, float]]:
        """Entity id -> category evidence weights, for the entities that carry any."""
        return {e.id: e.categories for e in self.entities if e.categories}

    @cached_property
    def entity_roles(self) -> dict[str, Mapping[str, str]]:
        """Entity id -> category id -> role, for entities with other roles than evidence."""
        return {e.id: e.roles for e in self.entities if e.roles}


class _Problems:
    def __init__(self, label: str):
        self.label = label
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{self.label}: {where}: {problem}")


def taxonomy_path(rules_dir: str | Path) -> Path:
    return Path(rules_dir) / TAXONOMY_FILE


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate the taxonomy file; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    label = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{label}: cannot read the taxonomy: {exc.strerror or exc}"]) from exc
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{label}: invalid TOML: {exc}"]) from exc
    problems = _Problems(label)
    taxonomy = parse_taxonomy(raw, path, hashlib.sha256(data).hexdigest()[:16], problems)
    if problems.items:
        raise ConfigError(problems.items)
    return taxonomy


def parse_taxonomy(
    raw: Mapping[str, Any], path: Path, digest: str, problems: _Problems
) -> Taxonomy:
    add = problems.add
    _unknown_keys(raw, TOP_KEYS, "", add)
    settings = _settings(_table(raw, "settings", "settings", add), add)
    categories_table = _table(raw, "categories", "categories", add)
    for key in categories_table:
        if key not in CATEGORY_IDS:
            add(f"categories.{key}", f"unknown category (known: {', '.join(CATEGORY_IDS)})")
    categories = []
    for category_id in CATEGORY_IDS:
        where = f"categories.{category_id}"
        if category_id not in categories_table:
            add(where, "missing: every category needs terms")
            continue
        table = categories_table[category_id]
        if not isinstance(table, Mapping):
            add(where, "expected a table")
            continue
        categories.append(_category(category_id, table, where, settings, add))
    priors = _table(raw, "priors", "priors", add)
    _unknown_keys(priors, PRIOR_KEYS, "priors", add)
    kind_priors = _prior_map(priors, "source_kind", add)
    host_priors = _prior_map(priors, "host", add)
    entities = _entities(raw.get("entity", []), add)
    return Taxonomy(
        path=path,
        digest=digest,
        settings=settings,
        categories=tuple(categories),
        entities=tuple(entities),
        source_kind_priors=kind_priors,
        host_priors={k.lower(): v for k, v in host_priors.items()},
    )


def _unknown_keys(table: Mapping[str, Any], known: set[str], where: str, add: Any) -> None:
    for key in table:
        if key not in known:
            at = f"{where}.{key}" if where else key
            add(at, f"unknown key (known: {', '.join(sorted(known))})")


def _table(raw: Mapping[str, Any], key: str, where: str, add: Any) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        add(where, "expected a table")
        return {}
    return value


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    add: Any,
    default: float,
    low: float,
    high: float,
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        add(f"{where}.{key}", f"expected a number, got {value!r}")
        return default
    if not low <= value <= high:
        add(f"{where}.{key}", f"must be between {low:g} and {high:g}, got {value!r}")
        return default
    return float(value)


def _settings(table: Mapping[str, Any], add: Any) -> Settings:
    _unknown_keys(table, SETTINGS_KEYS, "settings", add)
    model = table.get("spacy_model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        add("settings.spacy_model", f"expected a spaCy package name, got {model!r}")
        model = None
    return Settings(
        threshold=_number(table, "threshold", "settings", add, 0.5, 0.01, 0.99),
        anchor=_number(table, "anchor", "settings", add, 0.5, 0.0, 5.0),
        title_weight=_number(table, "title_weight", "settings", add, 1.25, 0.0, 10.0),
        max_chars=int(_number(table, "max_chars", "settings", add, 4000, 100, 1_000_000)),
        hint_prior=_number(table, "hint_prior", "settings", add, 0.35, 0.0, 5.0),
        spacy_model=model.strip() if isinstance(model, str) else None,
    )


def _strings(table: Mapping[str, Any], key: str, where: str, add: Any) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        add(f"{where}.{key}", "expected a list of non-empty strings")
        return ()
    return tuple(" ".join(v.split()) for v in value)


def _category(
    category_id: str, table: Mapping[str, Any], where: str, settings: Settings, add: Any
) -> Category:
    _unknown_keys(table, CATEGORY_KEYS, where, add)
    description = table.get("description", "")
    if not isinstance(description, str):
        add(f"{where}.description", "expected text")
        description = ""
    terms = _groups(table.get("terms", []), f"{where}.terms", add)
    topic_from = _strings(table, "topic_from", where, add)
    for other in topic_from:
        if other not in CATEGORY_IDS or other == category_id:
            add(f"{where}.topic_from", f"{other!r} is not another category id")
    if not terms and "terms" not in table:
        add(f"{where}.terms", "missing: a category needs at least one group of phrases")
    return Category(
        id=category_id,
        description=description,
        threshold=_number(table, "threshold", where, add, settings.threshold, 0.01, 0.99),
        terms=terms,
        negative=_groups(table.get("negative", []), f"{where}.negative", add),
        patterns=_patterns(table.get("patterns", []), f"{where}.patterns", add),
        topic_from=tuple(c for c in topic_from if c in CATEGORY_IDS and c != category_id),
    )


def _role(table: Mapping[str, Any], where: str, add: Any) -> str:
    role = table.get("role", EVIDENCE)
    if role not in ROLES:
        add(f"{where}.role", f"expected one of {', '.join(ROLES)}, got {role!r}")
        return EVIDENCE
    return str(role)


def _groups(value: Any, where: str, add: Any) -> tuple[Term, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        add(where, "expected an array of tables ([[...]]) with weight and phrases")
        return ()
    terms: list[Term] = []
    seen: dict[tuple[str, bool], str] = {}
    for index, group in enumerate(value):
        at = f"{where}[{index}]"
        _unknown_keys(group, GROUP_KEYS, at, add)
        if "weight" not in group:
            add(f"{at}.weight", "missing")
        weight = _number(group, "weight", at, add, 0.0, 0.0, 5.0)
        role = _role(group, at, add)
        phrases = _strings(group, "phrases", at, add)
        symbols = _strings(group, "symbols", at, add)
        if not phrases and not symbols:
            add(at, "needs phrases or symbols")
        for text, exact in [(p, False) for p in phrases] + [(s, True) for s in symbols]:
            key = (text if exact else text.casefold(), exact)
            if key in seen:
                add(f"{at}", f"{text!r} is listed twice (also in {seen[key]})")
                continue
            seen[key] = at
            terms.append(Term(text=text, weight=weight, exact_case=exact, role=role))
    return tuple(terms)


def _patterns(value: Any, where: str, add: Any) -> tuple[TokenPattern, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        add(where, "expected an array of tables ([[...]]) with id, weight and pattern")
        return ()
    found: list[TokenPattern] = []
    for index, table in enumerate(value):
        at = f"{where}[{index}]"
        _unknown_keys(table, PATTERN_KEYS, at, add)
        pattern_id = table.get("id")
        if not isinstance(pattern_id, str) or not PATTERN_ID.match(pattern_id):
            add(f"{at}.id", f"expected a lower-case id like 'power-capacity', got {pattern_id!r}")
            pattern_id = f"pattern-{index}"
        weight = _number(table, "weight", at, add, 0.5, 0.0, 5.0)
        pattern = table.get("pattern")
        problem = _pattern_problem(pattern)
        if problem:
            add(f"{at}.pattern", problem)
            continue
        prefilter = table.get("prefilter")
        compiled = None
        if prefilter is not None:
            try:
                compiled = re.compile(prefilter) if isinstance(prefilter, str) else None
            except re.error as exc:
                add(f"{at}.prefilter", f"invalid regular expression: {exc}")
                continue
            if compiled is None:
                add(f"{at}.prefilter", f"expected a regular expression, got {prefilter!r}")
                continue
        title_only = table.get("title_only", False)
        if not isinstance(title_only, bool) or (title_only and compiled is None):
            add(f"{at}.title_only", "expected true or false, and a prefilter with true")
            title_only = False
        found.append(
            TokenPattern(
                id=pattern_id,
                weight=weight,
                pattern=tuple(pattern),
                prefilter=compiled,
                role=_role(table, at, add),
                title_only=title_only,
            )
        )
    return tuple(found)


def _pattern_problem(pattern: Any) -> str | None:
    """The shape of a token pattern; spaCy checks the attributes when the pipeline is built."""
    if not isinstance(pattern, list) or not pattern:
        return "expected a non-empty list of token tables, e.g. [{LOWER = 'gpu'}]"
    if not all(isinstance(token, Mapping) and token for token in pattern):
        return "every token must be a non-empty table of spaCy token attributes"
    for token in pattern:
        for attribute, spec in token.items():
            if isinstance(spec, Mapping) and "REGEX" in spec:
                try:
                    re.compile(spec["REGEX"])
                except (re.error, TypeError) as exc:
                    return f"{attribute}: invalid REGEX: {exc}"
    return None


def _prior_map(priors: Mapping[str, Any], key: str, add: Any) -> dict[str, tuple[str, ...]]:
    table = priors.get(key, {})
    if not isinstance(table, Mapping):
        add(f"priors.{key}", "expected a table of name = [category ids]")
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for name in table:
        categories = _strings(table, name, f"priors.{key}", add)
        for category in categories:
            if category not in CATEGORY_IDS:
                add(
                    f"priors.{key}.{name}",
                    f"unknown category {category!r} (known: {', '.join(CATEGORY_IDS)})",
                )
        result[name] = tuple(c for c in categories if c in CATEGORY_IDS)
    return result


def _entities(value: Any, add: Any) -> list[Entity]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        add("entity", "expected an array of tables ([[entity]])")
        return []
    entities: list[Entity] = []
    ids: dict[str, int] = {}
    aliases: dict[tuple[str, bool], str] = {}
    for index, table in enumerate(value):
        entity_id = table.get("id")
        where = f"entity[{index}]"
        if isinstance(entity_id, str):
            where = f"entity.{entity_id}"
        _unknown_keys(table, ENTITY_KEYS, where, add)
        if not isinstance(entity_id, str) or not ENTITY_ID.match(entity_id):
            add(f"{where}.id", f"expected a lower-case id like 'nvidia-h20', got {entity_id!r}")
            continue
        if entity_id in ids:
            add(f"{where}.id", f"duplicate id (also entity[{ids[entity_id]}])")
            continue
        ids[entity_id] = index
        label = table.get("label", "ORG")
        if label not in ENTITY_LABELS:
            add(
                f"{where}.label",
                f"unknown label {label!r} (known: {', '.join(sorted(ENTITY_LABELS))})",
            )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            add(f"{where}.name", "missing: the display name, e.g. 'Alibaba Group'")
            name = entity_id
        names = (name.strip(), *_strings(table, "names", where, add))
        symbols = _strings(table, "symbols", where, add)
        ciks = _strings(table, "ciks", where, add)
        for cik in ciks:
            if not cik.isdigit() or len(cik) > 10:
                add(f"{where}.ciks", f"{cik!r} is not a SEC CIK (up to 10 digits)")
        cik_symbols = tuple(
            s for cik in ciks if cik.isdigit() for s in {cik.lstrip("0"), cik.zfill(10)}
        )
        for alias, exact in [(n, False) for n in names] + [(s, True) for s in symbols]:
            key = (alias if exact else alias.casefold(), exact)
            if key in aliases and aliases[key] != entity_id:
                add(f"{where}", f"alias {alias!r} already names entity {aliases[key]!r}")
            aliases[key] = entity_id
        weights = _entity_categories(table.get("categories", {}), where, add)
        roles = _entity_roles(table.get("roles", {}), weights, where, add)
        entities.append(
            Entity(
                id=entity_id,
                label=label if isinstance(label, str) else "ORG",
                name=name.strip(),
                names=tuple(dict.fromkeys(names)),
                symbols=tuple(dict.fromkeys(symbols + cik_symbols)),
                patterns=_patterns(table.get("patterns", []), f"{where}.patterns", add),
                categories=weights,
                roles=roles,
            )
        )
    return entities


def _entity_categories(value: Any, where: str, add: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        add(f"{where}.categories", "expected a table of category id = weight")
        return {}
    weights: dict[str, float] = {}
    for category in value:
        if category not in CATEGORY_IDS:
            add(
                f"{where}.categories.{category}",
                f"unknown category (known: {', '.join(CATEGORY_IDS)})",
            )
            continue
        weights[category] = _number(value, category, f"{where}.categories", add, 0.0, 0.0, 5.0)
    return weights


def _entity_roles(value: Any, weights: Mapping[str, float], where: str, add: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        add(f"{where}.roles", "expected a table of category id = role")
        return {}
    roles: dict[str, str] = {}
    for category, role in value.items():
        if category not in weights:
            add(f"{where}.roles.{category}", "has no weight in this entity's categories")
        elif role not in ROLES:
            add(f"{where}.roles.{category}", f"expected one of {', '.join(ROLES)}, got {role!r}")
        elif role != EVIDENCE:
            roles[category] = role
    return roles
