"""The weekly brief by e-mail, received by a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from signals.channels.email import parse_smtp_url
from signals.delivery import DeliveryError
from tests.conftest import run_cli
from tests.delivery_helpers import (
    END,
    HOSTILE_EVIDENCE,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    ledger_rows,
    run_signals,
    setup_project,
    signals_cmd,
)
from tests.smtpserver import Mailbox, self_signed

MONDAY = "2026-11-30T12:05:00Z"  # just after the Monday 07:00 EST brief
USER, PASSWORD = "signals", "p@ss w0rd/secret"


@pytest.fixture(autouse=True)
def _no_other_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SIGNALS_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tls_mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # trust the test certificate, nothing else
    mailbox = Mailbox(login=(USER, PASSWORD), cert=cert).start()
    yield mailbox
    mailbox.stop()


@pytest.fixture
def plain_mailbox() -> Iterator[Mailbox]:
    mailbox = Mailbox().start()
    yield mailbox
    mailbox.stop()


def test_weekly_brief_arrives_over_starttls_as_text_and_html(
    tmp_path: Path, tls_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    rule_file = rules / "weekly-email.toml"
    rule_file.write_text(
        rule_file.read_text().replace(
            'title = "AI infrastructure weekly brief"', 'title = "Wochenbrief — KI-Infrastruktur"'
        )
    )
    monkeypatch.setenv("SIGNALS_SMTP_URL", tls_mailbox.url("smtp", USER, PASSWORD, starttls="true"))
    result = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert result.exit_code == 0, result.output
    [message] = tls_mailbox.messages
    assert tls_mailbox.envelopes == [("signals@example.org", ["leadership@example.org"])]
    assert tls_mailbox.auth_attempts == [USER]
    assert message["Subject"] == "Wochenbrief — KI-Infrastruktur: week to Mon 30 Nov 2026"
    assert (
        message["From"] == "signals <signals@example.org>"
        and message["To"] == "leadership@example.org"
    )
    sent_at = parsedate_to_datetime(message["Date"])
    assert sent_at.utcoffset() is not None and sent_at.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]
    [row] = ledger_rows(builder)
    assert message["Message-ID"] == row["external_id"]
    assert message["Message-ID"].startswith("<signals.weekly-email.") and message[
        "Message-ID"
    ].endswith("@example.org>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content_charset() == "utf-8"  # type: ignore[union-attr]
    for body in (text, html):
        assert "Additions to the Entity List" in body and "Upcoming dates".upper() in body.upper()
        assert "Microsoft signs $10 billion AI capacity deal with Nebius for GPU clusters" in body
    assert "INFRASTRUCTURE · 2 stories (+1 vs previous 1)" in text
    assert 'style="' in html and "<style" not in html  # inline CSS only: what mail clients keep
    assert (row["status"], row["transport"]) == ("sent", "smtp")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_hostile_feed_text_is_inert_in_the_html_and_text_parts(
    tmp_path: Path, plain_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    builder.item(
        HOSTILE_TITLE,
        source="evil-feed",
        first_seen=END - timedelta(hours=1),
        url='https://example.org/x" onmouseover="alert(1)',
        summary=HOSTILE_SUMMARY,
        tags={"policy_shifts": (0.99, [*HOSTILE_EVIDENCE, '"><img src=x onerror=alert(2)>'])},
    )
    builder.item(
        "Click <a href='javascript:alert(3)'>here</a>",
        source="evil-feed",
        first_seen=END - timedelta(hours=1),
        url="javascript:alert(3)",
        tags={"policy_shifts": 0.98},
    )
    builder.source("evil-feed", name="Evil <img src=x onerror=alert(4)> *feed* <!channel>")
    builder.poll("evil-feed", END - timedelta(hours=1), outcome="http_503")  # health footer too
    monkeypatch.setenv("SIGNALS_SMTP_URL", plain_mailbox.url())
    result = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert result.exit_code == 0, result.output
    [message] = plain_mailbox.messages
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Evil &lt;img src=x onerror=alert(4)&gt; *feed* &lt;!channel&gt;" in html
    parser = _Tags()
    parser.feed(html)
    assert {tag for tag, _ in parser.tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "table",
        "tr",
        "td",
        "h1",
        "h2",
        "p",
        "a",
        "div",
        "span",
        "strong",
        "code",
    }
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name == "href":
                assert value is not None and value.startswith("https://example.org/"), value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html  # evidence, escaped as text
    assert "Click &lt;a href=&#39;javascript:alert(3)&#39;&gt;here&lt;/a&gt;" in html
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert HOSTILE_TITLE in text  # plain text carries it verbatim, where it is inert


def test_crash_after_the_server_accepted_resends_with_the_same_message_id(
    tmp_path: Path, plain_mailbox: Mailbox
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    env = {**os.environ, "SIGNALS_SMTP_URL": plain_mailbox.url()}
    proc = subprocess.Popen(
        signals_cmd(sources, rules, "digest", "weekly-email", "--now", MONDAY),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    plain_mailbox.on_data = lambda: os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and len(plain_mailbox.messages) == 1
    assert ledger_rows(builder)[0]["status"] == "pending"

    plain_mailbox.on_data = None
    rerun = run_signals(sources, rules, "digest", "weekly-email", "--now", MONDAY, env=env)
    assert rerun.returncode == 0, rerun.stderr
    # SMTP cannot tell whether the first one went through: at-least-once, same Message-ID.
    first, second = plain_mailbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert [(r["status"], r["attempts"]) for r in ledger_rows(builder)] == [("sent", 2)]
    third = run_signals(sources, rules, "digest", "weekly-email", "--now", MONDAY, env=env)
    assert "already sent" in third.stderr and len(plain_mailbox.messages) == 2


def test_smtps_with_implicit_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    mailbox = Mailbox(login=(USER, PASSWORD), cert=cert, implicit_tls=True).start()
    try:
        sources, _builder, rules = setup_project(tmp_path, ("weekly-email",))
        monkeypatch.setenv("SIGNALS_SMTP_URL", mailbox.url("smtps", USER, PASSWORD))
        result = run_cli(
            "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
        )
        assert result.exit_code == 0, result.output
        assert len(mailbox.messages) == 1 and mailbox.auth_attempts == [USER]
    finally:
        mailbox.stop()


def test_a_wrong_password_fails_without_revealing_it(
    tmp_path: Path, tls_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    wrong = "not-the-password-but-secret"
    monkeypatch.setenv("SIGNALS_SMTP_URL", tls_mailbox.url("smtp", USER, wrong, starttls="true"))
    result = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert result.exit_code == 1
    assert "authentication failed" in result.output and "(will retry)" in result.output
    assert wrong not in result.output
    [row] = ledger_rows(builder)
    assert row["status"] == "failed" and wrong not in row["error"] and USER in row["error"]
    assert tls_mailbox.messages == []


def test_an_unusable_smtp_url_is_a_recorded_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    monkeypatch.setenv("SIGNALS_SMTP_URL", "ftp://user:hunter2@mail.example.org")
    result = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert result.exit_code == 1
    assert "SIGNALS_SMTP_URL: scheme must be smtp or smtps, got 'ftp'" in result.output
    assert "hunter2" not in result.output
    assert [(r["status"], r["transport"]) for r in ledger_rows(builder)] == [
        ("failed", "unavailable")
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://u:p%40ss@mail.example.org:587?starttls=true",
            ("mail.example.org", 587, False, True, "u", "p@ss"),
        ),
        ("smtp://mail.example.org:587", ("mail.example.org", 587, False, True, None, None)),
        ("smtp://relay.local", ("relay.local", 25, False, False, None, None)),
        ("smtps://u:p@mail.example.org", ("mail.example.org", 465, True, False, "u", "p")),
    ],
)
def test_smtp_url_forms(url: str, expected: tuple[object, ...]) -> None:
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.tls, s.starttls, s.user, s.password) == expected
    assert s.password is None or f":{s.password}@" not in str(s)


def test_smtp_url_errors_do_not_echo_the_password() -> None:
    with pytest.raises(DeliveryError) as caught:
        parse_smtp_url("smtp://u:topsecret@mail.example.org?tls=1")
    assert str(caught.value) == "SIGNALS_SMTP_URL: unknown option 'tls' (known: starttls, timeout)"


def _two_recipients(rules: Path) -> None:
    rule_file = rules / "weekly-email.toml"
    rule_file.write_text(
        rule_file.read_text().replace(
            'to = ["leadership@example.org"]', 'to = ["leadership@example.org", "gone@example.org"]'
        )
    )


def test_a_partly_refused_recipient_list_is_sent_once_and_the_refusal_recorded(
    tmp_path: Path, plain_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    _two_recipients(rules)
    plain_mailbox.refuse = {"gone@example.org"}
    monkeypatch.setenv("SIGNALS_SMTP_URL", plain_mailbox.url())
    first = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    # The accepted recipient has the brief: the window is sent, the refusal is told.
    assert first.exit_code == 0, first.output
    assert "refused gone@example.org (550 5.1.1 no such mailbox here)" in first.stderr
    assert plain_mailbox.envelopes == [("signals@example.org", ["leadership@example.org"])]
    [row] = ledger_rows(builder)
    assert row["status"] == "sent" and row["attempts"] == 1
    assert row["error"] == "refused gone@example.org (550 5.1.1 no such mailbox here)"

    for _ in range(2):  # neither a rerun nor the daemon's retry sends it to anyone again
        again = run_cli(
            "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
        )
        assert again.exit_code == 0 and "already sent" in again.stderr
    assert len(plain_mailbox.messages) == 1


def test_every_recipient_refused_is_a_failure_retried_later(
    tmp_path: Path, plain_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    _two_recipients(rules)
    plain_mailbox.refuse = {"gone@example.org", "leadership@example.org"}
    monkeypatch.setenv("SIGNALS_SMTP_URL", plain_mailbox.url())
    result = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert result.exit_code == 1
    assert "the server refused every recipient" in result.output
    assert plain_mailbox.messages == []
    [row] = ledger_rows(builder)
    assert row["status"] == "failed"


def test_the_smtp_password_never_reaches_logs_errors_or_the_archive(
    tmp_path: Path, tls_mailbox: Mailbox
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    wrong = "wrong p@ss/secret"
    url = tls_mailbox.url("smtp", USER, wrong, starttls="true")
    env = {**os.environ, "SIGNALS_SMTP_URL": url}
    for _ in range(2):  # a failure, then its retry (at once, by hand)
        result = run_signals(
            sources, rules, "-vv", "digest", "weekly-email", "--now", MONDAY, env=env
        )
        assert result.returncode == 1 and "authentication failed" in result.stderr
        for secret in (wrong, "p%40ss%2Fsecret", url):
            assert secret not in result.stderr + result.stdout
    builder.close()
    for path in tmp_path.glob("archive.db*"):
        assert wrong.encode() not in path.read_bytes() and b"p%40ss" not in path.read_bytes()


def test_a_server_that_fumbles_quit_after_accepting_the_message_gets_it_once(
    tmp_path: Path, plain_mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    plain_mailbox.quit_reply = "421 4.3.0 shutting down"
    monkeypatch.setenv("SIGNALS_SMTP_URL", plain_mailbox.url())
    first = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert first.exit_code == 0, first.output  # the message was accepted: that is what counts
    assert [r["status"] for r in ledger_rows(builder)] == ["sent"]
    again = run_cli(
        "--rules", str(rules), "digest", "weekly-email", "--now", MONDAY, sources=sources
    )
    assert "already sent" in again.stderr and len(plain_mailbox.messages) == 1
