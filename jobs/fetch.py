"""Fetch one URL safely: conditional GET, bounded size, time, redirects and concurrency; failures as values.

Redirects are followed here, one hop at a time (each to http(s) only, never from https down to http), and every
connection of every hop goes through an AddressGuard: loopback, private, link-local and other non-public
addresses are refused unless the source allows private ones.
"""

# With jobs/address_guard.py, the only modules of the project that import httpx and httpcore: the rest sees
# FetchResult values.

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpcore
import httpx

from jobs.address_guard import AddressGuard, AddressRefused, Resolve, system_resolve
from jobs.charset import decode_body
from jobs.inflate import BodyRefused, BoundedBody

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "Chokepoint/0.1 (+https://github.com/chokepoint-bot/chokepoint)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/json;q=0.8, */*;q=0.5"
)
# Only what zlib can decode within a bound: brotli and zstd would need packages and a bounded decoder each.
_ACCEPT_ENCODING = "gzip, deflate"
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_KEEPALIVE = 16

Outcome = Literal["fetched", "not_modified", "failed"]


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much one fetch may take: bytes, redirects, time, connections and retries."""

    max_bytes: int = 5_000_000  # decoded bytes, counted while streaming
    max_redirects: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # between two reads
    total_timeout: float = 30.0  # one attempt, request to last byte
    concurrency: int = 64  # requests in flight, all hosts together
    per_host: int = 4
    attempts: int = 3  # tries per fetch for transient failures
    backoff_base: float = 0.5  # seconds before the second try; doubles, with jitter
    max_retry_after: float = 30.0  # a longer Retry-After ends the fetch instead of holding it

    def __post_init__(self) -> None:
        """Refuse limits that would disable a safeguard."""
        if min(self.max_bytes, self.concurrency, self.per_host, self.attempts) < 1:
            raise ValueError("max_bytes, concurrency, per_host and attempts must be at least 1")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0 or self.backoff_base < 0:
            raise ValueError("timeouts must be positive and backoff_base not negative")


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said identifies this version, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        """If-None-Match and If-Modified-Since for the validators present."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch came to; error holds a short reason when the outcome is "failed"."""

    outcome: Outcome
    url: str
    final_url: str
    status_code: int | None
    text: str = ""
    content_type: str | None = None
    validators: Validators = Validators()
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0


class _Failure(Exception):
    """One attempt failed: why, whether another try may help, and what the server had said."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool = False,
        status_code: int | None = None,
        final_url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status_code = status_code
        self.final_url = final_url
        self.retry_after = retry_after

    def result(self, url: str, started: float) -> FetchResult:
        """This failure as the fetch's answer."""
        return FetchResult(
            "failed",
            url=url,
            final_url=self.final_url or url,
            status_code=self.status_code,
            error=self.reason,
            retry_after=self.retry_after,
            elapsed=time.monotonic() - started,
        )


@dataclass(slots=True)
class _Progress:
    """How far an attempt got: set once the response headers have arrived."""

    status_code: int | None = None
    final_url: str | None = None


class Fetcher:
    """Fetches URLs through shared clients, within FetchLimits; close it with aclose or async with."""

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        resolve: Resolve = system_resolve,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._limits = limits
        self._user_agent = user_agent
        self._transport = transport  # in-process (httpx.MockTransport): no network, so no guard either
        self._sleep = sleep
        self._resolve = resolve  # host name → addresses, each checked before a connection is made
        self._network = network  # makes the connections the guard allows (default: httpcore's own)
        self._random = random.Random()
        self._clients: dict[bool, httpx.AsyncClient] = {}  # by allow_private: each has its own guard
        self._closed = False
        self._everywhere = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        """Return the fetcher itself."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the clients."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared clients (or the unused transport); fetching afterwards is an error."""
        self._closed = True
        for client in self._clients.values():
            await client.aclose()
        if not self._clients and self._transport is not None:
            await self._transport.aclose()

    async def fetch(
        self, url: str, validators: Validators = Validators(), *, allow_private: bool = False
    ) -> FetchResult:
        """GET a URL; network, HTTP and decoding trouble come back as outcome "failed", never raised.

        allow_private lets this fetch reach loopback and private addresses (the source's `allow_private`).
        """
        started = time.monotonic()
        try:
            host = _host_of(url)
        except _Failure as failure:
            return failure.result(url, started)
        attempt = 1
        while True:
            try:
                async with self._slot(host):
                    return await self._attempt(url, validators, started, allow_private)
            except _Failure as failure:
                delay = self._retry_delay(failure, attempt)
                if delay is None:
                    return failure.result(url, started)
                logger.info("retrying %s in %.2fs after %s", url, delay, failure.reason)
            await self._sleep(delay)
            attempt += 1

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold a place at this host, then one overall; waiting for a busy host holds no global place."""
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self._limits.per_host)
        async with self._hosts[host], self._everywhere:
            yield

    def _retry_delay(self, failure: _Failure, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when this failure ends the fetch."""
        if not failure.transient or attempt >= self._limits.attempts:
            return None
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self._limits.max_retry_after else None
        jitter = 0.75 + self._random.random() / 2  # ±25 %: spread out, yet each wait longer than the last
        return float(self._limits.backoff_base * 2 ** (attempt - 1) * jitter)

    def _client(self, allow_private: bool) -> httpx.AsyncClient:
        """The shared client for this kind of source, created on first use: nothing happens at construction."""
        if self._closed:
            raise RuntimeError("this Fetcher is closed")
        if self._transport is not None:
            allow_private = True  # one client over the in-process transport
        if allow_private not in self._clients:
            transport = self._transport or _guarded_transport(
                self._limits, AddressGuard(allow_private=allow_private, resolve=self._resolve, inner=self._network)
            )
            self._clients[allow_private] = _make_client(self._limits, self._user_agent, transport)
        return self._clients[allow_private]

    async def _attempt(self, url: str, validators: Validators, started: float, allow_private: bool) -> FetchResult:
        """One request, following redirects; raises _Failure."""
        progress = _Progress()
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                return await self._follow(url, validators, started, self._client(allow_private), progress)
        except TimeoutError:
            failure = _timeout_failure(progress, self._limits.total_timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            failure = _transport_failure(error, progress)
        except AddressRefused as refused:
            failure = _Failure(str(refused))
        except _Failure as raised:
            failure = raised
        failure.status_code = failure.status_code or progress.status_code
        failure.final_url = failure.final_url or progress.final_url
        raise failure

    async def _follow(
        self, url: str, validators: Validators, started: float, client: httpx.AsyncClient, progress: _Progress
    ) -> FetchResult:
        """GET url and the redirects it leads to, at most max_redirects of them; raises _Failure."""
        target = httpx.URL(url)
        for _ in range(self._limits.max_redirects + 1):
            progress.final_url = str(target)
            async with client.stream("GET", target, headers=validators.request_headers()) as response:
                following = redirect_target(response)
                if following is None:
                    progress.status_code, progress.final_url = response.status_code, str(response.url)
                    return await self._read(url, response, validators, started)
            target = following
        raise _Failure("too many redirects")

    async def _read(self, url: str, response: httpx.Response, sent: Validators, started: float) -> FetchResult:
        """Turn a response into a result: 304, an HTTP error, or the decoded body."""
        status = response.status_code
        if status == 304:
            return _result("not_modified", url, response, started, validators=_kept_validators(sent, response))
        if not 200 <= status < 300:
            raise _Failure(f"HTTP {status}", transient=status in _RETRY_STATUSES, retry_after=_retry_after_of(response))
        try:
            body = await _read_body(response, self._limits.max_bytes)
        except BodyRefused as refused:
            raise _Failure(str(refused)) from None
        text = decode_body(body, response.headers.get("content-type"))
        return _result("fetched", url, response, started, validators=_validators_of(response), text=text)


def redirect_target(response: httpx.Response) -> httpx.URL | None:
    """Where a redirect leads (None when the response is no redirect); raises _Failure for a refused one."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECT_STATUSES or not location:
        return None
    try:
        target = response.url.join(location)
    except httpx.InvalidURL as error:
        raise _Failure(f"redirect to an invalid URL: {error}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise _Failure(f"redirect to a non-http(s) URL refused: {str(target)[:100]}")
    if response.url.scheme == "https" and target.scheme == "http":
        raise _Failure(f"redirect from https to http refused: {str(target)[:100]}")
    return target


def _guarded_transport(limits: FetchLimits, guard: AddressGuard) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a connection pool whose every connection is made through an AddressGuard."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is replaced by one with the same settings and the guard;
    # the transport still maps httpcore's errors to httpx's. trust_env=False: no proxy would see the guard.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.concurrency,
        max_keepalive_connections=_KEEPALIVE,
        network_backend=guard,
    )
    return transport


def _make_client(limits: FetchLimits, user_agent: str, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """One client: redirects are ours to follow; timeouts, pool size and default headers from the limits."""
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        # Few idle connections: sources are minutes apart, so keep-alive rarely helps, and httpcore scans
        # its whole pool on every request.
        limits=httpx.Limits(max_connections=limits.concurrency, max_keepalive_connections=_KEEPALIVE),
        headers={"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": _ACCEPT_ENCODING},
    )


def _result(
    outcome: Outcome,
    url: str,
    response: httpx.Response,
    started: float,
    *,
    validators: Validators,
    text: str = "",
) -> FetchResult:
    """A successful result from a response."""
    return FetchResult(
        outcome,
        url=url,
        final_url=str(response.url),
        status_code=response.status_code,
        text=text,
        content_type=response.headers.get("content-type"),
        validators=validators,
        elapsed=time.monotonic() - started,
    )


def _host_of(url: str) -> str:
    """The host that the per-host limit counts; raises _Failure for URLs that cannot be fetched."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise _Failure(f"invalid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise _Failure("not an http(s) URL")
    return parsed.host


def _timeout_failure(progress: _Progress, total: float) -> _Failure:
    """The total timeout fired: before the headers another try may help, during the body it will not."""
    if progress.status_code is None:
        return _Failure("timeout before headers", transient=True)
    return _Failure(f"total timeout ({total:g}s) while reading the body")


def _transport_failure(error: Exception, progress: _Progress) -> _Failure:
    """Name an httpx error briefly; trouble before the headers is worth another try."""
    before_headers = progress.status_code is None
    if isinstance(error, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return _Failure(f"invalid URL: {error}")
    if isinstance(error, httpx.ConnectTimeout):
        return _Failure("connect timeout", transient=True)
    if isinstance(error, httpx.ConnectError):
        return _Failure(f"cannot connect: {error}", transient=True)
    if isinstance(error, httpx.TimeoutException):
        return _Failure("timeout before headers", transient=True) if before_headers else _Failure("read timeout")
    if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        if before_headers:
            return _Failure("connection closed before headers", transient=True)
        return _Failure("connection reset mid-body")
    return _Failure(f"{type(error).__name__}: {error}")


def _validators_of(response: httpx.Response) -> Validators:
    """The ETag and Last-Modified the server sent."""
    return Validators(etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"))


def _kept_validators(sent: Validators, response: httpx.Response) -> Validators:
    """After a 304: what the server sent again, else what we had."""
    fresh = _validators_of(response)
    return Validators(etag=fresh.etag or sent.etag, last_modified=fresh.last_modified or sent.last_modified)


def _retry_after_of(response: httpx.Response) -> float | None:
    """Retry-After in seconds, dates measured from the server's own Date header when it sent one."""
    server_now = _http_date(response.headers.get("date")) or datetime.now(UTC)
    return parse_retry_after(response.headers.get("retry-after"), server_now)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date), or None when unreadable."""
    value = (value or "").strip()
    if value.isascii() and value.isdecimal():
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """Stream the body, decoding gzip/deflate ourselves so that the limit bounds the inflated size."""
    reader = BoundedBody(response.headers.get("content-encoding"), limit)
    reader.check_declared_length(response.headers.get("content-length"))
    if response.is_stream_consumed:
        # In-process transports (httpx.MockTransport) hand over a body already read and decoded.
        reader = BoundedBody(None, limit)
        reader.feed(response.content)
    else:
        async for chunk in response.aiter_raw():
            reader.feed(chunk)
    return reader.finish()
