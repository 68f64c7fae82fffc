"""The commands: signals digest, signals rules test, and the daemon's digest catch-up."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signals.rules import Schedule
from signals.times import utcnow
from tests.conftest import run_cli
from tests.delivery_helpers import NOW, ledger_rows, setup_project, signals_cmd, slack, slack_env
from tests.slackserver import FakeSlack

__all__ = ["slack"]


@pytest.fixture(autouse=True)
def _no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_WEBHOOK_URL",
        "SIGNALS_SMTP_URL",
        "SIGNALS_SLACK_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_without_slack_or_smtp_the_digest_goes_to_the_outbox_and_is_printed(tmp_path: Path) -> None:
    sources, builder, rules = setup_project(tmp_path, ("daily-slack", "weekly-email"))
    result = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "AI infrastructure daily\nMon 23 Nov 08:00 → Tue 24 Nov 08:00 EST"
    )
    assert "set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL to post it" in result.stderr
    [text_file] = (tmp_path / "outbox" / "daily-slack").glob("*.txt")
    assert text_file.read_text() == result.stdout
    assert text_file.name.startswith("2026-11-24_0800_slack_")
    [row] = ledger_rows(builder)
    assert (row["status"], row["transport"], row["external_id"]) == (
        "sent",
        "outbox",
        str(text_file),
    )

    again = run_cli("--rules", str(rules), "digest", "daily-slack", "--now", NOW, sources=sources)
    assert again.exit_code == 0 and again.stdout == ""
    assert (
        "was already sent to slack (via the outbox)" in again.stderr
        and "nothing sent" in again.stderr
    )

    brief = run_cli(
        "--rules",
        str(rules),
        "digest",
        "weekly-email",
        "--now",
        "2026-11-30T12:05:00Z",
        "--format",
        "html",
        sources=sources,
    )
    assert brief.exit_code == 0, brief.output
    assert brief.stdout.startswith("<!DOCTYPE html>")
    assert {p.suffix for p in (tmp_path / "outbox" / "weekly-email").iterdir()} == {".txt", ".html"}


def test_dry_run_prints_each_format_and_leaves_the_ledger_alone(tmp_path: Path) -> None:
    sources, builder, rules = setup_project(tmp_path)
    slack_json = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        NOW,
        "--dry-run",
        "--format",
        "slack",
        sources=sources,
    )
    assert slack_json.exit_code == 0, slack_json.output
    messages = json.loads(slack_json.stdout)
    assert messages[0]["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "AI infrastructure daily", "emoji": True},
    }
    assert "nothing sent, ledger untouched" in slack_json.stderr
    html = run_cli(
        "--rules",
        str(rules),
        "digest",
        "daily-slack",
        "--now",
        NOW,
        "--dry-run",
        "--format",
        "html",
        sources=sources,
    )
    assert "<h2" in html.stdout and "Policy shifts" in html.stdout
    text = run_cli(
        "--rules", str(rules), "digest", "daily-slack", "--now", NOW, "--dry-run", sources=sources
    )
    assert "POLICY SHIFTS · 1 story" in text.stdout
    assert ledger_rows(builder) == [] and not (tmp_path / "outbox").exists()


def test_digest_command_usage_errors(tmp_path: Path) -> None:
    sources, _builder, rules = setup_project(tmp_path, ("daily-slack", "export-controls-alert"))
    alert = run_cli("--rules", str(rules), "digest", "export-controls-alert", sources=sources)
    assert alert.exit_code == 2
    assert "rule 'export-controls-alert' is an alert" in alert.output
    assert "signals rules test export-controls-alert --since 7d" in alert.output
    unknown = run_cli("--rules", str(rules), "digest", "daily", sources=sources)
    assert unknown.exit_code == 2
    assert (
        "unknown rule 'daily'" in unknown.output
        and "known: daily-slack, export-controls-alert" in unknown.output
    )
    bad_now = run_cli(
        "--rules", str(rules), "digest", "daily-slack", "--now", "tuesday", sources=sources
    )
    assert bad_now.exit_code == 2 and "--now: expected an ISO 8601 time" in bad_now.output


def test_rules_test_replays_a_digest_window_by_window_without_sending(tmp_path: Path) -> None:
    sources, builder, rules = setup_project(tmp_path)
    result = run_cli(
        "--rules",
        str(rules),
        "rules",
        "test",
        "daily-slack",
        "--since",
        "7d",
        "--now",
        NOW,
        sources=sources,
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == "daily-slack: digest on '0 8 * * mon-fri' (America/New_York), 5 windows since 2026-11-17 13:05 UTC"
    )
    headers = [line for line in lines if line.startswith("── ")]
    assert (
        headers[-1]
        == "── Mon 23 Nov 08:00 → Tue 24 Nov 08:00 EST · 8 stories → #ai-race-daily [slack: not sent]"
    )
    assert headers[-2].startswith("── Fri 20 Nov 08:00 → Mon 23 Nov 08:00 EST · 4 stories")
    assert "   • Policy shifts: Additions to the Entity List [+2 sources]" in lines
    as_json = run_cli(
        "--rules",
        str(rules),
        "rules",
        "test",
        "daily-slack",
        "--since",
        "2d",
        "--now",
        NOW,
        "--json",
        sources=sources,
    )
    windows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [w["window_end"] for w in windows] == ["2026-11-23T13:00:00Z", "2026-11-24T13:00:00Z"]
    assert windows[1]["sections"]["policy_shifts"]["lines"][0]["sources"] == 3
    assert ledger_rows(builder) == []


def test_rules_test_replays_an_alert_after_each_poll(tmp_path: Path) -> None:
    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    result = run_cli(
        "--rules",
        str(rules),
        "rules",
        "test",
        "export-controls-alert",
        "--since",
        "3d",
        "--now",
        NOW,
        "--json",
        sources=sources,
    )
    assert result.exit_code == 0, result.output
    sent = [json.loads(line) for line in result.stdout.splitlines()]
    assert [s["at"] for s in sent] == ["2026-11-23T07:00:01Z", "2026-11-24T08:00:01Z"]
    assert sent[1]["entries"][0]["titles"] == ["Additions to the Entity List"]
    text = run_cli(
        "--rules",
        str(rules),
        "rules",
        "test",
        "export-controls-alert",
        "--since",
        "3d",
        "--now",
        NOW,
        sources=sources,
    )
    assert text.stdout.splitlines()[0] == (
        "export-controls-alert: match alert, evaluated after every poll since 2026-11-21 13:05 UTC:"
        " 2 messages → #export-controls"
    )
    assert (
        "   • Additions to the Entity List  (why: Entity List, Bureau of Industry and Security,"
        " advanced computing, 15 CFR 744)" in text.stdout
    )
    assert ledger_rows(builder) == []


def test_help_of_the_new_commands_stays_light() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from signals.cli import cli\n"
        "for args in (['digest', '--help'], ['rules', '--help'], ['rules', 'test', '--help'], ['rules', 'check', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "heavy = {'httpx', 'spacy', 'sqlite_utils', 'feedparser', 'bs4', 'slack_sdk', 'apscheduler', 'jinja2'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _sent_windows(db: Path) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(
                "SELECT window_end, status FROM deliveries ORDER BY window_end"
            ).fetchall()
    except sqlite3.OperationalError:
        return []


@pytest.mark.slow
def test_daemon_starts_a_new_rule_with_its_latest_missed_digest_then_stays_quiet(
    tmp_path: Path, slack: FakeSlack
) -> None:
    schedule = Schedule("0 8 * * mon-fri", "America/New_York")
    latest = schedule.latest_at_or_before(utcnow())
    assert latest is not None
    sources, _builder, rules = setup_project(tmp_path, end=latest)  # the days the daemon missed
    env = {**slack_env(slack), "PATH": "/usr/bin:/bin"}
    daemon = subprocess.Popen(
        signals_cmd(sources, rules, "run", "--tick", "0.3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not slack.messages:
            time.sleep(0.1)
        time.sleep(2)  # several more ticks: retries and catch-up must not send again
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, stderr.decode()[-3000:]
    assert len(slack.messages) == 1, stderr.decode()[-3000:]
    assert _sent_windows(tmp_path / "archive.db") == [
        (latest.strftime("%Y-%m-%dT%H:%M:%SZ"), "sent")
    ]
    assert slack.messages[0].metadata["event_payload"]["rule"] == "daily-slack"  # type: ignore[index]


def test_a_channel_without_credentials_goes_to_the_outbox_and_says_so_everywhere(
    tmp_path: Path,
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("weekly-email",))
    result = run_cli(
        "--rules",
        str(rules),
        "digest",
        "weekly-email",
        "--now",
        "2026-11-30T12:05:00Z",
        sources=sources,
    )
    assert result.exit_code == 0, result.output
    [text_file] = (tmp_path / "outbox" / "weekly-email").glob("*.txt")
    hint = "not mailed to leadership@example.org: set SIGNALS_SMTP_URL to mail it"
    assert f"written to the outbox: {text_file}" in result.stderr and hint in result.stderr
    [row] = ledger_rows(builder)
    # Sent (the outbox has it, it is not retried or held), and the row says why not mailed.
    assert (row["status"], row["transport"], row["error"]) == ("sent", "outbox", hint)


def test_run_once_tells_which_digests_it_wrote_to_the_outbox_and_why(tmp_path: Path) -> None:
    schedule = Schedule("0 8 * * mon-fri", "America/New_York")
    latest = schedule.latest_at_or_before(utcnow())
    assert latest is not None
    sources, _builder, rules = setup_project(tmp_path, end=latest)
    result = run_cli("--rules", str(rules), "run", "--once", sources=sources)
    assert result.exit_code == 0, result.output
    assert "daily-slack: window ending" in result.stderr
    assert (
        "not posted to Slack #ai-race-daily: set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL to post it"
        in result.stderr
    )


def test_rules_test_tells_a_story_once_like_the_daemon(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.delivery_helpers import END

    sources, builder, rules = setup_project(tmp_path)
    builder.item(
        "Microsoft books 2 GW of capacity with Nebius",
        source="dcd-news",
        first_seen=END - timedelta(hours=3),
        tags={"customer_traction": 0.9},
        story="s-nebius",
    )
    builder.item(
        "Nebius confirms the Microsoft capacity deal",
        source="reuters",
        first_seen=END + timedelta(hours=3),
        tags={"customer_traction": 0.9},
        story="s-nebius",
    )
    builder.db.conn.commit()
    result = run_cli(
        "--rules",
        str(rules),
        "rules",
        "test",
        "daily-slack",
        "--since",
        "2d",
        "--full",
        "--now",
        "2026-11-25T13:05:00Z",
        sources=sources,
    )
    assert result.exit_code == 0, result.output
    assert "Microsoft books 2 GW of capacity with Nebius" in result.stdout
    assert "Nebius confirms the Microsoft capacity deal" not in result.stdout
