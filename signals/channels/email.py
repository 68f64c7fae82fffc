"""E-mail transport: a multipart text + HTML message over SMTP, from ``SIGNALS_SMTP_URL``.

``smtp://user:pass@host:587?starttls=true`` (STARTTLS, the default on port 587),
``smtp://host:25`` (plain, for a local relay), ``smtps://user:pass@host:465`` (TLS from
the first byte). User and password are percent-decoded; ``timeout=30`` is optional.

The ``Message-ID`` is derived from the rule and the window, so a resend after a crash
(SMTP cannot tell us whether a message went through) carries the same id and mail
clients and archives recognise the duplicate. The password never appears in an error.

A server that accepts some recipients and refuses others has delivered the message to
the accepted ones: the send counts as done (never repeated to them) and the refusals are
recorded on the ledger row and told to the user. Only when every recipient is refused
does the send fail and get retried, since nobody has it yet.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from signals.channels import Sent
from signals.delivery import Attempt, DeliveryError
from signals.digest.model import Document
from signals.logs import event
from signals.redact import redact_text
from signals.rules.model import EmailTarget

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool  # implicit TLS (smtps)
    starttls: bool
    user: str | None
    password: str | None
    timeout: float

    def __str__(self) -> str:
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.user}@" if self.user else ""
        return (
            f"{scheme}://{user}{self.host}:{self.port}{'?starttls=true' if self.starttls else ''}"
        )


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse SIGNALS_SMTP_URL; errors name the variable and never echo the password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DeliveryError(
            "SIGNALS_SMTP_URL: not a URL such as smtp://user:pass@host:587"
        ) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise DeliveryError(
            f"SIGNALS_SMTP_URL: scheme must be smtp or smtps, got {parts.scheme or 'none'!r}"
        )
    if not parts.hostname:
        raise DeliveryError("SIGNALS_SMTP_URL: no host (expected smtp://user:pass@host:587)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise DeliveryError(
            f"SIGNALS_SMTP_URL: unknown option {sorted(unknown)[0]!r} (known: starttls, timeout)"
        )
    tls = parts.scheme == "smtps"
    port = port or (
        587 if query.get("starttls", "").lower() in TRUE else DEFAULT_PORTS[parts.scheme]
    )
    starttls = not tls and query.get("starttls", "true" if port == 587 else "false").lower() in TRUE
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise DeliveryError("SIGNALS_SMTP_URL: timeout must be a number of seconds") from None
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        tls=tls,
        starttls=starttls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def message_id(attempt: Attempt, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "signals.invalid"
    return f"<signals.{attempt.key.rule}.{attempt.key.token}@{domain}>"


def build_message(
    document: Document, target: EmailTarget, attempt: Attempt, now: datetime
) -> EmailMessage:
    """The e-mail for a digest or an alert: text part, HTML part, stable Message-ID."""
    from signals.digest.render import render_html, render_text

    message = EmailMessage()
    message["Subject"] = " ".join(target.subject.format(**document.subject_fields()).split())
    message["From"] = target.sender
    message["To"] = ", ".join(target.to)
    message["Date"] = format_datetime(document.window.local(now))
    message["Message-ID"] = message_id(attempt, target.sender)
    message["X-Signals-Rule"] = attempt.key.rule
    message["X-Signals-Window"] = f"{attempt.key.window_start}/{attempt.key.window_end}"
    message.set_content(render_text(document), charset="utf-8")
    message.add_alternative(render_html(document), subtype="html", charset="utf-8")
    return message


class SmtpTransport:
    name = "smtp"

    def __init__(self, url: str, target: EmailTarget):
        self._url = url
        self.settings = parse_smtp_url(url)
        self.target = target
        self.where = (
            f"e-mail via {self.settings.host}:{self.settings.port} to {', '.join(target.to)}"
        )

    def _secrets(self) -> list[str]:
        password = self.settings.password
        # The URL is a secret only when it carries a password (else it would mask the host).
        return [password, self._url] if password else []

    def send(self, document: Document, attempt: Attempt) -> Sent:
        message = build_message(document, self.target, attempt, attempt.now)
        settings = self.settings
        context = ssl.create_default_context()
        sent_data = accepted = False
        refused: dict[str, tuple[int, bytes]] = {}
        try:
            smtp: smtplib.SMTP
            if settings.tls:
                smtp = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with smtp:
                smtp.ehlo()
                if settings.starttls:
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if settings.user:
                    smtp.login(settings.user, settings.password or "")
                sent_data = True
                refused = smtp.send_message(message)
                accepted = True
        except smtplib.SMTPRecipientsRefused as exc:
            # Nobody got it, so a retry duplicates nothing (the address may be fixed by then).
            what = f"the server refused every recipient: {refusals(exc.recipients)}"
            raise DeliveryError(self._error(what, None)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise DeliveryError(self._error("the server refused the message", exc)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(self._error("authentication failed", exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            if not accepted:
                # Once DATA may have started, the server may have queued the message.
                raise DeliveryError(
                    self._error("could not send", exc), ambiguous=sent_data
                ) from None
            # The server accepted the message; only QUIT or closing failed. Failing now
            # would mail the same brief again on the retry.
            event(
                log,
                "smtp_quit_failed",
                logging.WARNING,
                error=self._error(
                    "closing the connection failed after the message was accepted", exc
                ),
            )
        # Some recipients were accepted and have the message: the window is sent. Failing
        # it would resend to them on every retry; the refused ones are reported instead.
        note = redact_text(f"refused {refusals(refused)}", self._secrets()) if refused else None
        return Sent(external_id=str(message["Message-ID"]), where=self.where, note=note)

    def _error(self, what: str, exc: Exception | None) -> str:
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        return redact_text(f"{self.where} ({self.settings}): {what}{detail}", self._secrets())


def refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    """``a@x (550 no such user), b@y (452 mailbox full)``, addresses sorted."""
    told = []
    for address in sorted(refused):
        code, reply = refused[address]
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        told.append(f"{address} ({code} {' '.join(text.split())})")
    return ", ".join(told)
