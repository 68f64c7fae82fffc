"""Leaderboards from table rows: results, ranks and rank-change events. Pure, no I/O.

A ``Layout`` says which columns hold the score, the system and the leaderboard (a
preset's defaults, overridden by the source's keys). Rows become ``Result`` entries;
each leaderboard is ranked best-first; positions 1..``track_ranks`` whose holder is not
yet archived become rank events (a baseline the first time a leaderboard is seen).
``ParseContext.is_known`` is the only memory used: an event's key names its leaderboard,
position and holder, so the archive itself says who held a position before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signals.config import Source
from signals.model import RawEntry
from signals.sources import ParseContext
from signals.sources._common import WarningLog, parse_date

Candidates = tuple[str, ...]  # a column by any of its names, first present wins


@dataclass(frozen=True)
class TablePreset:
    """Column names of a well-known results table, overridable key by key."""

    label: str
    columns: Mapping[str, Candidates]
    group: Sequence[Candidates]
    key: Sequence[Candidates]
    lower_is_better: Sequence[str] = ()
    where: Mapping[str, Any] = field(default_factory=dict)


#: MLPerf results: ``summary_results.json`` (results repositories) and the submission
#: checker's ``summary.csv`` name the same things differently; both are accepted.
TABLE_PRESETS: dict[str, TablePreset] = {
    "mlperf": TablePreset(
        label="MLPerf",
        columns={
            "score": ("Performance_Result", "Result"),
            "unit": ("Performance_Units", "Units"),
            "system": ("System", "SystemName"),
            "submitter": ("Submitter", "Organization"),
            "accelerator": ("Accelerator", "accelerator_model_name"),
            "accelerator_count": ("a#", "accelerators_per_node"),
            "url": ("Details",),
        },
        group=(
            ("version", "Version"),
            ("Suite", "SystemType"),
            ("Category", "Division"),
            ("Model", "MlperfModel"),
            ("Scenario",),
        ),
        key=(("Submitter", "Organization"), ("Platform", "SystemName", "System")),
        lower_is_better=("Latency (ms)", "ms", "Latency (s)"),
    )
}


@dataclass(frozen=True)
class Layout:
    """A source's resolved table layout: preset defaults with the source's overrides."""

    label: str
    columns: Mapping[str, Candidates]
    group: Sequence[Candidates]
    key: Sequence[Candidates]
    lower_is_better: frozenset[str]
    where: Mapping[str, frozenset[str]]
    track_ranks: int

    @classmethod
    def from_source(cls, source: Source) -> Layout:
        options = source.options
        preset = TABLE_PRESETS.get(options.get("preset", ""))
        columns: dict[str, Candidates] = dict(preset.columns) if preset else {}
        for name, value in (options.get("columns") or {}).items():
            columns[name] = _candidates(value)
        group = [_candidates(v) for v in options["group"]] if "group" in options else []
        key = [_candidates(v) for v in options["key"]] if "key" in options else []
        if preset:
            group = group or list(preset.group)
            key = key or list(preset.key)
        if not key:
            key = [columns[name] for name in ("submitter", "system") if name in columns]
        lower = options.get("lower_is_better", preset.lower_is_better if preset else ())
        where_raw = dict(preset.where) if preset else {}
        where_raw.update(options.get("where") or {})
        return cls(
            label=options.get("label") or (preset.label if preset else source.name),
            columns=columns,
            group=group,
            key=key,
            lower_is_better=frozenset(u.casefold() for u in lower),
            where={col: frozenset(map(str, as_list(v))) for col, v in where_raw.items()},
            track_ranks=int(options.get("track_ranks", 1)),
        )


def _candidates(value: Any) -> Candidates:
    return (value,) if isinstance(value, str) else tuple(value)


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------------- results


@dataclass
class Result:
    entry: RawEntry
    group: tuple[str, ...]
    group_label: str
    holder: str  # the row's key columns, joined: who holds a rank
    system: str
    score: float
    unit: str
    rank: int = 0


def _cell(row: Mapping[str, Any], names: Candidates | None) -> str:
    if not names:
        return ""
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return ""


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None


def build_results(
    rows: Sequence[Mapping[str, Any]],
    layout: Layout,
    date_format: str | None,
    local: Any,
    warnings: WarningLog,
) -> list[Result]:
    results: list[Result] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    for position, row in enumerate(rows, start=1):
        if any(
            str(row.get(col, "")).strip() not in allowed for col, allowed in layout.where.items()
        ):
            continue
        system = _cell(row, layout.columns.get("system"))
        score_text = _cell(row, layout.columns.get("score"))
        score = _number(score_text)
        if not system or score is None:
            warnings.add(
                "bad row", f"row {position} skipped: no system or no numeric score ({score_text!r})"
            )
            continue
        group = tuple(_cell(row, names) for names in layout.group)
        holder = " / ".join(_cell(row, names) for names in layout.key) or system
        if (group, holder) in seen:
            warnings.add(
                "repeat",
                f"row {position} repeats {holder!r} in {' · '.join(group)}; kept the first",
            )
            continue
        seen.add((group, holder))
        unit = _cell(row, layout.columns.get("unit"))
        results.append(
            _result(
                row,
                layout,
                group,
                holder,
                system,
                score,
                unit,
                date_format,
                local,
                warnings,
                position,
            )
        )
    _rank(results, layout)
    return results


def _result(
    row: Mapping[str, Any],
    layout: Layout,
    group: tuple[str, ...],
    holder: str,
    system: str,
    score: float,
    unit: str,
    date_format: str | None,
    local: Any,
    warnings: WarningLog,
    position: int,
) -> Result:
    submitter = _cell(row, layout.columns.get("submitter"))
    accelerator = _cell(row, layout.columns.get("accelerator"))
    count = _number(_cell(row, layout.columns.get("accelerator_count")) or "")
    group_label = " · ".join([layout.label, *[g for g in group if g]])
    score_text = f"{score:,.6g}" if abs(score) < 1e6 else f"{score:,.0f}"
    hardware = f"{accelerator} ×{count:g}" if accelerator and count else accelerator
    title = (
        f"{group_label}: {system}"
        + (f" ({hardware})" if hardware else "")
        + f", {score_text} {unit}".rstrip()
    )
    by = f" by {submitter}" if submitter and submitter not in system else ""
    described = f"{system}{by}" + (f" on {hardware}" if hardware else "")
    summary = (
        f"{layout.label} result: {described} scored {score_text} {unit} in {group_label}.".replace(
            "  ", " "
        )
    )
    published = None
    date_text = _cell(row, layout.columns.get("date"))
    if date_text:
        try:
            published = parse_date(date_text, date_format, local)
        except ValueError as exc:
            warnings.add("bad date", f"row {position}: {exc}")
    meta: dict[str, Any] = {
        "event": "result",
        "benchmark": group_label,
        "group": list(group),
        "system": system,
        "score": score,
        "unit": unit,
    }
    meta.update(
        {
            k: v
            for k, v in (
                ("submitter", submitter),
                ("accelerator", accelerator),
                ("accelerator_count", count),
            )
            if v
        }
    )
    facts: list[dict[str, Any]] = [
        {
            "kind": "benchmark_result",
            "value": score,
            "unit": unit or None,
            "text": f"{group_label}: {described}",
        },
    ]
    if accelerator:
        facts.append({"kind": "accelerator", "value": count, "unit": "count", "text": accelerator})
    entry = RawEntry(
        guid=f"result|{'|'.join(group)}|{holder}",
        link=_cell(row, layout.columns.get("url")) or None,
        title=title,
        summary=summary,
        published=published,
        meta=meta,
        facts=facts,
    )
    return Result(entry, group, group_label, holder, system, score, unit)


def _rank(results: list[Result], layout: Layout) -> None:
    """Rank each group best-first; ties keep file order. Rank facts go on each result."""
    groups: dict[tuple[str, ...], list[Result]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    for members in groups.values():
        members.sort(
            key=lambda r: r.score if r.unit.casefold() in layout.lower_is_better else -r.score
        )
        for rank, result in enumerate(members, start=1):
            result.rank = rank
            result.entry.meta["rank"] = rank
            result.entry.meta["of"] = len(members)
            result.entry.facts.append(
                {
                    "kind": "benchmark_rank",
                    "value": float(rank),
                    "unit": "rank",
                    "text": f"#{rank} of {len(members)} in {result.group_label}",
                }
            )


def _rank_key(result: Result, rank: int, holder: str) -> str:
    return f"rank|{'|'.join(result.group)}|{rank}|{holder}"


def rank_events(results: list[Result], layout: Layout, context: ParseContext) -> list[RawEntry]:
    if layout.track_ranks == 0:
        return []
    groups: dict[tuple[str, ...], list[Result]] = {}
    for result in sorted(results, key=lambda r: r.rank):
        groups.setdefault(result.group, []).append(result)
    events: list[RawEntry] = []
    for members in groups.values():
        group_known = any(context.is_known(m.entry) for m in members)
        for holder in members[: layout.track_ranks]:
            rank = holder.rank
            probe = RawEntry(guid=_rank_key(holder, rank, holder.holder), link=None, title=None)
            if context.is_known(probe):
                continue
            previous = next(
                (
                    other
                    for other in members
                    if other is not holder
                    and context.is_known(
                        RawEntry(guid=_rank_key(holder, rank, other.holder), link=None, title=None)
                    )
                ),
                None,
            )
            events.append(_rank_event(holder, members, baseline=not group_known, previous=previous))
    return events


def _rank_event(
    holder: Result, members: Sequence[Result], *, baseline: bool, previous: Result | None
) -> RawEntry:
    rank = holder.rank
    score = f"{holder.score:,.6g} {holder.unit}".strip()
    runner = members[rank] if rank < len(members) else None
    if baseline:
        position = "Leader" if rank == 1 else f"#{rank}"
        title = f"{position} of {holder.group_label}: {holder.system} ({score})"
    else:
        title = f"New #{rank} in {holder.group_label}: {holder.system} ({score})"
    details = [
        f"{holder.system} holds #{rank} of {len(members)} in {holder.group_label} with {score}."
    ]
    if previous is not None:
        details.append(f"Previously held by {previous.system} (now #{previous.rank}).")
    if runner is not None:
        details.append(
            f"Next: {runner.system} ({runner.score:,.6g} {runner.unit}).".replace(" )", ")")
        )
    meta: dict[str, Any] = {
        "event": "rank",
        "baseline": baseline,
        "rank": rank,
        "of": len(members),
        "benchmark": holder.group_label,
        "group": list(holder.group),
        "system": holder.system,
        "score": holder.score,
        "unit": holder.unit,
    }
    if previous is not None:
        meta["previous"] = previous.system
    return RawEntry(
        guid=_rank_key(holder, rank, holder.holder),
        link=holder.entry.link,
        title=title,
        summary=" ".join(details),
        published=holder.entry.published,
        meta=meta,
        facts=[
            {
                "kind": "benchmark_rank",
                "value": float(rank),
                "unit": "rank",
                "text": f"#{rank} of {len(members)} in {holder.group_label}: {holder.system}",
            },
            {
                "kind": "benchmark_result",
                "value": holder.score,
                "unit": holder.unit or None,
                "text": f"{holder.group_label}: {holder.system}",
            },
        ],
    )
