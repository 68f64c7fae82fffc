"""Render a digest or an alert as plain text or HTML, from the Jinja2 templates in the package.

HTML templates are autoescaped (a title with ``<script>`` or ``onerror=`` stays text) and
use inline CSS and table layout, which is what Gmail, Outlook and Apple Mail all render.
Links are http(s) only, decided when the digest is built. Slack has its own renderer
(``signals.digest.slack``); ``render(document, fmt)`` picks by format name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from signals.digest.model import Digest, Document, Section
from signals.rules.schedule import Window

FORMATS = ("text", "slack", "html")


@cache
def environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("signals", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _when(window: Window) -> Callable[[datetime], str]:
    def when(moment: datetime) -> str:
        local = window.local(moment)
        return f"{local:%a} {local.day} {local:%b %H:%M}"

    return when


def window_text(window: Window) -> str:
    when = _when(window)
    return f"{when(window.start)} → {when(window.end)} {window.local(window.end):%Z}"


def _change(section: Section) -> str:
    change = section.change or 0
    return f"+{change}" if change > 0 else str(change)


def _render(document: Document, suffix: str) -> str:
    name = "digest" if isinstance(document, Digest) else "alert"
    template = environment().get_template(f"{name}.{suffix}")
    variable = "d" if isinstance(document, Digest) else "a"
    text: str = template.render(
        {
            variable: document,
            "window_text": window_text(document.window),
            "when": _when(document.window),
            "change": _change,
        }
    )
    return text


def render_text(document: Document) -> str:
    return _render(document, "txt")


def render_html(document: Document) -> str:
    return _render(document, "html")


def render(document: Document, fmt: str) -> str:
    """One of FORMATS as a string: text, slack (the messages as JSON), html."""
    if fmt == "text":
        return render_text(document)
    if fmt == "html":
        return render_html(document)
    if fmt == "slack":
        from signals.digest.slack import render_slack

        return json.dumps(render_slack(document), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
