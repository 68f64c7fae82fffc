"""Immediate alerts: what arrives is told once, suppressed per story, retried when Slack fails."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from signals.alerts import run_alerts
from signals.config import load_config
from tests.conftest import run_cli, write_sources
from tests.delivery_helpers import END, ledger_rows, setup_project, slack, slack_env
from tests.httpserver import LocalServer, Reply
from tests.slackserver import FakeSlack

__all__ = ["slack"]

ENTITY_LIST = "Additions to the Entity List"
ADVANCED = (
    "Implementation of Additional Export Controls: Certain Advanced Computing Items;"
    " Supercomputer and Semiconductor End Use Updates"
)


def titles(message: object) -> str:
    return json.dumps(message.blocks)  # type: ignore[attr-defined]


def test_export_controls_alert_tells_each_story_once_and_suppresses_repeats(
    tmp_path: Path, slack: FakeSlack
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    config = load_config(sources)
    env = slack_env(slack)

    first = run_alerts(config, builder.db, rules, now=END, env=env)
    assert [o.status for o in first] == ["sent"]
    [message] = slack.messages
    assert message.channel == "C0EXPORT1"
    assert ENTITY_LIST in titles(message) and ADVANCED.split(";")[0] in titles(message)
    assert "NVIDIA H20" not in titles(message)  # policy_shifts, but none of the terms or ECCN facts
    assert "+2 sources" in titles(message)

    assert run_alerts(config, builder.db, rules, now=END + timedelta(minutes=10), env=env) == []

    # The same story from one more source within realert (12h): suppressed. A new story: told.
    builder.item(
        "BIS adds 12 Chinese firms to Entity List",
        source="scmp-tech",
        first_seen=END + timedelta(minutes=15),
        tags={"policy_shifts": 0.9},
        story="story-entity-list",
    )
    builder.item(
        "Entity List additions target drone makers",
        source="fr-bis-documents",
        first_seen=END + timedelta(minutes=16),
        tags={"policy_shifts": 0.95},
    )
    third = run_alerts(config, builder.db, rules, now=END + timedelta(minutes=20), env=env)
    assert [o.status for o in third] == ["sent"]
    assert len(slack.messages) == 2
    assert "drone makers" in titles(slack.messages[1]) and "Chinese firms" not in titles(
        slack.messages[1]
    )

    # After realert, the story may be told again when it grows.
    builder.item(
        "Entity List: reactions from Beijing",
        source="xinhua",
        first_seen=END + timedelta(hours=13),
        tags={"policy_shifts": 0.7},
        story="story-entity-list",
    )
    fourth = run_alerts(
        config, builder.db, rules, now=END + timedelta(hours=13, minutes=5), env=env
    )
    assert [o.status for o in fourth] == ["sent"] and "reactions from Beijing" in titles(
        slack.messages[2]
    )
    assert [r["status"] for r in ledger_rows(builder)] == ["sent", "sent", "sent"]


def test_a_failed_alert_is_retried_after_backoff_and_sent_once(
    tmp_path: Path, slack: FakeSlack
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    config = load_config(sources)
    env = slack_env(slack)
    slack.fail_with = "channel_not_found"
    assert [o.status for o in run_alerts(config, builder.db, rules, now=END, env=env)] == ["failed"]
    slack.fail_with = None
    assert (
        run_alerts(config, builder.db, rules, now=END + timedelta(seconds=30), env=env) == []
    )  # backoff
    retried = run_alerts(config, builder.db, rules, now=END + timedelta(minutes=2), env=env)
    assert [o.status for o in retried] == ["sent"]
    assert len(slack.messages) == 1 and ENTITY_LIST in titles(slack.messages[0])
    assert run_alerts(config, builder.db, rules, now=END + timedelta(minutes=10), env=env) == []
    assert [(r["status"], r["attempts"]) for r in ledger_rows(builder)] == [("sent", 2)]


def test_one_broken_rule_file_does_not_stop_the_others(tmp_path: Path, slack: FakeSlack) -> None:
    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    (rules / "broken.toml").write_text(
        'type = "spike"\naction = "alert"\n[spike]\nfactor = 0\n[notify.outbox]\n'
    )
    outcomes = run_alerts(load_config(sources), builder.db, rules, now=END, env=slack_env(slack))
    assert [o.rule for o in outcomes] == ["export-controls-alert"]


FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>BIS</title>
<item><title>Additions to the Entity List &lt;@U123&gt;</title><guid>fr-2026-1</guid>
<link>https://www.federalregister.gov/d/2026-1</link><pubDate>%s</pubDate>
<description>BIS adds entities to the Entity List.</description></item>
<item><title>Tariff notice</title><guid>fr-2026-2</guid><link>https://www.federalregister.gov/d/2026-2</link>
<pubDate>%s</pubDate></item></channel></rss>"""


def test_run_once_polls_then_alerts_into_the_outbox_out_of_the_box(
    tmp_path: Path, server: LocalServer
) -> None:
    from email.utils import format_datetime

    from signals.times import utcnow

    date = format_datetime(utcnow() - timedelta(hours=1)).encode()
    url = server.route("/bis.rss", Reply(body=FEED % (date, date)))
    sources = write_sources(tmp_path, [{"id": "fr-bis-documents", "url": url}])
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "entity-list.toml").write_text(
        'title = "Entity List"\naction = "alert"\n[when]\nterms = ["Entity List"]\n[notify.slack]\nchannel = "#x"\n'
    )
    first = run_cli("--rules", str(rules), "run", "--once", "--json", sources=sources)
    assert first.exit_code == 0, first.output
    files = sorted((tmp_path / "outbox" / "entity-list").glob("*.txt"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "Additions to the Entity List <@U123>" in text and "Tariff notice" not in text
    payload = json.loads(files[0].with_suffix("").with_suffix(".slack.json").read_text())
    assert "&lt;@U123&gt;" in json.dumps(payload) and "<@U123>" not in json.dumps(payload)
    server.routes.clear()
    second = run_cli("--rules", str(rules), "run", "--once", "--json", sources=sources)
    assert second.exit_code == 0
    assert len(list((tmp_path / "outbox" / "entity-list").glob("*.txt"))) == 1


def test_a_story_that_gains_a_second_source_is_not_alerted_again_within_realert(
    tmp_path: Path, slack: FakeSlack
) -> None:
    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    config = load_config(sources)
    env = slack_env(slack)
    run_alerts(config, builder.db, rules, now=END, env=env)
    told = len(slack.messages)
    first = builder.item(
        "BIS adds 12 entities to the Entity List",
        source="fr-bis",
        first_seen=END + timedelta(hours=1),
        tags={"policy_shifts": 0.9},
    )
    builder.db.conn.commit()
    sent = run_alerts(config, builder.db, rules, now=END + timedelta(hours=1, minutes=1), env=env)
    assert [o.status for o in sent] == ["sent"] and len(slack.messages) == told + 1
    # Another source reports it; story clustering puts both items in one story.
    builder.item(
        "US puts 12 more firms on the Entity List over AI chips",
        source="reuters",
        first_seen=END + timedelta(hours=2),
        tags={"policy_shifts": 0.8},
        story="s-entity-list",
    )
    builder.db.execute("UPDATE items SET story_id = 's-entity-list' WHERE id = ?", [first])
    builder.db.conn.commit()
    assert (
        run_alerts(config, builder.db, rules, now=END + timedelta(hours=2, minutes=1), env=env)
        == []
    )
    # After realert (12h) the story may be told again, with what is new in it only.
    third = builder.item(
        "Entity List additions take effect; China protests",
        source="scmp",
        first_seen=END + timedelta(hours=14),
        tags={"policy_shifts": 0.8},
        story="s-entity-list",
    )
    builder.db.conn.commit()
    again = run_alerts(config, builder.db, rules, now=END + timedelta(hours=14, minutes=1), env=env)
    assert [o.status for o in again] == ["sent"]
    assert again[0].document is not None and again[0].document.item_ids == (third,)


def test_hostile_and_mrkdwn_feed_text_is_inert_in_an_alert_and_its_notification(
    tmp_path: Path, slack: FakeSlack
) -> None:
    from tests.delivery_helpers import HOSTILE_TITLE, all_texts, slack_markup

    sources, builder, rules = setup_project(tmp_path, ("export-controls-alert",))
    config = load_config(sources)
    env = slack_env(slack)
    run_alerts(config, builder.db, rules, now=END, env=env)
    slack.messages.clear()
    title = f"Entity List: {HOSTILE_TITLE} *now* _x_ onerror=alert(1)\n> quote"
    builder.item(
        title,
        source="fr-bis",
        first_seen=END + timedelta(hours=1),
        tags={"policy_shifts": 0.9},
    )
    builder.db.conn.commit()
    sent = run_alerts(config, builder.db, rules, now=END + timedelta(hours=1, minutes=1), env=env)
    assert [o.status for o in sent] == ["sent"]
    [message] = slack.messages
    texts = all_texts({"text": message.text, "blocks": message.blocks})
    assert message.text.startswith("Export controls alert: Entity List: &lt;!channel&gt;")
    for markup in slack_markup(texts):  # only the links built here, to the item's URL
        assert markup.startswith("https://example.org/"), markup
    joined = "\n".join(texts)
    assert "\u200b*\u200bnow\u200b*\u200b" in joined and "\n&gt; quote" not in joined
    assert " ".join(title.split()) in joined.replace("\u200b", "").replace("&lt;", "<").replace(
        "&gt;", ">"
    ).replace("&amp;", "&")
