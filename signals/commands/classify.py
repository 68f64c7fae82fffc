from __future__ import annotations

from typing import TextIO

import click

from signals.cli import App, pass_app


@click.command()
@click.argument("source", metavar="[FILE|-]", default="-", type=click.File("r", encoding="utf-8"))
@pass_app
def classify(app: App, source: TextIO) -> None:
    """Tag JSON lines: one result line per input line, in the same order.

    Each input line is an object with "title" and optionally "summary", "url",
    "source_kind" and "hint" (category ids the source leans to). Each output line has
    "categories" (assigned ids), "scores" (every id -> 0..1), "evidence" (id -> matched
    text), "entities" (with watchlist ids) and "facts". The taxonomy is
    RULES/categories.toml.

    \b
    Example:
      echo '{"title": "BIS adds Chinese chipmakers to the Entity List"}' | signals classify
      signals classify items.jsonl > tagged.jsonl
    """
    import json

    from signals.tagging.enricher import load_tagger
    from signals.tagging.jsonlines import read_examples

    name = "stdin" if source.name in ("-", "<stdin>") else source.name
    examples = read_examples(source, name)
    tagger = load_tagger(app.rules_path)
    for tagged in tagger.tag(example.input for example in examples):
        click.echo(json.dumps(tagged.as_dict(), ensure_ascii=False))
