"""Render a digest or an alert as Slack Block Kit messages, within Slack's limits.

Every piece of feed text goes through ``escape`` (``&``, ``<``, ``>`` as entities,
formatting characters fenced, one line), so a title can never ping ``<!channel>``,
mention ``<@U123>``, forge a link ``<https://x|y>``, turn bold or start a quote; links
are built here from http(s) URLs only, with ``|``, ``<``, ``>`` and spaces
percent-encoded so the URL cannot end the link early. Text objects are ``verbatim``.

Limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks per message, 3,000
characters per section text, 150 per header. A message here stays under 45 blocks and
about 10,000 characters of text; the rest goes in thread replies, each saying which part
it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from signals.digest.model import Alert, Digest, Document, Line, Section
from signals.rules.schedule import Window

MAX_BLOCKS = 45  # Slack allows 50; leave room for the "part n of m" context
MAX_CHARS = 10_000  # well under the ~12k where Slack starts to truncate or refuse
SECTION_LIMIT = 2_900  # Slack: 3,000 characters per section text
HEADER_LIMIT = 150
LONGEST_LINK = 1_000
ZWSP = "\u200b"  # zero-width space: invisible, but not a word boundary for Slack
_FORMATTING = re.compile(r"[*_~`]")

Block = dict[str, Any]
Message = dict[str, Any]


def escape(text: str) -> str:
    """Feed text made inert for a ``mrkdwn`` field, and still read verbatim.

    - Slack's three control characters become entities (``&amp;``, ``&lt;``, ``&gt;``): no
      ``<!channel>``, ``<@U123>`` or ``<https://x|y>`` can form.
    - Whitespace runs, newlines included, become one space: feed text never starts a line,
      so it cannot open a ``>`` quote or a code block of its own.
    - Each formatting character (``*``, ``_``, ``~``, backtick) is fenced by zero-width
      spaces, so it can neither open nor close bold, italics, strikethrough or code: a
      title "*URGENT* _act now_" shows exactly those characters, unformatted.

    Text objects also carry ``verbatim: true`` (see ``mrkdwn``), so Slack does not turn
    bare URLs, ``#channel`` names or ``@here`` in feed text into links or mentions.
    """
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub(lambda m: f"{ZWSP}{m.group(0)}{ZWSP}", text)


def escape_code(text: str) -> str:
    """Text for inside a backtick code span (a command to copy): entities only, no fences."""
    return (
        " ".join(text.replace("`", "'").split())
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object; ``verbatim`` stops Slack's own parsing of names and URLs."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL, or just the escaped label."""
    if not url or len(url) > LONGEST_LINK or not url.lower().startswith(("http://", "https://")):
        return escape(label)
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        url = url.replace(char, code)
    return f"<{url.replace('&', '&amp;')}|{escape(label)}>"


def _when(moment: datetime, window: Window) -> str:
    local = window.local(moment)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _window_text(window: Window) -> str:
    end = window.local(window.end)
    return f"{_when(window.start, window)} → {_when(window.end, window)} {end:%Z}"


def _section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text[:SECTION_LIMIT])]}


def _header(text: str) -> Block:
    if len(text) > HEADER_LIMIT:
        text = text[: HEADER_LIMIT - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def line_text(line: Line) -> str:
    parts = [f"• {link(line.url, line.title)}", f" — {escape(line.source_name)}"]
    if line.extra_sources:
        parts.append(f" · +{line.extra_sources} source{'s' if line.extra_sources > 1 else ''}")
    text = "".join(parts)
    if line.why:
        text += "\n      why: " + escape(", ".join(line.why))
    return text


def _chunked(lines: Iterable[str]) -> list[Block]:
    """Lines packed into section blocks of at most SECTION_LIMIT characters each."""
    blocks, current = [], ""
    for text in lines:
        text = text[:SECTION_LIMIT]
        if current and len(current) + 1 + len(text) > SECTION_LIMIT:
            blocks.append(_section(current))
            current = ""
        current = f"{current}\n{text}" if current else text
    if current:
        blocks.append(_section(current))
    return blocks


def _section_blocks(section: Section) -> list[Block]:
    heading = (
        f"*{escape(section.title)}* · {section.total} stor{'y' if section.total == 1 else 'ies'}"
    )
    if section.change is not None:
        sign = "+" if section.change > 0 else ""
        heading += f" ({sign}{section.change} vs previous {section.previous_total})"
    blocks = [_section(heading), *_chunked(line_text(line) for line in section.lines)]
    if section.overflow:
        command = escape_code(section.more_command or "")
        blocks.append(_context(f"+{section.overflow} more: `{command}`"))
    blocks.append({"type": "divider"})
    return blocks


def digest_blocks(digest: Digest) -> list[Block]:
    blocks: list[Block] = [
        _header(digest.title),
        _context(
            f"{_window_text(digest.window)} · {digest.stories} stor"
            f"{'y' if digest.stories == 1 else 'ies'} from {digest.source_count} source"
            f"{'' if digest.source_count == 1 else 's'}"
        ),
    ]
    if digest.empty:
        blocks.append(_section("Nothing new matched in this window."))
    for section in digest.sections:
        if section.lines or section.total or section.previous_total:
            blocks += _section_blocks(section)
    if digest.shows_upcoming:
        blocks.append(_section("*Upcoming dates*"))
        if digest.upcoming:
            blocks += _chunked(
                f"• {u.date} · {escape(u.kind)} · {link(u.url, u.title)}" for u in digest.upcoming
            )
        else:
            blocks.append(_context("No effective dates or comment deadlines ahead."))
    if digest.health:
        notes = "; ".join(f"{escape(n.name)}: {escape(n.problem)}" for n in digest.health)
        blocks.append(_context(f":warning: Source health: {notes}"))
    return blocks


def alert_blocks(alert: Alert) -> list[Block]:
    blocks: list[Block] = [
        _header(alert.title),
        _context(f"Alert · {_window_text(alert.window)}"),
    ]
    for entry in alert.entries:
        texts = [f"*{escape(entry.headline)}*"] if entry.headline else []
        texts += [line_text(line) for line in entry.lines]
        blocks += _chunked(texts)
    return blocks


def fallback_text(document: Document) -> str:
    """The notification text (also escaped: Slack parses it as mrkdwn)."""
    if isinstance(document, Digest):
        return escape(f"{document.title}: {document.stories} new stories")
    first = document.entries[0] if document.entries else None
    detail = ""
    if first is not None:
        detail = first.headline or (first.lines[0].title if first.lines else "")
    return escape(f"{document.title}: {detail}" if detail else document.title)


def _size(block: Block) -> int:
    if block["type"] == "section":
        return len(block["text"]["text"])
    if block["type"] in ("header",):
        return len(block["text"]["text"])
    if block["type"] == "context":
        return sum(len(e["text"]) for e in block["elements"])
    return 1


def pack(blocks: list[Block]) -> list[list[Block]]:
    """Split blocks into messages within MAX_BLOCKS and MAX_CHARS, keeping order."""
    messages: list[list[Block]] = [[]]
    chars = 0
    for block in blocks:
        size = _size(block)
        current = messages[-1]
        if current and (len(current) + 1 > MAX_BLOCKS or chars + size > MAX_CHARS):
            if current[-1]["type"] == "divider":
                current.pop()
            messages.append([])
            chars = 0
            if block["type"] == "divider":
                continue
        messages[-1].append(block)
        chars += size
    return [m for m in messages if m]


def render_slack(document: Document) -> list[Message]:
    """Messages to post: the first in the channel, the others as replies in its thread."""
    blocks = digest_blocks(document) if isinstance(document, Digest) else alert_blocks(document)
    parts = pack(blocks)
    text = fallback_text(document)
    messages = []
    for number, part in enumerate(parts, start=1):
        if len(parts) > 1 and number > 1:
            part = [_context(f"{escape(document.title)} · part {number} of {len(parts)}"), *part]
        messages.append(
            {"text": text if number == 1 else f"{text} (part {number})", "blocks": part}
        )
    return messages
