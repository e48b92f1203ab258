"""The fetcher against a real HTTP server on loopback that misbehaves on purpose; and body decoding."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from jobs.charset import decode_body
from jobs.fetch import Fetcher, FetchLimits, FetchResult, Slots, Validators, parse_retry_after
from jobs.parse import ParsedItem, ParseError, parse_items
from tests.loopback import (
    Exchange,
    Handler,
    LoopbackServer,
    Request,
    Response,
    Route,
    conditional,
    drip,
    endless_body,
    no_headers,
    redirect,
    reset_mid_body,
    sequence,
    serve,
)

CAP = 100_000
LIMITS = FetchLimits(
    max_bytes=CAP,
    max_redirects=3,
    connect_timeout=1.0,
    read_timeout=1.0,
    total_timeout=3.0,
    attempts=3,
    backoff_base=0.01,
)
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>Gallium licences</title><link>https://x.example/1</link><guid>g-1</guid></item>
</channel></rss>"""
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


class RecordedSleep:
    """Stands in for asyncio.sleep: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
async def fetcher(sleeps: RecordedSleep) -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS, sleep=sleeps) as fetcher:
        yield fetcher


async def fetch_once(path: str, route: Route, limits: FetchLimits = LIMITS) -> tuple[FetchResult, LoopbackServer]:
    """Serve one route, fetch it once with these limits, and return the result and the server."""
    async with LoopbackServer({path: route}) as server, Fetcher(limits, sleep=RecordedSleep()) as fetcher:
        result = await fetcher.fetch(server.url(path), allow_private=True)
    return result, server


# --- success, headers, validators --------------------------------------------------------------------------


async def test_fetched_body_with_validators(fetcher: Fetcher) -> None:
    headers = {**RSS_HEADERS, "ETag": '"v1"', "Last-Modified": "Thu, 09 Oct 2025 08:00:00 GMT"}
    async with serve({"/feed": Response(200, RSS, headers)}) as base_url:
        result = await fetcher.fetch(base_url + "/feed", allow_private=True)
    assert (result.outcome, result.status_code, result.error) == ("fetched", 200, None)
    assert result.text == RSS
    assert result.final_url == result.url == base_url + "/feed"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.validators == Validators(etag='"v1"', last_modified="Thu, 09 Oct 2025 08:00:00 GMT")


async def test_request_headers(fetcher: Fetcher) -> None:
    async with LoopbackServer({"/feed": Response(200, RSS)}) as server:
        await fetcher.fetch(server.url("/feed"), allow_private=True)
    (request,) = server.requests
    assert request.headers["user-agent"] == "Chokepoint/0.1 (+https://github.com/chokepoint-bot/chokepoint)"
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in request.headers and "if-modified-since" not in request.headers


async def test_304_keeps_validators_and_sends_them_back(fetcher: Fetcher) -> None:
    stamp = "Thu, 09 Oct 2025 08:00:00 GMT"
    route = conditional(Response(200, RSS, RSS_HEADERS), etag='"abc"', last_modified=stamp)
    async with LoopbackServer({"/feed": route}) as server:
        first = await fetcher.fetch(server.url("/feed"), allow_private=True)
        second = await fetcher.fetch(server.url("/feed"), first.validators, allow_private=True)
    assert first.outcome == "fetched" and first.validators == Validators('"abc"', stamp)
    assert (second.outcome, second.status_code, second.text, second.error) == ("not_modified", 304, "", None)
    assert second.validators == Validators('"abc"', stamp)
    assert server.requests[1].headers["if-none-match"] == '"abc"'
    assert server.requests[1].headers["if-modified-since"] == stamp


async def test_304_without_validators_in_the_answer_keeps_ours(fetcher: Fetcher) -> None:
    async with serve({"/feed": Response(304)}) as base_url:
        result = await fetcher.fetch(base_url + "/feed", Validators(etag='"old"'), allow_private=True)
    assert (result.outcome, result.validators) == ("not_modified", Validators(etag='"old"'))


async def test_validators_with_a_control_character_are_not_sent_back(fetcher: Fetcher) -> None:
    # aiohttp reads such a header but refuses to send it (a ValueError): sent back, it would break every later
    # fetch of the source, whose validators are stored.
    route = Response(200, RSS, {"ETag": '"v\x01"', "Last-Modified": "Thu, 09 Oct 2025 08:00:00 GMT\x7f"})
    async with LoopbackServer({"/feed": route}) as server:
        first = await fetcher.fetch(server.url("/feed"), allow_private=True)
        second = await fetcher.fetch(server.url("/feed"), first.validators, allow_private=True)
    assert first.validators == Validators('"v\x01"', "Thu, 09 Oct 2025 08:00:00 GMT\x7f")
    assert (second.outcome, second.text) == ("fetched", RSS)
    assert "if-none-match" not in server.requests[1].headers
    assert "if-modified-since" not in server.requests[1].headers


async def test_validators_that_are_not_utf_8_are_not_kept(fetcher: Fetcher) -> None:
    # aiohttp hands such bytes over as lone surrogates, which SQLite refuses to store: the source's check would
    # fail while recording, on every check.
    utf_8, latin_1 = 'W/"caf\xc3\xa9"', "Thu, 09 Oct 2025 08:00:00 GMT\xa0"  # as bytes on the wire
    async with serve({"/feed": Response(200, RSS, {"ETag": utf_8, "Last-Modified": latin_1})}) as base_url:
        result = await fetcher.fetch(base_url + "/feed", allow_private=True)
    assert (result.outcome, result.validators) == ("fetched", Validators('W/"café"', None))


def test_only_sendable_validators_are_request_headers() -> None:
    assert Validators('"a\tb"', "x\ny").request_headers() == {"If-None-Match": '"a\tb"'}


async def test_redirect_is_followed(fetcher: Fetcher) -> None:
    async with serve({"/old": redirect("/new", 301), "/new": Response(200, RSS)}) as base_url:
        result = await fetcher.fetch(base_url + "/old", allow_private=True)
    assert (result.outcome, result.url, result.final_url) == ("fetched", base_url + "/old", base_url + "/new")


# --- HTTP errors and retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500, 403])
async def test_http_error_fails_without_retry(fetcher: Fetcher, sleeps: RecordedSleep, status: int) -> None:
    async with LoopbackServer({"/feed": Response(status, "nope")}) as server:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, result.status_code, result.error) == ("failed", status, f"HTTP {status}")
    assert len(server.requests) == 1 and sleeps.delays == []


async def test_503_then_200_succeeds_within_one_fetch(fetcher: Fetcher, sleeps: RecordedSleep) -> None:
    async with LoopbackServer({"/feed": sequence(Response(503), Response(200, RSS))}) as server:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, result.text) == ("fetched", RSS)
    assert len(server.requests) == 2 and len(sleeps.delays) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_attempts_are_bounded(fetcher: Fetcher, sleeps: RecordedSleep, status: int) -> None:
    async with LoopbackServer({"/feed": Response(status)}) as server:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, result.error, result.status_code) == ("failed", f"HTTP {status}", status)
    assert len(server.requests) == LIMITS.attempts
    assert len(sleeps.delays) == LIMITS.attempts - 1
    first, second = sleeps.delays
    assert 0.75 * LIMITS.backoff_base <= first < 1.25 * LIMITS.backoff_base
    assert 1.5 * LIMITS.backoff_base <= second < 2.5 * LIMITS.backoff_base


async def test_503_with_short_retry_after_waits_that_long(fetcher: Fetcher, sleeps: RecordedSleep) -> None:
    route = sequence(Response(503, headers={"Retry-After": "7"}), Response(200, RSS))
    async with serve({"/feed": route}) as base_url:
        result = await fetcher.fetch(base_url + "/feed", allow_private=True)
    assert result.outcome == "fetched"
    assert sleeps.delays == [7.0]


async def test_503_with_long_retry_after_ends_the_fetch(fetcher: Fetcher, sleeps: RecordedSleep) -> None:
    async with LoopbackServer({"/feed": Response(503, headers={"Retry-After": "3600"})}) as server:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, result.error, result.retry_after) == ("failed", "HTTP 503", 3600.0)
    assert len(server.requests) == 1 and sleeps.delays == []


def test_parse_retry_after() -> None:
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


# --- the network misbehaving -------------------------------------------------------------------------------


async def test_timeout_before_headers_is_retried_then_fails(sleeps: RecordedSleep) -> None:
    limits = FetchLimits(read_timeout=0.2, total_timeout=2.0, attempts=2, backoff_base=0.01)
    async with LoopbackServer({"/feed": no_headers()}) as server, Fetcher(limits, sleep=sleeps) as fetcher:
        result = await fetcher.fetch(server.url("/feed"), allow_private=True)
    assert (result.outcome, result.error, result.status_code) == ("failed", "timeout before headers", None)
    assert server.connections == 2 and len(sleeps.delays) == 1


async def test_dripping_body_is_cut_by_the_total_timeout() -> None:
    limits = FetchLimits(read_timeout=1.0, total_timeout=0.3, attempts=3)
    result, server = await fetch_once("/feed", drip(b"x" * 1000, interval=0.02), limits)
    assert (result.outcome, result.error) == ("failed", "total timeout (0.3s) while reading the body")
    assert result.status_code == 200
    assert len(server.requests) == 1  # a body that was coming is not fetched again
    assert server.exchanges[0].bytes_written < 1000


async def test_a_body_that_stops_coming_is_cut_by_the_read_timeout() -> None:
    async def stall(request: Request, exchange: Exchange) -> None:
        await exchange.send_head(200, {"Content-Length": "1000"})
        await exchange.write(b"x" * 10)
        await exchange.wait_for_disconnect()

    limits = FetchLimits(read_timeout=0.2, total_timeout=5.0, attempts=3)
    result, server = await fetch_once("/feed", stall, limits)
    assert (result.outcome, result.error, result.status_code) == ("failed", "read timeout", 200)
    assert len(server.requests) == 1  # a body that was coming is not fetched again


async def test_a_connection_that_is_never_accepted_is_a_connect_timeout(sleeps: RecordedSleep) -> None:
    limits = FetchLimits(connect_timeout=0.2, total_timeout=5.0, attempts=2, backoff_base=0.01)
    with socket.socket() as listener, contextlib.ExitStack() as fillers:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once the queue is full, the kernel leaves further handshakes unanswered
        port = listener.getsockname()[1]
        for _ in range(3):
            filler = fillers.enter_context(socket.socket())
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        async with Fetcher(limits, sleep=sleeps) as fetcher:
            result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed", allow_private=True)
    assert (result.outcome, result.error, result.status_code) == ("failed", "connect timeout", None)
    assert len(sleeps.delays) == 1  # worth another try


async def test_connection_reset_mid_body() -> None:
    result, server = await fetch_once("/feed", reset_mid_body(b"<rss><channel>", declared_length=5000))
    assert (result.outcome, result.error, result.status_code) == ("failed", "connection reset mid-body", 200)
    assert len(server.requests) == 1


async def test_redirect_loop() -> None:
    result, server = await fetch_once("/loop", redirect("/loop"))
    assert (result.outcome, result.error) == ("failed", "too many redirects")
    assert len(server.requests) == LIMITS.max_redirects + 1


async def test_connection_refused_is_retried_then_fails(fetcher: Fetcher, sleeps: RecordedSleep) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed", allow_private=True)
    assert result.outcome == "failed" and result.error is not None
    assert result.error.startswith("cannot connect")
    assert len(sleeps.delays) == LIMITS.attempts - 1


async def test_a_certificate_no_trusted_authority_vouches_for_fails_at_once(
    fetcher: Fetcher, sleeps: RecordedSleep
) -> None:
    certificate = trustme.CA().issue_cert("127.0.0.1")  # from an authority the system does not trust
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    handshakes: list[int] = []

    async def serve_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handshakes.append(1)
        writer.close()

    server = await asyncio.start_server(serve_tls, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await fetcher.fetch(f"https://127.0.0.1:{port}/feed", allow_private=True)
    assert result.outcome == "failed" and result.error is not None
    assert result.error.startswith("TLS certificate refused: ") and "certificate" in result.error[25:]
    assert sleeps.delays == []  # not tried again


async def test_a_certificate_from_the_authority_openssl_is_told_to_trust_is_accepted_after_an_http_redirect(
    fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every https hop carries the fetcher's own context, which loads the certificates the system's defaults name
    (here the one SSL_CERT_FILE names): aiohttp's own contexts were built with none (jobs/http_client.py)."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "authority.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "authority.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)

    async def serve_feed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {len(RSS)}\r\n\r\n"
        writer.write(head.encode() + RSS.encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve_feed, "127.0.0.1", 0, ssl=context)
    secure_url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed"
    async with server, serve({"/feed": redirect(secure_url, 301)}) as base_url:
        result = await fetcher.fetch(f"{base_url}/feed", allow_private=True)
    assert result.outcome == "fetched", result.error
    assert result.final_url == secure_url and "Gallium licences" in result.text


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://example.com/feed", "not an http(s) URL"),
        ("not a url", "not an http(s) URL"),
        ("http://", "not an http(s) URL"),
        ("http://[::1", "invalid URL: "),
        ("http://xn--/feed", "invalid URL: "),  # punycode that decodes to no name
        ("http://a.xn--a/feed", "invalid URL: "),
    ],
)
async def test_unfetchable_urls_fail_without_a_request(fetcher: Fetcher, url: str, error: str) -> None:
    result = await fetcher.fetch(url, allow_private=True)
    assert result.outcome == "failed" and result.status_code is None
    assert result.error is not None and result.error.startswith(error)


async def test_fetch_after_close_is_a_programming_error() -> None:
    fetcher = Fetcher(LIMITS)
    await fetcher.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await fetcher.fetch("http://127.0.0.1:9/", allow_private=True)


# --- size limits -------------------------------------------------------------------------------------------


async def test_50_mb_body_is_stopped_at_the_cap(fetcher: Fetcher) -> None:
    total = 50_000_000
    async with LoopbackServer({"/big": endless_body(total)}) as server:
        result = await fetcher.fetch(server.url("/big"), allow_private=True)
        exchange = server.exchanges[0]
        await asyncio.wait_for(exchange.finished.wait(), timeout=5)
    assert (result.outcome, result.error, result.status_code) == ("failed", "body over 100 kB", 200)
    assert exchange.client_gone  # the server saw the client stop reading
    assert exchange.bytes_written < total // 5


async def test_declared_oversize_body_is_refused_before_reading(fetcher: Fetcher) -> None:
    result, _ = await fetch_once("/big", Response(200, b"x" * (CAP + 1)))
    assert (result.outcome, result.error) == ("failed", "body over 100 kB")


async def test_body_at_the_cap_is_accepted(fetcher: Fetcher) -> None:
    result, _ = await fetch_once("/full", Response(200, b"x" * CAP, {"Content-Type": "text/plain"}))
    assert result.outcome == "fetched" and len(result.text) == CAP


def gzip_bomb(inflated_mb: int) -> bytes:
    """A gzip body that inflates to inflated_mb megabytes of zeros, built a megabyte at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    megabyte = bytes(1_000_000)
    parts = [compressor.compress(megabyte) for _ in range(inflated_mb)]
    return b"".join(parts) + compressor.flush()


async def test_gzip_bomb_is_stopped_at_the_cap() -> None:
    bomb = gzip_bomb(50)
    assert len(bomb) < 100_000  # smaller on the wire than the cap, 50 MB inflated
    route = Response(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
    result, _ = await fetch_once("/bomb", route)
    assert (result.outcome, result.error) == ("failed", "body over 100 kB")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", lambda data: zlib.compress(data, wbits=16 + zlib.MAX_WBITS)),
        ("x-gzip", lambda data: zlib.compress(data, wbits=16 + zlib.MAX_WBITS)),
        ("deflate", lambda data: zlib.compress(data)),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some servers send
    ],
)
async def test_compressed_bodies_are_decoded(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    body = compress(RSS.encode("utf-8"))
    result, _ = await fetch_once("/feed", Response(200, body, {"Content-Encoding": encoding, **RSS_HEADERS}))
    assert (result.outcome, result.text) == ("fetched", RSS)


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", zlib.compress(RSS.encode(), wbits=16 + zlib.MAX_WBITS)[:60]],
    ids=["garbage", "truncated"],
)
async def test_broken_gzip_body(body: bytes) -> None:
    result, _ = await fetch_once("/feed", Response(200, body, {"Content-Encoding": "gzip"}))
    assert (result.outcome, result.error) == ("failed", "broken gzip body")


async def test_empty_body_marked_gzip_is_empty() -> None:
    result, _ = await fetch_once("/feed", Response(200, b"", {"Content-Encoding": "gzip"}))
    assert (result.outcome, result.text) == ("fetched", "")


async def test_unsupported_content_encoding() -> None:
    result, _ = await fetch_once("/feed", Response(200, b"\x00\x01", {"Content-Encoding": "br"}))
    assert (result.outcome, result.error) == ("failed", "unsupported content encoding br")


# --- concurrency -------------------------------------------------------------------------------------------


def held_open(hold: float) -> Handler:
    """A handler that keeps each request open a moment, so that overlapping requests show."""

    async def handler(request: Request, exchange: Exchange) -> Response:
        await asyncio.sleep(hold)
        return Response(200, "ok")

    return handler


async def test_per_host_limit_is_kept(sleeps: RecordedSleep) -> None:
    limits = FetchLimits(per_host=2, concurrency=10)
    async with LoopbackServer({"/slow": held_open(0.03)}) as server, Fetcher(limits, sleep=sleeps) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow"), allow_private=True) for _ in range(8)))
    assert [result.outcome for result in results] == ["fetched"] * 8
    assert server.max_active == 2


async def test_global_limit_is_kept(sleeps: RecordedSleep) -> None:
    limits = FetchLimits(per_host=10, concurrency=3)
    async with LoopbackServer({"/slow": held_open(0.03)}) as server, Fetcher(limits, sleep=sleeps) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/slow"), allow_private=True) for _ in range(9)))
    assert [result.outcome for result in results] == ["fetched"] * 9
    assert server.max_active == 3


async def free_slots(slots: Slots, count: int) -> None:
    """Exactly COUNT slots can be taken at once: one more would wait."""
    for _ in range(count):
        await asyncio.wait_for(slots.__aenter__(), timeout=1)
    one_more = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0.01)
    assert not one_more.done()
    one_more.cancel()
    with pytest.raises(asyncio.CancelledError):
        await one_more


async def test_slots_are_taken_in_order_of_asking() -> None:
    slots, order = Slots(1), []

    async def take(name: str) -> None:
        async with slots:
            order.append(name)
            await asyncio.sleep(0)

    await asyncio.gather(*(take(name) for name in "abcde"))
    assert order == list("abcde")
    await free_slots(slots, 1)


async def test_a_cancelled_waiter_loses_no_slot() -> None:
    slots = Slots(1)
    async with slots:
        waiter = asyncio.create_task(slots.__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    await free_slots(slots, 1)


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_goes_to_the_next() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    first = asyncio.create_task(slots.__aenter__())
    second = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0)
    await slots.__aexit__()  # handed to the first in line ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, timeout=1)  # the second got it
    await slots.__aexit__()
    await free_slots(slots, 1)


async def test_a_waiter_cancelled_just_before_a_release_passes_over_it_is_only_cancelled() -> None:
    """Ctrl-C during a check: a waiter is cancelled, then a release skips its turn before it runs."""
    slots = Slots(1)
    await slots.__aenter__()
    first = asyncio.create_task(slots.__aenter__())
    second = asyncio.create_task(slots.__aenter__())
    await asyncio.sleep(0)
    first.cancel()  # its turn is cancelled at once; the task itself runs later
    await slots.__aexit__()  # passes over the cancelled turn and hands the slot to the second
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, timeout=1)
    await slots.__aexit__()
    await free_slots(slots, 1)


# --- what the parser makes of what was fetched --------------------------------------------------------------


async def parsed_from_server(
    route: Response, kind: str = "rss", select: str | None = None
) -> list[ParsedItem] | ParseError:
    """Fetch a route, then parse the body; returns the items or the ParseError."""
    result, _ = await fetch_once("/doc", route)
    assert result.outcome == "fetched"
    try:
        return parse_items(kind, result.text, base_url=result.final_url, select=select)
    except ParseError as error:
        return error


async def test_html_served_as_rss_is_a_parse_error() -> None:
    page = "<!DOCTYPE html><html><head><title>Moved</title></head><body><p>gone</p></body></html>"
    outcome = await parsed_from_server(Response(200, page, {"Content-Type": "application/rss+xml"}))
    assert isinstance(outcome, ParseError) and str(outcome) == "HTML served as RSS"


async def test_broken_xml_is_a_parse_error() -> None:
    outcome = await parsed_from_server(Response(200, '<?xml version="1.0"?><rss><channel><<</', RSS_HEADERS))
    assert isinstance(outcome, ParseError) and str(outcome).startswith("broken XML: ")


async def test_empty_body_is_a_parse_error() -> None:
    outcome = await parsed_from_server(Response(200, b"", RSS_HEADERS))
    assert isinstance(outcome, ParseError) and str(outcome) == "empty body"


async def test_selector_matching_nothing_is_a_parse_error() -> None:
    page = "<html><body><div class='cards'><a href='/x'>x</a></div></body></html>"
    outcome = await parsed_from_server(Response(200, page, {"Content-Type": "text/html"}), "html", "ul.list li a")
    assert isinstance(outcome, ParseError) and str(outcome) == "selector matched nothing"


GBK_PAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>'
    "<ul class='list'><li><a href='/art/57.html'>关于对部分中重稀土相关物项实施出口管制的决定</a>"
    "<span>2025-10-09</span></li></ul></body></html>"
)
SJIS_PAGE = (
    "<html><head><title>経済産業省</title></head><body><ul><li><a href='/press/1.html'>"
    "レアアースの輸出規制に関する経済産業大臣のコメント</a> 2026年1月6日</li>"
    "<li><a href='/press/2.html'>軍民両用品目の輸出許可制について</a> 2026年1月8日</li></ul></body></html>"
)


async def test_gbk_page_without_charset_header_is_decoded() -> None:
    route = Response(200, GBK_PAGE.encode("gbk"), {"Content-Type": "text/html"})
    items = await parsed_from_server(route, "html", "ul.list li a")
    assert isinstance(items, list)
    assert [item.title for item in items] == ["关于对部分中重稀土相关物项实施出口管制的决定"]


async def test_shift_jis_page_without_any_declaration_is_decoded() -> None:
    route = Response(200, SJIS_PAGE.encode("shift_jis"), {"Content-Type": "text/html"})
    items = await parsed_from_server(route, "html", "li a")
    assert isinstance(items, list)
    assert [item.title for item in items] == [
        "レアアースの輸出規制に関する経済産業大臣のコメント",
        "軍民両用品目の輸出許可制について",
    ]


async def test_page_with_lying_charset_header_is_decoded() -> None:
    route = Response(200, GBK_PAGE.encode("gbk"), {"Content-Type": "text/html; charset=utf-8"})
    result, _ = await fetch_once("/doc", route)
    assert "关于对部分中重稀土相关物项实施出口管制的决定" in result.text


# --- decode_body -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("稀土 rare earths".encode(), "text/html; charset=utf-8", "稀土 rare earths"),
        ("稀土".encode("utf-8-sig"), None, "稀土"),
        ("稀土".encode("utf-16"), "text/plain", "稀土"),
        # 镕 is in GBK, not GB2312: a gb2312 label is read as its superset GB18030.
        ('<meta charset="gb2312"><p>朱镕基</p>'.encode("gbk"), "text/html", '<meta charset="gb2312"><p>朱镕基</p>'),
        ("<p>朱镕基</p>".encode("gbk"), 'text/html; charset="GBK"', "<p>朱镕基</p>"),
        # ① is in cp932, not in strict Shift_JIS: a Shift_JIS label is read as cp932.
        ("<p>①稀土</p>".encode("cp932"), "text/html; charset=Shift_JIS", "<p>①稀土</p>"),
        (
            '<?xml version="1.0" encoding="EUC-JP"?><t>輸出規制</t>'.encode("euc_jp"),
            "application/xml",
            '<?xml version="1.0" encoding="EUC-JP"?><t>輸出規制</t>',
        ),
        # A header claiming latin-1 loses to valid UTF-8 and to the page's own declaration.
        ("<p>レアアース</p>".encode(), "text/html; charset=ISO-8859-1", "<p>レアアース</p>"),
        ('<meta charset="gbk">稀土'.encode("gbk"), "text/html; charset=iso-8859-1", '<meta charset="gbk">稀土'),
        ("café".encode("latin-1"), "text/html; charset=iso-8859-1", "café"),
        # Non-text codecs named as charsets are ignored.
        (b"plain text", "text/plain; charset=zlib", "plain text"),
        (b"", "text/html", ""),
    ],
)
def test_decode_body(body: bytes, content_type: str | None, expected: str) -> None:
    assert decode_body(body, content_type) == expected


def test_decode_body_detects_gbk_without_any_declaration() -> None:
    text = "商务部 海关总署公告2025年第57号 关于对部分中重稀土相关物项实施出口管制的决定，自2025年11月8日起施行。"
    assert decode_body(text.encode("gbk"), None) == text


def test_decode_body_never_raises_on_garbage() -> None:
    text = decode_body(b"\xff\xfe\xfa\x80\x81" * 3 + b"\x00", "text/html; charset=utf-8")
    assert isinstance(text, str) and len(text) > 0


@pytest.mark.parametrize(
    "bad", [{"attempts": 0}, {"per_host": 0}, {"max_bytes": 0}, {"total_timeout": 0}, {"max_redirects": -1}]
)
def test_limits_that_would_disable_a_safeguard_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FetchLimits(**bad)  # type: ignore[arg-type]


def test_retry_after_with_a_non_ascii_digit_is_unreadable_not_a_crash() -> None:
    from datetime import UTC, datetime

    from jobs.fetch import parse_retry_after

    assert parse_retry_after("²", datetime(2026, 11, 29, tzinfo=UTC)) is None
    assert parse_retry_after("12", datetime(2026, 11, 29, tzinfo=UTC)) == 12.0
