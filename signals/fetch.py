"""Polite HTTP: the only module that talks to the network.

One GET per call, turned into a named outcome: ``Fetched``, ``NotModified`` or
``FetchFailed(outcome="http_404" | "timeout" | "too_large" | ...)``. Politeness lives here:
the configured User-Agent, conditional GET, connect/read/total timeouts, a size cap that
also applies after decompression (we decompress ourselves, with a bounded output, so a
gzip bomb is refused rather than inflated), redirects followed one by one through the host
limiter, and ``Retry-After`` read from 429/503 answers. It never raises for network
trouble; scheduling (backoff, when to come back) is decided elsewhere.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from signals.config import Settings
from signals.model import Fetched, FetchFailed, FetchResult, NotModified
from signals.politeness import HostLimiter
from signals.redact import redact_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_MAX_S = 7 * 86400.0


@dataclass(frozen=True)
class FetchRequest:
    """What to ask for: the URL, validators from the last poll, and per-source overrides."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    accept: str = "*/*"
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_bytes: int | None = None
    total_timeout: float | None = None


class _Failure(Exception):
    def __init__(self, outcome: str, error: str):
        super().__init__(error)
        self.outcome = outcome
        self.error = error


class _BoundedDecoder:
    """Undo Content-Encoding with a hard limit on the output, chunk by chunk."""

    def __init__(self, encoding: str):
        encoding = encoding.strip().lower()
        self._deflate_auto = False
        if encoding in ("", "identity"):
            self._z: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = None
            self._deflate_auto = True  # zlib-wrapped or raw: decided on the first bytes
        else:
            raise _Failure("decode_error", f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; raise too_large as soon as the output would exceed ``room`` bytes."""
        if self._deflate_auto:
            wbits = zlib.MAX_WBITS if data[:1] and data[0] & 0x0F == 8 else -zlib.MAX_WBITS
            self._z = zlib.decompressobj(wbits)
            self._deflate_auto = False
        if self._z is None:
            if len(data) > room:
                raise _Failure("too_large", "body exceeds the size cap")
            return data
        out = bytearray()
        try:
            chunk = self._z.decompress(data, room + 1)
            while True:
                out += chunk
                if len(out) > room:
                    raise _Failure("too_large", "body exceeds the size cap after decompression")
                if not self._z.unconsumed_tail:
                    break
                chunk = self._z.decompress(self._z.unconsumed_tail, room + 1 - len(out))
        except zlib.error as exc:
            raise _Failure("decode_error", f"corrupt compressed body: {exc}") from None
        return bytes(out)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    seconds: float | None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


def fresh_for(headers: Mapping[str, str]) -> float | None:
    """Seconds a response stays fresh by its ``Cache-Control: max-age`` (less its ``Age``).

    None when the server gives no lifetime or asks to revalidate every time (``no-cache``,
    ``no-store``): then only the source's own schedule counts.
    """
    directives = [d.strip().lower() for d in headers.get("cache-control", "").split(",")]
    if "no-cache" in directives or "no-store" in directives:
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age" and value.strip().strip('"').isdigit():
            age = headers.get("age", "").strip()
            remaining = int(value.strip().strip('"')) - (int(age) if age.isdigit() else 0)
            return float(remaining) if remaining > 0 else None
    return None


def _headers(response: httpx.Response) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _transport_failure(exc: Exception, url: str) -> _Failure:
    """Name a network failure and say where it happened, in words an operator can act on."""
    parts = urlsplit(url)
    where = parts.netloc.rpartition("@")[2] or "the server"
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return _Failure("timeout", f"no connection to {where} within the connect timeout")
    if isinstance(exc, httpx.TimeoutException):
        return _Failure("timeout", f"{where} stopped sending ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        if _is_dns_failure(exc, lowered):
            return _Failure("dns_error", f"cannot resolve {parts.hostname} ({text})")
        if "ssl" in lowered or "certificate" in lowered:
            return _Failure("tls_error", f"TLS with {where} failed: {text}")
        return _Failure("connect_error", f"cannot connect to {where}: {text}")
    if isinstance(exc, ssl.SSLError):
        return _Failure("tls_error", f"TLS with {where} failed: {text}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return _Failure("protocol_error", f"{where} broke the connection: {text}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return _Failure("bad_url", f"{text}")
    return _Failure("connect_error", f"{where}: {type(exc).__name__}: {text}")


def _is_dns_failure(exc: BaseException, lowered: str) -> bool:
    """A failed name lookup, whatever the resolver called it.

    httpx wraps the resolver's ``socket.gaierror``; its text varies by platform and cause
    ("Name or service not known", "Temporary failure in name resolution" when offline,
    "nodename nor servname provided" on macOS), so the cause is checked first.
    """
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, socket.gaierror):
            return True
        cause = cause.__cause__ or cause.__context__
    return any(
        phrase in lowered
        for phrase in ("name or service", "name resolution", "nodename", "getaddrinfo")
    )


class Fetcher:
    """A pooled HTTP client that applies the project's politeness rules to every GET."""

    def __init__(
        self,
        settings: Settings,
        limiter: HostLimiter,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        self.limiter = limiter
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.total_timeout,
            ),
            limits=httpx.Limits(
                max_connections=settings.workers * 2, max_keepalive_connections=settings.workers
            ),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, request: FetchRequest) -> FetchResult:
        """GET ``request.url`` once (plus quick retries of transient transport errors)."""
        started = time.monotonic()
        host = urlsplit(request.url).hostname or ""
        if (wait := self.limiter.blocked_for(host)) is not None:
            return FetchFailed(
                outcome="deferred",
                error=f"{host} asked us to wait (Retry-After) another {wait:.0f}s",
                retry_after_s=wait,
            )
        attempts = 1 + self.settings.retries
        for attempt in range(attempts):
            try:
                return self._fetch_once(request, started)
            except _Failure as failure:
                retryable = failure.outcome in ("connect_error", "protocol_error")
                if retryable and attempt + 1 < attempts:
                    time.sleep(min(0.5 * 2**attempt, 5.0))
                    continue
                return FetchFailed(
                    outcome=failure.outcome,
                    error=failure.error,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
            except _HTTPFailure as failure:
                if failure.retry_after_s:
                    self.limiter.block(failure.host, failure.retry_after_s)
                return FetchFailed(
                    outcome=f"http_{failure.status}",
                    error=failure.error,
                    status=failure.status,
                    retry_after_s=failure.retry_after_s,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_headers(self, request: FetchRequest) -> dict[str, str]:
        headers = {
            "User-Agent": self.settings.user_agent,
            "Accept": request.accept,
            "Accept-Encoding": "gzip, deflate",
        }
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        headers.update(request.headers)
        return headers

    def _fetch_once(self, request: FetchRequest, started: float) -> FetchResult:
        total = request.total_timeout or self.settings.total_timeout
        deadline = started + total
        max_bytes = request.max_bytes or self.settings.max_bytes
        headers = self._request_headers(request)
        url = request.url
        origin = urlsplit(url).netloc
        moved_to: str | None = None  # the URL reached by permanent redirects only
        permanent = True
        for _hop in range(self.settings.max_redirects + 1):
            host = urlsplit(url).hostname or ""
            if urlsplit(url).netloc != origin:
                # a source's own headers (API keys, cookies) are for its own host only
                headers = self._request_headers(replace(request, headers={}))
            try:
                with self.limiter.request(host):
                    if time.monotonic() > deadline:
                        raise _Failure("timeout", f"no complete response within {total:g}s")
                    with self._client.stream("GET", url, headers=headers) as response:
                        location = response.headers.get("location")
                        if response.status_code in REDIRECT_STATUSES and location:
                            next_url = urljoin(url, location)
                            if urlsplit(next_url).scheme not in ("http", "https"):
                                raise _Failure("bad_redirect", f"redirect to {next_url!r}")
                            url = next_url
                            permanent = permanent and response.status_code in (301, 308)
                            if permanent:
                                moved_to = url
                            continue
                        result = self._read(response, url, max_bytes, deadline, total, started)
                        return replace(result, moved_to=moved_to) if moved_to else result
            except (_Failure, _HTTPFailure):
                raise
            except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
                raise _transport_failure(exc, url) from None
        raise _Failure(
            "too_many_redirects",
            f"more than {self.settings.max_redirects} redirects (last: {redact_url(url)})",
        )

    def _read(
        self,
        response: httpx.Response,
        url: str,
        max_bytes: int,
        deadline: float,
        total: float,
        started: float,
    ) -> Fetched | NotModified:
        status = response.status_code
        headers = _headers(response)
        if status == 304:
            return NotModified(
                url=url,
                status=status,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                duration_ms=int((time.monotonic() - started) * 1000),
                fresh_for_s=fresh_for(headers),
            )
        if not 200 <= status < 300:
            retry_after = (
                parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
            )
            reason = response.reason_phrase or ""
            host = urlsplit(url).hostname or ""
            error = f"HTTP {status} {reason}".strip()
            if hint := _status_hint(status, host):
                error = f"{error}: {hint}"
            raise _HTTPFailure(status, error, retry_after, host)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _Failure("too_large", f"Content-Length {declared} exceeds the cap of {max_bytes}")
        decoder = _BoundedDecoder(headers.get("content-encoding", ""))
        body = bytearray()
        raw_bytes = 0
        for chunk in response.iter_raw():  # one network read at a time: deadline checked often
            raw_bytes += len(chunk)
            if raw_bytes > max_bytes:
                raise _Failure("too_large", f"body exceeds the cap of {max_bytes} bytes")
            body += decoder.feed(chunk, max_bytes - len(body))
            if time.monotonic() > deadline:
                raise _Failure("timeout", f"no complete response within {total:g}s")
        return Fetched(
            url=url,
            status=status,
            headers=MappingProxyType(headers),
            body=bytes(body),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            duration_ms=int((time.monotonic() - started) * 1000),
            fresh_for_s=fresh_for(headers),
        )


def _status_hint(status: int, host: str) -> str | None:
    """What an operator can do about an answer that will not change by itself."""
    if status == 410:
        return "the server says this URL is gone for good; update url or set enabled = false"
    if status == 403 and (host == "sec.gov" or host.endswith(".sec.gov")):
        return "SEC refuses clients whose User-Agent has no contact e-mail (settings.user_agent)"
    return None


class _HTTPFailure(Exception):
    def __init__(self, status: int, error: str, retry_after_s: float | None, host: str):
        super().__init__(error)
        self.status = status
        self.error = error
        self.retry_after_s = retry_after_s
        self.host = host
