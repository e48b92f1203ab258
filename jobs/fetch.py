"""Fetch one URL safely: conditional GET, bounded size, time, redirects and concurrency; failures as values."""

# The only module of the project that imports httpx: the rest sees FetchResult values.

from __future__ import annotations

import asyncio
import codecs
import contextlib
import email.utils
import logging
import random
import re
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import charset_normalizer
import httpx

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "Chokepoint/0.1 (+https://github.com/chokepoint-bot/chokepoint)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/json;q=0.8, */*;q=0.5"
)
# Only what zlib can decode within a bound: brotli and zstd would need packages and a bounded decoder each.
_ACCEPT_ENCODING = "gzip, deflate"
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_SNIFF_BYTES = 4096

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
    """Fetches URLs through one shared client, within FetchLimits; close it with aclose or async with."""

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._limits = limits
        self._user_agent = user_agent
        self._transport = transport
        self._sleep = sleep
        self._random = random.Random()
        self._http: httpx.AsyncClient | None = None
        self._closed = False
        self._everywhere = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        """Return the fetcher itself."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the client."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client (or the unused transport); fetching afterwards is an error."""
        self._closed = True
        if self._http is not None:
            await self._http.aclose()
        elif self._transport is not None:
            await self._transport.aclose()

    async def fetch(self, url: str, validators: Validators = Validators()) -> FetchResult:
        """GET a URL; network, HTTP and decoding trouble come back as outcome "failed", never raised."""
        started = time.monotonic()
        try:
            host = _host_of(url)
        except _Failure as failure:
            return failure.result(url, started)
        attempt = 1
        while True:
            try:
                async with self._slot(host):
                    return await self._attempt(url, validators, started)
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

    def _client(self) -> httpx.AsyncClient:
        """The shared client, created on first use so that nothing happens at construction."""
        if self._closed:
            raise RuntimeError("this Fetcher is closed")
        if self._http is None:
            self._http = _make_client(self._limits, self._user_agent, self._transport)
        return self._http

    async def _attempt(self, url: str, validators: Validators, started: float) -> FetchResult:
        """One request; raises _Failure."""
        progress = _Progress()
        try:
            async with asyncio.timeout(self._limits.total_timeout):
                request = self._client().stream("GET", url, headers=validators.request_headers())
                async with request as response:
                    progress.status_code, progress.final_url = response.status_code, str(response.url)
                    return await self._read(url, response, validators, started)
        except TimeoutError:
            failure = _timeout_failure(progress, self._limits.total_timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            failure = _transport_failure(error, progress)
        except _Failure as raised:
            failure = raised
        failure.status_code = failure.status_code or progress.status_code
        failure.final_url = failure.final_url or progress.final_url
        raise failure

    async def _read(self, url: str, response: httpx.Response, sent: Validators, started: float) -> FetchResult:
        """Turn a response into a result: 304, an HTTP error, or the decoded body."""
        status = response.status_code
        if status == 304:
            return _result("not_modified", url, response, started, validators=_kept_validators(sent, response))
        if not 200 <= status < 300:
            raise _Failure(f"HTTP {status}", transient=status in _RETRY_STATUSES, retry_after=_retry_after_of(response))
        body = await _read_body(response, self._limits.max_bytes)
        text = decode_body(body, response.headers.get("content-type"))
        return _result("fetched", url, response, started, validators=_validators_of(response), text=text)


def _make_client(limits: FetchLimits, user_agent: str, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """One client for all fetches: redirects, timeouts, pool size and default headers from the limits."""
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        # Few idle connections: sources are minutes apart, so keep-alive rarely helps, and httpcore scans
        # its whole pool on every request.
        limits=httpx.Limits(max_connections=limits.concurrency, max_keepalive_connections=16),
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
    if isinstance(error, httpx.TooManyRedirects):
        return _Failure("too many redirects")
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


# --- the body ------------------------------------------------------------------------------------------


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """Stream the body, decoding gzip/deflate ourselves so that the limit bounds the inflated size."""
    reader = _BoundedBody(response.headers.get("content-encoding"), limit)
    declared = response.headers.get("content-length", "")
    if reader.identity and declared.isascii() and declared.isdecimal() and int(declared) > limit:
        raise _Failure(f"body over {_size(limit)}")
    if response.is_stream_consumed:
        # In-process transports (httpx.MockTransport) hand over a body already read and decoded.
        reader = _BoundedBody(None, limit)
        reader.feed(response.content)
    else:
        async for chunk in response.aiter_raw():
            reader.feed(chunk)
    return reader.finish()


class _BoundedBody:
    """Collects a body, inflating it as it comes, and refuses to hold more than limit decoded bytes."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._encoding = _content_encoding(content_encoding)
        self._inflater = _inflater(self._encoding)
        self.identity = self._inflater is None
        self._fed = False

    def feed(self, chunk: bytes) -> None:
        """Add raw bytes from the wire."""
        self._fed = self._fed or bool(chunk)
        self._append(self._inflate(chunk) if self._inflater is not None else chunk)

    def finish(self) -> bytes:
        """The whole decoded body; a compressed stream cut short is refused."""
        if self._inflater is not None and self._fed:
            self._append(self._inflater.flush())
            if not self._inflater.eof:
                raise _Failure(f"broken {self._encoding} body")
        return bytes(self._buffer)

    def _inflate(self, chunk: bytes) -> bytes:
        """Inflate at most one byte past the room left, so a bomb is caught after limit + 1 bytes."""
        assert self._inflater is not None
        room = self._limit - len(self._buffer)
        try:
            return self._inflater.decompress(chunk, room + 1)
        except zlib.error:
            if self._encoding != "deflate" or self._buffer:
                raise _Failure(f"broken {self._encoding} body") from None
        # Some servers send raw deflate without the zlib header that the name promises.
        self._encoding, self._inflater = "raw deflate", zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inflate(chunk)

    def _append(self, data: bytes) -> None:
        """Keep decoded bytes, or fail once they pass the limit."""
        if len(self._buffer) + len(data) > self._limit:
            raise _Failure(f"body over {_size(self._limit)}")
        self._buffer += data


def _content_encoding(header: str | None) -> str:
    """The one content coding applied ("identity" for none); refuses stacked or unknown codings."""
    codings = [part.strip().lower() for part in (header or "").split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if not codings:
        return "identity"
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise _Failure(f"unsupported content encoding {header}")
    return "gzip" if codings[0] == "x-gzip" else codings[0]


def _inflater(encoding: str) -> zlib._Decompress | None:
    """A zlib decompressor for gzip or zlib-wrapped deflate; None for identity."""
    if encoding == "identity":
        return None
    return zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)


def _size(count: int) -> str:
    """A byte count for people: 5 MB, 100 kB, 512 bytes."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"


# --- text ------------------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# Labels Python does not know, as browsers read them.
_LABELS = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "unicode-1-1-utf-8": "utf-8",
}
# Pages declare the old, narrower charset and use characters only its superset has, as browsers allow.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
# Server defaults more often than choices: a page's own declaration, or valid UTF-8, is trusted first.
_WEAK_HEADER_CHARSETS = frozenset({"iso8859-1", "ascii"})


def decode_body(body: bytes, content_type: str | None) -> str:
    """Decode a body: BOM, header charset, <meta>/XML declaration, UTF-8, detection, UTF-8 with replacement."""
    if not body:
        return ""
    for encoding in _encodings_to_try(body, content_type):
        try:
            return body.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


def _encodings_to_try(body: bytes, content_type: str | None) -> Iterator[str]:
    """Candidate codecs, best evidence first; detection runs only if everything before it failed."""
    bom = next((encoding for mark, encoding in _BOMS if body.startswith(mark)), None)
    if bom is not None:
        yield bom
    header = _canonical(_header_charset(content_type))
    if header is not None and header not in _WEAK_HEADER_CHARSETS:
        yield _SUPERSETS.get(header, header)
    declared = _canonical(_declared_charset(body[:_SNIFF_BYTES]))
    if declared is not None and not declared.startswith(("utf-16", "utf-32")):
        yield _SUPERSETS.get(declared, declared)
    yield "utf-8"
    if header is not None:
        yield _SUPERSETS.get(header, header)
    detected = _detected_charset(body)
    if detected is not None:
        yield detected


def _header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header."""
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _declared_charset(head: bytes) -> str | None:
    """The encoding an XML declaration or an HTML <meta> names in the first bytes."""
    match = _XML_DECLARATION.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _canonical(label: str | None) -> str | None:
    """Python's name for a text encoding label, or None for unknown and non-text codecs (zlib, rot13)."""
    if not label:
        return None
    label = _LABELS.get(label.strip().lower(), label.strip().lower())
    try:
        name = codecs.lookup(label).name
        b"".decode(name)  # refuses bytes-to-bytes codecs
    except LookupError:
        return None
    return name


def _detected_charset(body: bytes) -> str | None:
    """charset-normalizer's best guess, widened to its superset."""
    match = charset_normalizer.from_bytes(body).best()
    name = _canonical(match.encoding) if match is not None else None
    return _SUPERSETS.get(name, name) if name is not None else None
