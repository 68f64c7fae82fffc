"""Slack transports: the Web API (``chat.postMessage``) and incoming webhooks.

Web API: ``WebClient(token=SLACK_BOT_TOKEN, base_url=SIGNALS_SLACK_API_URL or Slack's)``.
A digest larger than one message goes out as a message plus replies in its thread, each
checkpointed in the ledger. Every message carries Slack message metadata
(``event_type = "signals_delivery"``, payload: the window's key and the part number), so
after a crash between posting and recording, the retry finds what was posted in the
channel history (``conversations.history``/``conversations.replies``, scope
``channels:history``) and posts only what is missing. A 429 is retried after its
``Retry-After`` (slack-sdk ``RateLimitErrorRetryHandler``); nothing else is retried
blindly, because a retried post is a duplicate message.

Webhooks cannot read history or thread: parts go out as consecutive messages, and a
crash between posting and recording may repeat one (at-least-once).

The token and the webhook URL never appear in messages: errors are redacted here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from signals.channels import Sent
from signals.delivery import Attempt, DeliveryError
from signals.digest.model import Document
from signals.logs import event
from signals.redact import redact_text

log = logging.getLogger(__name__)

EVENT_TYPE = "signals_delivery"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
RATE_LIMIT_RETRIES = 5
TIMEOUT_S = 30
HISTORY_PAGES = 5


def _client(token: str, base_url: str | None) -> Any:
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    kwargs: dict[str, Any] = {}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    return WebClient(
        token=token,
        timeout=TIMEOUT_S,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        **kwargs,
    )


def _describe(exc: Exception, secrets: list[str]) -> tuple[str, bool]:
    """A redacted message and whether the post may have happened anyway."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        data = getattr(response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        ambiguous = status is not None and status >= 500
        text = f"Slack API error {error or 'unknown'} (HTTP {status})"
        return redact_text(text, secrets), ambiguous
    text = f"{type(exc).__name__}: {exc}"
    refused = isinstance(exc, ConnectionRefusedError) or "Connection refused" in text
    return redact_text(text, secrets), not refused


class SlackApiTransport:
    name = "slack_api"

    def __init__(self, token: str, channel: str, base_url: str | None = None):
        self._token = token
        self.channel = channel
        self.base_url = base_url
        self.where = f"Slack {channel}"

    def send(self, document: Document, attempt: Attempt) -> Sent:
        from signals.digest.slack import render_slack

        messages = render_slack(document)
        client = _client(self._token, self.base_url)
        progress = attempt.progress
        channel_id: str | None = progress.get("channel")
        parent: str | None = progress.get("ts")
        done = int(progress.get("parts", 0))
        if attempt.maybe_sent and done < len(messages):
            channel_id, parent, done = self._already_posted(
                client, attempt, channel_id, parent, done
            )
            if parent:
                attempt.checkpoint(channel=channel_id, ts=parent, parts=done)
        for index in range(done, len(messages)):
            message = messages[index]
            metadata = {
                "event_type": EVENT_TYPE,
                "event_payload": {
                    "key": attempt.key.token,
                    "rule": attempt.key.rule,
                    "part": index + 1,
                    "parts": len(messages),
                },
            }
            try:
                response = client.chat_postMessage(
                    channel=channel_id or self.channel,
                    text=message["text"],
                    blocks=message["blocks"],
                    thread_ts=parent if index > 0 else None,
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                text, ambiguous = _describe(exc, [self._token])
                raise DeliveryError(
                    f"could not post part {index + 1} of {len(messages)} to {self.where}: {text}",
                    ambiguous=ambiguous,
                ) from None
            if index == 0:
                parent = str(response["ts"])
                channel_id = str(response.get("channel") or self.channel)
            attempt.checkpoint(channel=channel_id, ts=parent, parts=index + 1)
        assert parent is not None
        return Sent(external_id=parent, where=self.where)

    def _already_posted(
        self, client: Any, attempt: Attempt, channel_id: str | None, parent: str | None, done: int
    ) -> tuple[str | None, str | None, int]:
        """Look in the channel for parts a crashed attempt posted; (channel, parent ts, parts)."""
        try:
            channel_id = channel_id or self._channel_id(client)
            if channel_id is None:
                raise LookupError(f"no channel named {self.channel} visible to the bot")
            if parent is None:
                parent = self._find_parent(client, attempt, channel_id)
            if parent is None:
                return channel_id, None, 0
            replies = client.conversations_replies(
                channel=channel_id, ts=parent, include_all_metadata=True, limit=200
            )
            parts = {1}
            for message in replies.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("key") == attempt.key.token:
                    parts.add(int(payload.get("part", 1)))
            posted = max(p for p in range(1, max(parts) + 1) if set(range(1, p + 1)) <= parts)
            event(log, "delivery_found", rule=attempt.key.rule, ts=parent, parts=posted)
            return channel_id, parent, max(done, posted)
        except Exception as exc:
            text, _ = _describe(exc, [self._token])
            event(
                log,
                "delivery_guard_failed",
                logging.WARNING,
                rule=attempt.key.rule,
                error=text,
                note="cannot check the channel for an earlier post; sending again",
            )
            return channel_id, parent, done

    def _channel_id(self, client: Any) -> str | None:
        name = self.channel.lstrip("#")
        if CHANNEL_ID.match(name):
            return name
        cursor = None
        for _ in range(20):
            page = client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _find_parent(self, client: Any, attempt: Attempt, channel_id: str) -> str | None:
        from signals.times import parse_utc_iso

        # A window's messages are posted after the window ends: look no further back.
        oldest = parse_utc_iso(attempt.key.window_end).timestamp() - 60
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = client.conversations_history(
                channel=channel_id,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == EVENT_TYPE
                    and payload.get("key") == attempt.key.token
                    and int(payload.get("part", 1)) == 1
                ):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None


class SlackWebhookTransport:
    name = "slack_webhook"

    def __init__(self, url: str, channel: str):
        self._url = url
        self.where = f"Slack webhook ({channel})"

    def send(self, document: Document, attempt: Attempt) -> Sent:
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
        from slack_sdk.webhook import WebhookClient

        from signals.digest.slack import render_slack

        messages = render_slack(document)
        client = WebhookClient(
            self._url,
            timeout=TIMEOUT_S,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )
        done = int(attempt.progress.get("parts", 0))
        for index in range(done, len(messages)):
            message = messages[index]
            try:
                response = client.send(
                    text=message["text"],
                    blocks=message["blocks"],
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                text, ambiguous = _describe(exc, [self._url])
                raise DeliveryError(
                    f"could not post part {index + 1} of {len(messages)} to {self.where}: {text}",
                    ambiguous=ambiguous,
                ) from None
            if response.status_code != 200:
                body = redact_text(str(response.body)[:200], [self._url])
                raise DeliveryError(
                    f"{self.where} refused part {index + 1} of {len(messages)}:"
                    f" HTTP {response.status_code} {body}",
                    ambiguous=response.status_code >= 500,
                )
            attempt.checkpoint(parts=index + 1)
        return Sent(external_id=f"webhook:{len(messages)}", where=self.where)
