"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for e-mail tests.

aiosmtpd cannot bind port 0, so a free port is picked first. Optional: AUTH with one
user, STARTTLS or implicit TLS with a self-signed certificate made by ``openssl``,
recipients refused at ``RCPT TO`` (``refuse``), and a hook run after the message is
received and before the server answers (a crash there is the worst moment for
exactly-once).
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.delivery_helpers import free_port


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (clients trust it via SSL_CERT_FILE)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Mailbox:
    def __init__(
        self,
        *,
        login: tuple[str, str] | None = None,
        cert: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
    ):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.on_data: Callable[[], None] | None = None
        self.refuse: set[str] = set()  # recipients answered with 550 at RCPT TO
        self.quit_reply: str | None = None  # e.g. "421 ..." instead of "221 Bye"
        self.port = free_port()
        self.login = login
        self.cert = cert
        self.implicit_tls = implicit_tls
        self.auth_attempts: list[str] = []
        self._controller: Any = None

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        mailbox = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address in mailbox.refuse:
                    return "550 5.1.1 no such mailbox here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
                return mailbox.quit_reply or "221 Bye"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                mailbox.messages.append(message)  # type: ignore[arg-type]
                mailbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                if mailbox.on_data is not None:
                    mailbox.on_data()
                return "250 Message accepted for delivery"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> Any:
            user = data.login.decode()
            mailbox.auth_attempts.append(user)
            ok = mailbox.login is not None and (user, data.password.decode()) == mailbox.login
            return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

        kwargs: dict[str, Any] = {}
        context = None
        if self.cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
        if self.implicit_tls:
            kwargs["ssl_context"] = context
        elif context is not None:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
        if self.login is not None:
            kwargs["authenticator"] = authenticate
            # With implicit TLS the whole session is encrypted, but aiosmtpd does not know:
            # it must offer AUTH without STARTTLS, and then (to avoid its warning) optional.
            kwargs["auth_require_tls"] = not self.implicit_tls
            kwargs["auth_required"] = not self.implicit_tls
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def url(self, scheme: str = "smtp", user: str = "", password: str = "", **query: str) -> str:
        from urllib.parse import quote

        auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{scheme}://{auth}127.0.0.1:{self.port}" + (f"?{params}" if params else "")
