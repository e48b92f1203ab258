"""A real HTTP/1.1 server on 127.0.0.1 for tests: canned responses, and handlers that misbehave on purpose."""

# Usage:
#
#     async with serve({"/feed": Response(200, FEED, {"Content-Type": "application/rss+xml"})}) as base_url:
#         result = await fetcher.fetch(base_url + "/feed")
#
# A route maps a path (without the query) to a Response, a list of Responses (served in turn, the last one
# repeating), or a handler `async def handler(request, exchange) -> Response | None` that either returns a
# Response or writes through the Exchange itself: slowly, partly, or not at all. Use LoopbackServer directly
# to see what the server saw (requests, connections, the most answered at once, bytes written, whether the
# client went away). Every connection is closed after one response, so requests and connections count alike.

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    """A request as the server read it; header names are lower case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        """The target without its query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        """The query string, without the '?'."""
        return urlsplit(self.target).query


@dataclass(frozen=True)
class Response:
    """A canned response; Content-Length is added unless Transfer-Encoding is given."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def body_bytes(self) -> bytes:
        """The body, UTF-8 encoded when given as text."""
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


class Exchange:
    """One request being answered; handlers write through it and the test reads what happened."""

    def __init__(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.request = request
        self.bytes_written = 0
        self.client_gone = False
        self.finished = asyncio.Event()
        self._reader = reader
        self._writer = writer

    async def send(self, response: Response) -> None:
        """Write a whole response."""
        body = response.body_bytes()
        headers = dict(response.headers)
        if not any(name.lower() in ("content-length", "transfer-encoding") for name in headers):
            headers["Content-Length"] = str(len(body))
        await self.send_head(response.status, headers)
        await self.write(body)

    async def send_head(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        """Write the status line and headers (Connection: close is always added)."""
        lines = [f"HTTP/1.1 {status} {_reason(status)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        lines.append("Connection: close")
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def write(self, data: bytes) -> None:
        """Write bytes and wait until the socket takes them; notes a client that has gone."""
        if not data:
            return
        try:
            self._writer.write(data)
            await self._writer.drain()
        except ConnectionError:
            self.client_gone = True
            raise
        self.bytes_written += len(data)

    async def write_chunk(self, data: bytes) -> None:
        """Write one chunk of a Transfer-Encoding: chunked body."""
        await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_chunks(self) -> None:
        """Write the last, empty chunk."""
        await self.write(b"0\r\n\r\n")

    async def wait_for_disconnect(self) -> None:
        """Wait until the client closes the connection."""
        with contextlib.suppress(ConnectionError):
            while await self._reader.read(65_536):
                pass
        self.client_gone = True

    def abort(self) -> None:
        """Drop the connection at once (a TCP reset, not a clean close)."""
        self._writer.transport.abort()


Handler = Callable[[Request, Exchange], Awaitable[Response | None]]
Route = Response | Sequence[Response] | Handler


class LoopbackServer:
    """The server behind serve(), with what it saw."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = dict(routes)
        self.requests: list[Request] = []
        self.exchanges: list[Exchange] = []
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.base_url = ""
        self._served: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    def url(self, path: str) -> str:
        """An absolute URL on this server."""
        return self.base_url + path

    def requests_to(self, path: str) -> list[Request]:
        """The requests this server received for one path."""
        return [request for request in self.requests if request.path == path]

    async def __aenter__(self) -> LoopbackServer:
        """Listen on an ephemeral port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._connection, HOST, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://{HOST}:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop listening and end every connection still open."""
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one request on a new connection, then close it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            request = await _read_request(reader)
            if request is not None:
                await self._answer(request, reader, writer)
        finally:
            self._tasks.discard(task)
            await _close(writer)

    async def _answer(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run the route for a request, counting how many are answered at once."""
        self.requests.append(request)
        exchange = Exchange(request, reader, writer)
        self.exchanges.append(exchange)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            response = await self._respond(request, exchange)
            if response is not None:
                await exchange.send(response)
        except ConnectionError:
            exchange.client_gone = True
        finally:
            self.active -= 1
            exchange.finished.set()

    async def _respond(self, request: Request, exchange: Exchange) -> Response | None:
        """The route's answer: a canned response, the next of a list, or what a handler does."""
        route = self.routes.get(request.path)
        if route is None:
            return Response(404, "no such route")
        if isinstance(route, Response):
            return route
        if isinstance(route, Sequence):
            served = self._served.get(request.path, 0)
            self._served[request.path] = served + 1
            return route[min(served, len(route) - 1)]
        return await route(request, exchange)


@contextlib.asynccontextmanager
async def serve(routes: Mapping[str, Route]) -> AsyncIterator[str]:
    """Run a LoopbackServer for the duration of the block; yields its base URL (http://127.0.0.1:PORT)."""
    async with LoopbackServer(routes) as server:
        yield server.base_url


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read a request line, headers and a Content-Length body; None when the client sent nothing usable."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = _headers(lines[1:])
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return Request(method, target, headers, body)


def _headers(lines: list[str]) -> dict[str, str]:
    """Header lines as a dict with lower-case names; repeated headers are joined with commas."""
    headers: dict[str, str] = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    return headers


def _reason(status: int) -> str:
    """The reason phrase of a status code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a connection, whatever state the client left it in."""
    writer.close()
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await writer.wait_closed()


# --- ready-made misbehaviour ------------------------------------------------------------------------------


def sequence(*responses: Response) -> list[Response]:
    """Responses served in turn; the last one repeats."""
    return list(responses)


def redirect(location: str, status: int = 302) -> Response:
    """A redirect to location (relative or absolute)."""
    return Response(status, b"", {"Location": location})


def no_headers() -> Handler:
    """Read the request and never answer, until the client gives up."""

    async def handler(request: Request, exchange: Exchange) -> None:
        await exchange.wait_for_disconnect()

    return handler


def drip(body: bytes, interval: float, headers: Mapping[str, str] | None = None) -> Handler:
    """Send the headers at once, then the body one byte every interval seconds."""

    async def handler(request: Request, exchange: Exchange) -> None:
        await exchange.send_head(200, {"Content-Length": str(len(body)), **(headers or {})})
        for index in range(len(body)):
            await exchange.write(body[index : index + 1])
            await asyncio.sleep(interval)

    return handler


def reset_mid_body(sent: bytes, declared_length: int, headers: Mapping[str, str] | None = None) -> Handler:
    """Promise declared_length bytes, send the first ones, then reset the connection."""

    async def handler(request: Request, exchange: Exchange) -> None:
        await exchange.send_head(200, {"Content-Length": str(declared_length), **(headers or {})})
        await exchange.write(sent)
        exchange.abort()

    return handler


def endless_body(total: int, chunk_size: int = 65_536, headers: Mapping[str, str] | None = None) -> Handler:
    """Stream total bytes in chunks (Transfer-Encoding: chunked), stopping when the client goes away."""

    async def handler(request: Request, exchange: Exchange) -> None:
        await exchange.send_head(200, {"Transfer-Encoding": "chunked", **(headers or {})})
        chunk = b"x" * chunk_size
        for _ in range(total // chunk_size):
            await exchange.write_chunk(chunk)
        await exchange.end_chunks()

    return handler


def conditional(response: Response, etag: str | None = None, last_modified: str | None = None) -> Handler:
    """Serve response with its validators, or 304 when the request's validators match them."""
    validators = {"ETag": etag, "Last-Modified": last_modified}
    headers = {**response.headers, **{name: value for name, value in validators.items() if value}}

    async def handler(request: Request, exchange: Exchange) -> Response:
        matched = (etag is not None and request.headers.get("if-none-match") == etag) or (
            last_modified is not None and request.headers.get("if-modified-since") == last_modified
        )
        if matched:
            return Response(304, b"", {name: value for name, value in validators.items() if value})
        return Response(response.status, response.body, headers)

    return handler
