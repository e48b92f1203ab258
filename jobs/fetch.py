"""Fetch one URL safely: conditional GET, bounded size, time, redirects and concurrency; failures as values.

Redirects are followed here, one hop at a time (each to http(s) only, never from https down to http), and every
connection of every hop goes through an AddressGuard: loopback, private, link-local and other non-public
addresses are refused unless the source allows private ones.

The client is aiohttp: its C parser costs a fifth of the CPU per request of a pure-Python one, which is most of
a cycle of 304s (docs/ARCHITECTURE.md, "Speed").
"""

# With jobs/address_guard.py, the only modules of the project that use aiohttp (imported by jobs/http_client.py):
# the rest sees FetchResult values.

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from yarl import URL

from jobs.address_guard import (
    AddressGuard,
    AddressRefused,
    InvalidNumericHost,
    Resolve,
    Route,
    same_address,
    system_resolve,
)
from jobs.charset import decode_body
from jobs.http_client import aiohttp, verified_tls_context
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
_KEEPALIVE_SECONDS = 2.0
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

Outcome = Literal["fetched", "not_modified", "failed"]


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much one fetch may take: bytes, redirects, time, connections and retries."""

    max_bytes: int = 5_000_000  # decoded bytes, counted while streaming
    max_redirects: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # between two reads
    total_timeout: float = 30.0  # one attempt, request to last byte
    concurrency: int = 192  # requests in flight, all hosts together
    per_host: int = 6  # as browsers keep to one host
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
        if self.etag and _sendable(self.etag):
            headers["If-None-Match"] = self.etag
        if self.last_modified and _sendable(self.last_modified):
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _sendable(value: str) -> bool:
    """Whether a header value holds no control character but tab: aiohttp reads such values in a response, yet
    raises ValueError rather than send one (RFC 9110, section 5.5)."""
    return _CONTROL.search(value) is None


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


class FetchFailure(Exception):
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


class Slots:
    """A counting semaphore, first come first served, whose every acquire and release costs the same however
    many wait: asyncio.Semaphore's acquire scans all its waiters, which a check of a thousand sources (dozens
    waiting per host) pays on every request."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        """Take a slot, waiting in line for one."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn  # a release hands its slot straight to the first in line
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # given a slot, then cancelled before using it: pass it on
            elif turn in self._waiting:  # a release may have passed over it already (Ctrl-C during a check)
                self._waiting.remove(turn)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        """Give the slot back: to the first in line, else to the pool."""
        self._release()

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class Fetcher:
    """Fetches URLs through shared sessions, within FetchLimits; close it with aclose or async with."""

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        resolve: Resolve = system_resolve,
        route: Route = same_address,
    ) -> None:
        self._limits = limits
        self._user_agent = user_agent
        self._sleep = sleep
        self._resolve = resolve  # host name → addresses, each checked before a connection is made
        self._route = route  # where a checked address is dialled (tests forward a public address to loopback)
        self._random = random.Random()
        self._sessions: dict[bool, tuple[aiohttp.ClientSession, AddressGuard]] = {}  # by allow_private
        self._closed = False
        self._everywhere = Slots(limits.concurrency)
        self._hosts: dict[str, Slots] = {}
        self._tls: ssl.SSLContext | None = None  # built with the first https request (jobs/http_client.py)

    async def __aenter__(self) -> Fetcher:
        """Return the fetcher itself."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the sessions."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared sessions; fetching afterwards is an error."""
        self._closed = True
        for session, _ in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def fetch(
        self, url: str, validators: Validators = Validators(), *, allow_private: bool = False
    ) -> FetchResult:
        """GET a URL; network, HTTP and decoding trouble come back as outcome "failed", never raised.

        allow_private lets this fetch reach loopback and private addresses (the source's `allow_private`).
        """
        started = time.monotonic()
        try:
            target = _fetchable(url)
        except FetchFailure as failure:
            return failure.result(url, started)
        attempt = 1
        while True:
            try:
                async with self._at_host(target.host or ""), self._everywhere:  # waiting for a host holds no place
                    return await self._attempt(url, target, validators, started, allow_private)
            except FetchFailure as failure:
                delay = self._retry_delay(failure, attempt)
                if delay is None:
                    return failure.result(url, started)
                logger.info("retrying %s in %.2fs after %s", url, delay, failure.reason)
            await self._sleep(delay)
            attempt += 1

    def _at_host(self, host: str) -> Slots:
        """The places at this host."""
        if host not in self._hosts:
            self._hosts[host] = Slots(self._limits.per_host)
        return self._hosts[host]

    def _retry_delay(self, failure: FetchFailure, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when this failure ends the fetch."""
        if not failure.transient or attempt >= self._limits.attempts:
            return None
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self._limits.max_retry_after else None
        jitter = 0.75 + self._random.random() / 2  # ±25 %: spread out, yet each wait longer than the last
        return float(self._limits.backoff_base * 2 ** (attempt - 1) * jitter)

    def _session(self, allow_private: bool) -> tuple[aiohttp.ClientSession, AddressGuard]:
        """The shared session for this kind of source and its guard, created on first use (inside the loop)."""
        if self._closed:
            raise RuntimeError("this Fetcher is closed")
        if allow_private not in self._sessions:
            guard = AddressGuard(allow_private=allow_private, resolve=self._resolve, route=self._route)
            self._sessions[allow_private] = (_make_session(self._limits, self._user_agent, guard), guard)
        return self._sessions[allow_private]

    async def _attempt(
        self, url: str, target: URL, validators: Validators, started: float, allow_private: bool
    ) -> FetchResult:
        """One request, following redirects; raises FetchFailure."""
        progress = _Progress()
        session, guard = self._session(allow_private)
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                return await self._follow(url, target, validators, started, session, guard, progress)
        except aiohttp.ClientError as error:  # first: aiohttp's connect and read timeouts are TimeoutErrors too
            failure = _transport_failure(error, progress)
        except TimeoutError:
            failure = _timeout_failure(progress, self._limits.total_timeout)
        except AddressRefused as refused:
            failure = FetchFailure(str(refused))
        except FetchFailure as raised:
            failure = raised
        failure.status_code = failure.status_code or progress.status_code
        failure.final_url = failure.final_url or progress.final_url
        raise failure

    async def _follow(
        self,
        url: str,
        target: URL,
        validators: Validators,
        started: float,
        session: aiohttp.ClientSession,
        guard: AddressGuard,
        progress: _Progress,
    ) -> FetchResult:
        """GET url and the redirects it leads to, at most max_redirects of them; raises FetchFailure."""
        for _ in range(self._limits.max_redirects + 1):
            progress.final_url = str(target)
            dialled = _numeric_host_checked(target, guard)
            headers, tls = validators.request_headers(), self._tls_for(target)
            async with session.get(dialled, headers=headers, allow_redirects=False, ssl=tls) as response:
                following = redirect_target(target, response.status, response.headers.get("Location"))
                if following is None:
                    progress.status_code, progress.final_url = response.status, str(target)
                    return await self._read(url, target, response, validators, started)
            target = following
        raise FetchFailure("too many redirects")

    def _tls_for(self, target: URL) -> ssl.SSLContext | bool:
        """The context that verifies an https server, loaded once (~25 ms: the system's certificates); for http,
        aiohttp's default, which plain http never uses."""
        if target.scheme != "https":
            return True
        if self._tls is None:
            self._tls = verified_tls_context()
        return self._tls

    async def _read(
        self, url: str, final: URL, response: aiohttp.ClientResponse, sent: Validators, started: float
    ) -> FetchResult:
        """Turn a response into a result: 304, an HTTP error, or the decoded body."""
        status = response.status
        if status == 304:
            return _result("not_modified", url, final, response, started, validators=_kept_validators(sent, response))
        if not 200 <= status < 300:
            raise FetchFailure(
                f"HTTP {status}", transient=status in _RETRY_STATUSES, retry_after=_retry_after_of(response)
            )
        try:
            body = await _read_body(response, self._limits.max_bytes)
        except BodyRefused as refused:
            response.close()  # the rest of the body is not wanted: the connection goes, not back to the pool
            raise FetchFailure(str(refused)) from None
        text = decode_body(body, response.headers.get("Content-Type"))
        return _result("fetched", url, final, response, started, validators=_validators_of(response), text=text)


def _numeric_host_checked(target: URL, guard: AddressGuard) -> URL:
    """The URL to request: a numeric host (2130706433, 127.1, [::ffff:127.0.0.1]) checked by the guard here, as
    the connector dials it without a lookup, and written as the address it names; raises AddressRefused."""
    host = target.raw_host or ""
    try:
        literal = guard.checked_literal(host)
    except InvalidNumericHost as error:
        raise FetchFailure(f"invalid URL: {error}") from None
    if literal is None or host == literal.compressed:
        return target
    return target.with_host(literal.compressed)


def redirect_target(current: URL, status: int, location: str | None) -> URL | None:
    """Where a redirect leads (None when the response is no redirect); raises FetchFailure for a refused one."""
    if status not in _REDIRECT_STATUSES or not location:
        return None
    try:
        target = current.join(URL(location))
        host = target.host  # decodes punycode: xn-- that decodes to no name raises UnicodeError
    except ValueError as error:
        raise FetchFailure(f"redirect to an invalid URL: {error}") from None
    if target.scheme not in ("http", "https") or not host:
        raise FetchFailure(f"redirect to a non-http(s) URL refused: {str(target)[:100]}")
    if current.scheme == "https" and target.scheme == "http":
        raise FetchFailure(f"redirect from https to http refused: {str(target)[:100]}")
    return target


def _make_session(limits: FetchLimits, user_agent: str, guard: AddressGuard) -> aiohttp.ClientSession:
    """One session: redirects are ours to follow, bodies ours to inflate (within the size limit), no cookies
    carried from one source to another, no proxy from the environment (a proxy would not see the guard)."""
    # An idle connection is kept a few seconds, for the next source on the same host in this cycle: with hundreds
    # of hosts, aiohttp's default 15 s would hold up to 6 idle sockets per host (it caps only connections in use).
    connector = aiohttp.TCPConnector(
        limit=limits.concurrency, limit_per_host=0, resolver=guard, keepalive_timeout=_KEEPALIVE_SECONDS
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout),
        headers={"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": _ACCEPT_ENCODING},
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


def _result(
    outcome: Outcome,
    url: str,
    final: URL,
    response: aiohttp.ClientResponse,
    started: float,
    *,
    validators: Validators,
    text: str = "",
) -> FetchResult:
    """A successful result from a response."""
    return FetchResult(
        outcome,
        url=url,
        final_url=str(final),
        status_code=response.status,
        text=text,
        content_type=response.headers.get("Content-Type"),
        validators=validators,
        elapsed=time.monotonic() - started,
    )


def _fetchable(url: str) -> URL:
    """The URL to fetch; raises FetchFailure for one that cannot be fetched."""
    try:
        parsed = URL(url)
        host = parsed.host  # decodes punycode: xn-- that decodes to no name raises UnicodeError
    except (ValueError, TypeError) as error:
        raise FetchFailure(f"invalid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise FetchFailure("not an http(s) URL")
    return parsed


def _timeout_failure(progress: _Progress, total: float) -> FetchFailure:
    """The total timeout fired: before the headers another try may help, during the body it will not."""
    if progress.status_code is None:
        return FetchFailure("timeout before headers", transient=True)
    return FetchFailure(f"total timeout ({total:g}s) while reading the body")


def _transport_failure(error: aiohttp.ClientError, progress: _Progress) -> FetchFailure:
    """Name an aiohttp error briefly; trouble before the headers is worth another try."""
    before_headers = progress.status_code is None
    if isinstance(error, aiohttp.InvalidURL):
        return FetchFailure(f"invalid URL: {error}")
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return FetchFailure("connect timeout", transient=True)
    if isinstance(error, aiohttp.ClientConnectorCertificateError):  # another try meets the same certificate
        reason = getattr(error.certificate_error, "verify_message", None) or error.certificate_error
        return FetchFailure(f"TLS certificate refused: {reason}")
    if isinstance(error, aiohttp.ClientConnectorError):
        return FetchFailure(f"cannot connect: {error.os_error}", transient=True)
    if isinstance(error, aiohttp.ServerTimeoutError):
        return (
            FetchFailure("timeout before headers", transient=True) if before_headers else FetchFailure("read timeout")
        )
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError):
        if before_headers:
            return FetchFailure("connection closed before headers", transient=True)
        return FetchFailure("connection reset mid-body")
    if isinstance(error, aiohttp.ClientResponseError):  # a response aiohttp could not read (a bad status line)
        return FetchFailure(f"unreadable response: {error.message}", transient=before_headers)
    return FetchFailure(f"{type(error).__name__}: {error}")


def _validators_of(response: aiohttp.ClientResponse) -> Validators:
    """The ETag and Last-Modified the server sent, each when it is text."""
    return Validators(etag=_text_header(response, "ETag"), last_modified=_text_header(response, "Last-Modified"))


def _text_header(response: aiohttp.ClientResponse, name: str) -> str | None:
    """A header's value, or None when it is not UTF-8: aiohttp keeps such bytes as lone surrogates, which SQLite
    refuses to store."""
    value = response.headers.get(name)
    try:
        (value or "").encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _kept_validators(sent: Validators, response: aiohttp.ClientResponse) -> Validators:
    """After a 304: what the server sent again, else what we had."""
    fresh = _validators_of(response)
    return Validators(etag=fresh.etag or sent.etag, last_modified=fresh.last_modified or sent.last_modified)


def _retry_after_of(response: aiohttp.ClientResponse) -> float | None:
    """Retry-After in seconds, dates measured from the server's own Date header when it sent one."""
    server_now = _http_date(response.headers.get("Date")) or datetime.now(UTC)
    return parse_retry_after(response.headers.get("Retry-After"), server_now)


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


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Stream the body, decoding gzip/deflate ourselves so that the limit bounds the inflated size."""
    reader = BoundedBody(response.headers.get("Content-Encoding"), limit)
    reader.check_declared_length(response.headers.get("Content-Length"))
    async for chunk in response.content.iter_any():
        reader.feed(chunk)
    return reader.finish()
