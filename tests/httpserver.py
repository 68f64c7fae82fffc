"""A real HTTP server on 127.0.0.1 that serves scripted responses, for fetch and poll tests.

Routes map a path to a ``Reply`` or a list of them (one per successive request; the last
repeats). A reply can honour conditional GET, hang after the headers, trickle, gzip, or
send any status with any headers. Every request is recorded for assertions.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml"
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    hang: bool = False  # send headers and a first byte, then never finish
    delay: float = 0.0  # seconds before answering
    omit_length: bool = False  # stream without Content-Length (connection close)
    drip: float = 0.0  # send the body one byte at a time, this many seconds apart

    @classmethod
    def file(cls, path: Path, **kwargs: object) -> Reply:
        return cls(body=path.read_bytes(), **kwargs)  # type: ignore[arg-type]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply] | Callable[[Seen], Reply]] = {}
        self.requests: list[Seen] = []
        self._counts: dict[str, int] = {}
        self.closing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes; with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms a response), which no real server makes you wait
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def route_fn(self, path: str, fn: Callable[[Seen], Reply]) -> str:
        self.routes[path] = fn
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _pick(self, seen: Seen) -> Reply:
        spec = self.routes.get(seen.path)
        if spec is None:
            return Reply(status=404, body=b"not found", content_type="text/plain")
        if callable(spec):
            return spec(seen)
        with self._lock:
            index = self._counts.get(seen.path, 0)
            self._counts[seen.path] = index + 1
        return spec[min(index, len(spec) - 1)]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        seen = Seen(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(seen)
        reply = self._pick(seen)
        if reply.delay:
            self.closing.wait(reply.delay)
        if reply.status == 200 and (
            (reply.etag and seen.headers.get("if-none-match") == reply.etag)
            or (
                reply.last_modified and seen.headers.get("if-modified-since") == reply.last_modified
            )
        ):
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            if reply.etag:
                handler.send_header("ETag", reply.etag)
            handler.end_headers()
            return
        body = gzip.compress(reply.body) if reply.gzip else reply.body
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        if reply.gzip:
            handler.send_header("Content-Encoding", "gzip")
        if reply.etag:
            handler.send_header("ETag", reply.etag)
        if reply.last_modified:
            handler.send_header("Last-Modified", reply.last_modified)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.hang:
            handler.send_header("Content-Length", str(len(body) + 1_000_000))
            handler.end_headers()
            handler.wfile.write(body[:10])
            handler.wfile.flush()
            self.closing.wait(60)
            return
        if reply.drip:
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for byte in body:
                    if self.closing.wait(reply.drip):
                        return
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
            return
        if reply.omit_length:
            handler.send_header("Connection", "close")
            handler.end_headers()
            try:
                for start in range(0, len(body), 65536):
                    handler.wfile.write(body[start : start + 65536])
            except (BrokenPipeError, ConnectionResetError):
                pass
            handler.close_connection = True
            return
        if "Content-Length" not in reply.headers:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(body)
