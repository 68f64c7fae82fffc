"""Digests to Slack through a local endpoint speaking the Web API: once, safely, within limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from signals.digest.slack import MAX_CHARS
from tests.conftest import run_cli
from tests.delivery_helpers import (
    END,
    HOSTILE_EVIDENCE,
    HOSTILE_SUMMARY,
    HOSTILE_TITLE,
    NOW,
    all_texts,
    ledger_rows,
    run_signals,
    setup_project,
    signals_cmd,
    slack,
    slack_env,
    slack_markup,
)
from tests.slackserver import TOKEN, FakeSlack

__all__ = ["slack"]  # the fixture, imported


@pytest.fixture
def env(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in slack_env(slack).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SIGNALS_SMTP_URL", raising=False)
    return dict(os.environ)


def test_one_message_per_window_through_a_429_and_a_rerun_sends_nothing(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    slack.rate_limit["chat.postMessage"] = 1  # the first post is refused with Retry-After: 1
    first = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert first.exit_code == 0, first.output
    assert slack.calls_to("chat.postMessage") == 2 and len(slack.messages) == 1
    posted = slack.messages[0]
    assert posted.channel == "C0DAILY01" and posted.metadata is not None
    assert posted.metadata["event_type"] == "signals_delivery"
    assert "sent to Slack #ai-race-daily (8 stories)" in first.stderr
    [row] = ledger_rows(builder)
    assert row | {"error": None} == {
        "rule": "daily-slack",
        "channel": "slack",
        "window_start": "2026-11-23T13:00:00Z",
        "window_end": "2026-11-24T13:00:00Z",
        "status": "sent",
        "external_id": posted.ts,
        "error": None,
        "attempts": 1,
        "transport": "slack_api",
    }

    again = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        "2026-11-24T20:00:00Z",
        sources=sources,
    )
    assert again.exit_code == 0
    assert "already sent to slack" in again.stderr and "nothing sent" in again.stderr
    assert posted.ts in again.stderr
    assert len(slack.messages) == 1


def test_crash_between_post_and_ledger_update_is_not_sent_twice(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    proc = subprocess.Popen(
        signals_cmd(sources, rules, "digest", "daily-slack", "--now", NOW),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # Slack has stored the message; the client dies before it hears back or records it.
    slack.after_post = lambda posted: os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(slack.messages) == 1
    [row] = ledger_rows(builder)
    assert row["status"] == "pending" and row["external_id"] is None

    slack.after_post = None
    rerun = run_signals(sources, rules, "digest", "daily-slack", "--now", NOW, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert len(slack.messages) == 1, "the retry found the crashed attempt's message in the channel"
    assert slack.calls_to("conversations.history") == 1
    [row] = ledger_rows(builder)
    assert (row["status"], row["external_id"], row["attempts"]) == ("sent", slack.messages[0].ts, 2)


def test_hostile_feed_text_is_inert_in_slack(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    builder.item(
        HOSTILE_TITLE,
        source="evil-feed",
        first_seen=END - timedelta(hours=1),
        url="https://example.org/a|b>c <d",
        summary=HOSTILE_SUMMARY,
        tags={"policy_shifts": (0.99, HOSTILE_EVIDENCE)},
    )
    builder.item(
        "<!subteam^S123> click me",
        source="evil-feed",
        first_seen=END - timedelta(hours=1),
        url="javascript:alert(1)",
        tags={"policy_shifts": (0.98, ["<@U999|boss>"])},
    )
    builder.source("evil-feed", name="Evil <!channel> feed")
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    texts = [t for m in slack.messages for t in all_texts({"text": m.text, "blocks": m.blocks})]
    joined = "\n".join(texts)
    for hostile in (
        "<!channel>",
        "<@U123>",
        "<https://evil.example|your bank>",
        "<!here>",
        "<!everyone>",
        "<@U999|boss>",
        "<!subteam^S123>",
        "<#C0DAILY01>",
        "<mailto:",
    ):
        assert hostile not in joined
    assert "&lt;!channel&gt; Entity List: &lt;@U123&gt;" in joined
    # The only markup left is links this code built, to the items' own http(s) URLs.
    for markup in slack_markup(texts):
        url, _, label = markup.partition("|")
        assert url.startswith("https://example.org/") and label, markup
    assert "<https://example.org/a%7Cb%3Ec%20%3Cd|" in joined
    assert "javascript:" not in joined


def _big_archive(builder: object, count: int) -> list[str]:
    from signals.model import CATEGORY_IDS

    titles = []
    for category in CATEGORY_IDS:
        for n in range(count):
            title = f"{category} story {n:02d} " + "with a long descriptive headline " * 6
            titles.append(" ".join(title.split()))
            builder.item(  # type: ignore[attr-defined]
                title,
                source=f"src-{n % 7}",
                first_seen=END - timedelta(hours=1, minutes=n),
                url=f"https://example.org/{category}/{n}?ref=" + "x" * 120,
                tags={
                    category: (
                        0.5 + n / 1000,
                        ["evidence span number one", "and another, rather long, span"],
                    )
                },
            )
    return titles


def test_a_digest_over_slack_limits_is_split_into_a_thread(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    text = (rules / "daily-slack.toml").read_text().replace("per_category = 5", "per_category = 50")
    (rules / "daily-slack.toml").write_text(text)
    titles = _big_archive(builder, 40)
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    parent, *replies = slack.messages
    assert len(replies) >= 3
    assert parent.thread_ts is None and all(r.thread_ts == parent.ts for r in replies)
    for number, message in enumerate(slack.messages, start=1):
        assert len(message.blocks) <= 50
        texts = all_texts(message.blocks)
        assert all(len(t) <= 3000 for t in texts)
        assert sum(len(t) for t in texts) <= MAX_CHARS + 200
        assert len(json.dumps(message.blocks)) < 40_000
        assert message.metadata is not None and message.metadata["event_payload"]["part"] == number
        if number > 1:
            assert f"part {number} of {len(slack.messages)}" in texts[0]
    everything = "\n".join(t for m in slack.messages for t in all_texts(m.blocks))
    everything = everything.replace("\u200b", "")  # fences around '_': invisible
    for title in titles:
        assert everything.count(title) == 1, title
    [row] = ledger_rows(builder)
    assert row["status"] == "sent" and row["external_id"] == parent.ts


def test_a_refused_send_is_recorded_failed_and_retried_by_the_next_run(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    slack.fail_with = "not_in_channel"
    failed = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert failed.exit_code == 1
    assert "Slack API error not_in_channel (HTTP 200) (will retry)" in failed.output
    assert [(r["status"], r["attempts"]) for r in ledger_rows(builder)] == [("failed", 1)]
    slack.fail_with = None
    retried = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert retried.exit_code == 0, retried.output
    assert len(slack.messages) == 1
    assert [(r["status"], r["attempts"], r["error"]) for r in ledger_rows(builder)] == [
        ("sent", 2, None)
    ]


def test_the_token_never_reaches_the_archive_errors_or_logs(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    wrong = "xoxb-wrong-token-that-is-secret"
    monkeypatch.setenv("SLACK_BOT_TOKEN", wrong)
    result = run_signals(
        sources, rules, "-vv", "digest", "daily-slack", "--now", NOW, env=dict(os.environ)
    )
    assert result.returncode == 1
    assert "Slack API error invalid_auth" in result.stderr
    assert wrong not in result.stderr + result.stdout
    [row] = ledger_rows(builder)
    assert row["status"] == "failed" and wrong not in (row["error"] or "")
    builder.close()
    for path in tmp_path.glob("archive.db*"):
        assert wrong.encode() not in path.read_bytes() and TOKEN.encode() not in path.read_bytes()


def test_incoming_webhook_is_the_alternative_to_a_bot_token(
    tmp_path: Path, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SIGNALS_SMTP_URL", raising=False)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    sources, builder, rules = setup_project(tmp_path)
    slack.rate_limit["webhook"] = 1
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    [posted] = slack.webhook_posts
    assert posted["blocks"][0]["text"]["text"] == "AI infrastructure daily"
    assert posted["unfurl_links"] is False
    [row] = ledger_rows(builder)
    assert (row["status"], row["transport"], row["external_id"]) == (
        "sent",
        "slack_webhook",
        "webhook:1",
    )
    assert slack.webhook_url not in result.output


def test_window_key_is_stable_whenever_the_digest_is_sent(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    late = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        "2026-11-24T23:59:00Z",
        sources=sources,
    )
    assert late.exit_code == 0
    early = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        "2026-11-24T13:00:00Z",
        sources=sources,
    )
    assert "already sent" in early.stderr
    before = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        "2026-11-24T12:59:59Z",
        sources=sources,
    )
    assert before.exit_code == 0 and "sent to Slack" in before.stderr  # Monday's window, a new one
    assert [(r["window_start"], r["window_end"]) for r in ledger_rows(builder)] == [
        ("2026-11-23T13:00:00Z", "2026-11-24T13:00:00Z"),
        ("2026-11-20T13:00:00Z", "2026-11-23T13:00:00Z"),
    ]
    assert len(slack.messages) == 2


def test_crash_in_the_middle_of_a_thread_resumes_without_repeating_a_part(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    sources, builder, rules = setup_project(tmp_path)
    text = (rules / "daily-slack.toml").read_text().replace("per_category = 5", "per_category = 50")
    (rules / "daily-slack.toml").write_text(text)
    _big_archive(builder, 40)
    proc = subprocess.Popen(
        signals_cmd(sources, rules, "digest", "daily-slack", "--now", NOW),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )

    def crash_on_third(posted: object) -> None:
        if len(slack.messages) == 3:
            os.kill(proc.pid, signal.SIGKILL)

    slack.after_post = crash_on_third
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and len(slack.messages) == 3
    slack.after_post = None
    rerun = run_signals(sources, rules, "digest", "daily-slack", "--now", NOW, env=env)
    assert rerun.returncode == 0, rerun.stderr
    parts = [m.metadata["event_payload"]["part"] for m in slack.messages]  # type: ignore[index]
    total = slack.messages[0].metadata["event_payload"]["parts"]  # type: ignore[index]
    assert parts == list(range(1, total + 1)), "every part exactly once, in order"
    assert all(m.thread_ts == slack.messages[0].ts for m in slack.messages[1:])
    [row] = ledger_rows(builder)
    assert (row["status"], row["attempts"]) == ("sent", 2)


def test_each_part_is_committed_to_the_ledger_before_the_next_is_posted(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    import sqlite3

    sources, builder, rules = setup_project(tmp_path)
    text = (rules / "daily-slack.toml").read_text().replace("per_category = 5", "per_category = 50")
    (rules / "daily-slack.toml").write_text(text)
    _big_archive(builder, 40)
    seen: list[tuple[str, int | None, bool]] = []

    def look(posted: object) -> None:
        # Another connection sees only what was committed: what a crash right now would leave.
        with sqlite3.connect(tmp_path / "archive.db", timeout=5) as other:
            status, progress = other.execute("SELECT status, progress FROM deliveries").fetchone()
        recorded = json.loads(progress) if progress else {}
        seen.append((status, recorded.get("parts"), bool(recorded.get("ts"))))

    slack.after_post = look
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    assert len(seen) >= 3
    # While part n is being posted, the row is pending and parts 1..n-1 are on record.
    assert seen == [("pending", None, False)] + [("pending", n, True) for n in range(1, len(seen))]
    [row] = ledger_rows(builder)
    assert row["status"] == "sent"


MRKDWN_TITLE = "*URGENT* _act now_ ~not~ `rm -rf /` @here #general https://evil.example"


def test_mrkdwn_formatting_in_feed_text_is_shown_not_applied(
    tmp_path: Path, slack: FakeSlack, env: dict[str, str]
) -> None:
    import re

    sources, builder, rules = setup_project(tmp_path)
    builder.item(
        MRKDWN_TITLE,
        source="evil-feed",
        first_seen=END - timedelta(hours=1),
        tags={"policy_shifts": (0.99, ["> quoted\n```block```", "*bold* evidence"])},
    )
    builder.source("evil-feed", name="Evil_*feed*")
    builder.poll("evil-feed", END - timedelta(hours=1), outcome="http_503")  # health footer
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    [message] = slack.messages
    texts = all_texts({"text": message.text, "blocks": message.blocks})
    # Readable: the reader sees the title's characters exactly (zero-width spaces aside).
    visible = "\n".join(texts).replace("\u200b", "")
    assert MRKDWN_TITLE in visible and "Evil_*feed*" in visible
    for text in texts:
        # Inert: every formatting character of feed text is fenced, so none pairs up.
        for match in re.finditer(r"[_~`]", text):
            if match.group(0) == "`" and "more: `" in text:
                continue  # the overflow command's own code span
            start, end = match.span()
            assert text[start - 1 : start] == "\u200b" and text[end : end + 1] == "\u200b", text
        for line in text.split("\n"):
            assert not line.lstrip().startswith(("&gt;", ">", "```")), line  # no quote, no block
    assert "\u200b*\u200bURGENT\u200b*\u200b" in "\n".join(texts)
    # Slack is told not to parse names, mentions or bare URLs in any text object.
    objects = [b["text"] for b in message.blocks if b["type"] == "section"] + [
        e for b in message.blocks if b["type"] == "context" for e in b["elements"]
    ]
    assert objects and all(o.get("verbatim") is True for o in objects)


def test_a_failing_webhook_never_shows_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.delivery_helpers import free_port

    for name in ("SLACK_BOT_TOKEN", "SIGNALS_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    secret = "XyZsecretHookPart0123"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hooks/T0/B0/{secret}")
    sources, builder, rules = setup_project(tmp_path)
    result = run_signals(
        sources, rules, "-vv", "digest", "daily-slack", "--now", NOW, env=dict(os.environ)
    )
    assert result.returncode == 1 and "could not post part 1 of 1" in result.stderr
    assert secret not in result.stderr + result.stdout
    [row] = ledger_rows(builder)
    assert row["status"] == "failed" and secret not in row["error"]
