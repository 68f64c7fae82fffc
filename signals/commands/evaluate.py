from __future__ import annotations

from typing import TextIO

import click

from signals.cli import App, pass_app


@click.command(name="eval")
@click.argument("gold", metavar="GOLD.jsonl", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")
@click.option("--errors", "show_errors", is_flag=True, help="Also list every item tagged wrong.")
@click.option(
    "--headlines",
    is_flag=True,
    help="Tag each item from its title alone, as from a source that sends no summary.",
)
@pass_app
def evaluate(app: App, gold: TextIO, as_json: bool, show_errors: bool, headlines: bool) -> None:
    """Score the tagger against labeled JSON lines: precision, recall, F1 per category.

    Each line is a `signals classify` input plus "labels" (the category ids it belongs
    to; [] for an item that belongs to no category). Prints per-category figures,
    micro and macro F1, and how many no-category items were correctly left untagged.
    With --headlines the labels stay as given but the tagger reads only each title:
    what a headline-only feed gets.

    \b
    Example:
      signals eval tests/data/gold/dev.jsonl
      signals eval tests/data/gold/dev.jsonl --json --errors
      signals eval tests/data/gold/dev.jsonl --headlines
    """
    import json

    from signals.tagging.enricher import load_tagger
    from signals.tagging.evaluate import evaluate as score_examples
    from signals.tagging.jsonlines import read_examples

    name = "stdin" if gold.name in ("-", "<stdin>") else gold.name
    examples = read_examples(gold, name, labeled=True)
    tagger = load_tagger(app.rules_path)
    inputs = [e.input.headline_only() if headlines else e.input for e in examples]
    results = list(tagger.tag(inputs))
    report = score_examples(
        [example.labels or () for example in examples], [r.categories for r in results]
    )
    errors = []
    for error in report.errors:
        example = examples[int(str(error["index"]))]
        tagged = results[int(str(error["index"]))]
        errors.append(
            {
                "line": example.line,
                "title": example.input.title,
                "missed": error["missed"],
                "extra": error["extra"],
                "scores": {c: s for c, s in tagged.scores.items() if s > 0},
                "evidence": tagged.evidence,
            }
        )
    if as_json:
        document = report.as_dict()
        if show_errors:
            document["errors"] = errors
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    _print_report(report, errors if show_errors else [])


def _print_report(report: object, errors: list[dict[str, object]]) -> None:
    from rich.table import Table

    from signals.commands._console import table_console
    from signals.tagging.evaluate import Report

    assert isinstance(report, Report)
    table = Table(title=f"{report.items} items")
    for column in ("category", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, counts in report.per_category.items():
        table.add_row(
            category,
            f"{counts.precision:.3f}",
            f"{counts.recall:.3f}",
            f"{counts.f1:.3f}",
            str(counts.support),
        )
    micro = report.micro
    table.add_row(
        "micro",
        f"{micro.precision:.3f}",
        f"{micro.recall:.3f}",
        f"{micro.f1:.3f}",
        str(micro.support),
    )
    table.add_row("macro", "", "", f"{report.macro_f1:.3f}", "")
    console = table_console()
    console.print(table)
    console.print(
        f"no category: {report.untagged_correct} of {report.untagged_expected} left untagged;"
        f" exact match: {report.exact} of {report.items}"
    )
    for error in errors:
        console.print(
            f"line {error['line']}: missed {error['missed']} extra {error['extra']}"
            f" {error['title']!r} scores={error['scores']}",
            markup=False,
        )
