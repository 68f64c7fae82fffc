"""A local HTTP endpoint that speaks the Slack Web API methods signals calls.

``chat.postMessage`` (JSON body, Block Kit, metadata, threads), ``conversations.history``
and ``conversations.replies`` (with ``include_all_metadata``), ``conversations.list``
and incoming webhooks (``/hooks/...``). Tests script it: answer 429 with Retry-After a
number of times, fail with a Slack error, or run a hook (e.g. kill the client) after a
message is stored and before the answer goes back, which is a crash between send and
ledger update.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "xoxb-test-0000-secret-token"
CHANNELS = {"C0DAILY01": "ai-race-daily", "C0EXPORT1": "export-controls"}


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    thread_ts: str | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


class FakeSlack:
    def __init__(self) -> None:
        self.messages: list[Posted] = []
        self.webhook_posts: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []  # (method, authorization header)
        self.rate_limit: dict[str, int] = {}  # method -> how many 429s to answer first
        self.retry_after = 1
        self.fail_with: str | None = None  # Slack error code for chat.postMessage
        self.after_post: Callable[[Posted], None] | None = None
        self._lock = threading.Lock()
        self._counter = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api/"
        self.webhook_url = f"http://127.0.0.1:{self.port}/hooks/T000/B000/{TOKEN[-12:]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def calls_to(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    def top_level(self) -> list[Posted]:
        return [m for m in self.messages if m.thread_ts is None]

    # ------------------------------------------------------------------ protocol

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        try:
            handler.send_response(status)
            handler.send_header(
                "Content-Type", "application/json" if not isinstance(body, str) else "text/plain"
            )
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if parts.path.startswith("/hooks/"):
            self._webhook(handler, raw)
            return
        method = parts.path.removeprefix("/api/")
        self.calls.append((method, handler.headers.get("Authorization", "")))
        with self._lock:
            if self.rate_limit.get(method, 0) > 0:
                self.rate_limit[method] -= 1
                self._reply(
                    handler,
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(self.retry_after)},
                )
                return
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(handler, 200, {"ok": False, "error": "invalid_auth"})
            return
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if raw:
            content_type = handler.headers.get("Content-Type", "")
            if content_type.startswith("application/json"):
                params.update(json.loads(raw))
            else:
                params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        route = {
            "chat.postMessage": lambda p: {},  # handled below: it stores and may crash
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
            "auth.test": lambda p: {"ok": True, "user_id": "U0BOT", "team": "test"},
        }.get(method)
        if route is None:
            self._reply(handler, 200, {"ok": False, "error": "unknown_method"})
            return
        if method == "chat.postMessage":
            posted = self._store(params)
            if isinstance(posted, dict):
                self._reply(handler, 200, posted)
                return
            if self.after_post is not None:
                self.after_post(posted)
            self._reply(
                handler,
                200,
                {
                    "ok": True,
                    "channel": posted.channel,
                    "ts": posted.ts,
                    "message": {"text": posted.text},
                },
            )
            return
        self._reply(handler, 200, route(params))

    def _channel_id(self, name: str) -> str | None:
        name = name.lstrip("#")
        if name in CHANNELS:
            return name
        return next((cid for cid, cname in CHANNELS.items() if cname == name), None)

    def _store(self, params: dict[str, Any]) -> Posted | dict[str, Any]:
        if self.fail_with:
            return {"ok": False, "error": self.fail_with}
        channel = self._channel_id(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        with self._lock:
            self._counter += 1
            ts = f"{1_800_000_000 + self._counter}.{self._counter:06d}"
            posted = Posted(
                channel,
                ts,
                str(params.get("text", "")),
                blocks,
                metadata,
                params.get("thread_ts"),
                params,
            )
            self.messages.append(posted)
        return posted

    def _public(self, message: Posted, with_metadata: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        if with_metadata and message.metadata:
            body["metadata"] = message.metadata
        return body

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if channel not in CHANNELS:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        meta = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            self._public(m, meta)
            for m in reversed(self.messages)
            if m.channel == channel and m.thread_ts is None and float(m.ts) > oldest
        ]
        return {"ok": True, "messages": found, "has_more": False}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = params.get("ts")
        meta = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        thread = [m for m in self.messages if m.ts == ts or m.thread_ts == ts]
        return {"ok": True, "messages": [self._public(m, meta) for m in thread]}

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channels": [{"id": cid, "name": name} for cid, name in CHANNELS.items()],
        }

    def _webhook(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self._lock:
            if self.rate_limit.get("webhook", 0) > 0:
                self.rate_limit["webhook"] -= 1
                self._reply(handler, 429, "rate_limited", {"Retry-After": str(self.retry_after)})
                return
        self.webhook_posts.append(json.loads(raw))
        self._reply(handler, 200, "ok")
