"""Where rules send what they find. ``CHANNELS`` maps a ``[notify.<name>]`` block to its code.

A channel validates its block (``[notify.slack] channel = "#ai-race"``) into a frozen
target, and picks a *transport* from the environment when it is time to send:

- ``slack``: the Web API (``SLACK_BOT_TOKEN``, optional ``SIGNALS_SLACK_API_URL``) or an
  incoming webhook (``SLACK_WEBHOOK_URL``); with neither, the outbox.
- ``email``: SMTP from ``SIGNALS_SMTP_URL``; without it, the outbox.

A channel without credentials is not an error (the product works out of the box): its
messages are written to the outbox, recorded ``sent`` with transport ``outbox`` (never
held or retried), and the delivery says which variable would have sent them for real
(printed, logged as a warning, and kept in the ledger row's ``error``).
- ``outbox``: files in the ``outbox`` folder (settings.outbox), always.

Credentials come only from the environment and never reach a log line, an error message
or the archive. Heavy libraries (slack-sdk, jinja2) load only inside the transports.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from signals.rules.model import EmailTarget, OutboxTarget, SlackTarget

if TYPE_CHECKING:
    from signals.delivery import Attempt
    from signals.digest.model import Document

Report = Callable[[str, str], None]

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
SUBJECT_FIELDS = ("title", "date", "start", "end", "stories")
DEFAULT_SUBJECT = "{title}: {date}"


@dataclass(frozen=True)
class Sent:
    """What a transport reports after a successful send."""

    external_id: str  # Slack ts, Message-ID, outbox file
    where: str  # human description, no secrets
    printed: str | None = None  # text to show the user (the outbox prints what it wrote)
    note: str | None = None  # sent, not quite as asked (refused recipients, outbox): kept, told


class Transport(Protocol):
    name: str  # slack_api, slack_webhook, smtp, outbox
    where: str  # "Slack #ai-race", "smtp mail.example.org:587 -> a@example.org"

    def send(self, document: Document, attempt: Attempt) -> Sent: ...


class Channel(Protocol):
    name: str

    def parse(self, table: Mapping[str, Any], report: Report) -> Any: ...

    def transport(self, target: Any, env: Mapping[str, str], outbox: Path) -> Transport: ...


def _unknown(table: Mapping[str, Any], known: set[str], where: str, report: Report) -> None:
    for key in table:
        if key not in known:
            report(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})")


class SlackChannel:
    name = "slack"

    def parse(self, table: Mapping[str, Any], report: Report) -> SlackTarget | None:
        _unknown(table, {"channel"}, "notify.slack", report)
        channel = table.get("channel")
        if not isinstance(channel, str) or not channel.strip().lstrip("#"):
            report(
                "notify.slack.channel",
                'required, e.g. "#ai-race" or a channel id such as "C0123456789"',
            )
            return None
        return SlackTarget(channel=channel.strip())

    def transport(self, target: SlackTarget, env: Mapping[str, str], outbox: Path) -> Transport:
        from signals.channels.outbox import OutboxTransport

        if env.get("SLACK_BOT_TOKEN"):
            from signals.channels.slack import SlackApiTransport

            return SlackApiTransport(
                token=env["SLACK_BOT_TOKEN"],
                channel=target.channel,
                base_url=env.get("SIGNALS_SLACK_API_URL") or None,
            )
        if env.get("SLACK_WEBHOOK_URL"):
            from signals.channels.slack import SlackWebhookTransport

            return SlackWebhookTransport(url=env["SLACK_WEBHOOK_URL"], channel=target.channel)
        instead = (
            f"not posted to Slack {target.channel}:"
            " set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL to post it"
        )
        return OutboxTransport(outbox, channel=self.name, instead_of=instead)


class EmailChannel:
    name = "email"

    def parse(self, table: Mapping[str, Any], report: Report) -> EmailTarget | None:
        _unknown(table, {"to", "from", "subject"}, "notify.email", report)
        ok = True
        to = table.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to or not all(isinstance(a, str) for a in to):
            report("notify.email.to", "required: one address or a list of addresses")
            ok, to = False, []
        for address in to:
            if not _ADDRESS.match(parseaddr(address)[1] or "-"):
                report("notify.email.to", f"{address!r} is not an e-mail address")
                ok = False
        sender = table.get("from")
        if not isinstance(sender, str) or not _ADDRESS.match(parseaddr(sender)[1] or "-"):
            report(
                "notify.email.from",
                f'required: the sender address, e.g. "signals@example.org" (got {sender!r})',
            )
            ok = False
        subject = table.get("subject", DEFAULT_SUBJECT)
        problem = subject_problem(subject)
        if problem:
            report("notify.email.subject", problem)
            ok = False
        if not ok:
            return None
        return EmailTarget(to=tuple(to), sender=str(sender), subject=str(subject))

    def transport(self, target: EmailTarget, env: Mapping[str, str], outbox: Path) -> Transport:
        if env.get("SIGNALS_SMTP_URL"):
            from signals.channels.email import SmtpTransport

            return SmtpTransport(env["SIGNALS_SMTP_URL"], target)
        from signals.channels.outbox import OutboxTransport

        instead = f"not mailed to {', '.join(target.to)}: set SIGNALS_SMTP_URL to mail it"
        return OutboxTransport(outbox, channel=self.name, instead_of=instead)


class OutboxChannel:
    name = "outbox"

    def parse(self, table: Mapping[str, Any], report: Report) -> OutboxTarget:
        _unknown(table, set(), "notify.outbox", report)
        return OutboxTarget()

    def transport(self, target: OutboxTarget, env: Mapping[str, str], outbox: Path) -> Transport:
        from signals.channels.outbox import OutboxTransport

        return OutboxTransport(outbox, channel=self.name)


def subject_problem(subject: Any) -> str | None:
    """None if the subject template is usable, else why not."""
    if not isinstance(subject, str) or not subject.strip():
        return f"expected a non-empty text, got {subject!r}"
    known = ", ".join("{" + f + "}" for f in SUBJECT_FIELDS)
    try:
        for _, name, _, _ in string.Formatter().parse(subject):
            if name is not None and name.split(".")[0].split("[")[0] not in SUBJECT_FIELDS:
                return f"unknown field {{{name}}} (known: {known})"
        sample = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
        subject.format(title="t", date="d", start=sample, end=sample, stories=1)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"cannot be filled in: {exc} (fields: {known})"
    return None


CHANNELS: dict[str, Channel] = {
    "slack": SlackChannel(),
    "email": EmailChannel(),
    "outbox": OutboxChannel(),
}
