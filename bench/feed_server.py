"""A loopback feed server for the check benchmark: /feed/N is an RSS feed of 20 items with an ETag.

Run as `python -m bench.feed_server HOSTS`; it listens on 127.0.0.1 .. 127.0.0.HOSTS (one port for all),
prints the port, and stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import email.utils
import sys

ITEMS_PER_FEED = 20
PUBLISHED = email.utils.formatdate(1_796_000_000, usegmt=True)


def feed(number: int) -> bytes:
    """The feed of source N: 20 items, each with its own guid."""
    items = "".join(
        f"<item><title>Source {number} item {i}: rare-earth export licences under review</title>"
        f"<link>https://example.org/{number}/{i}</link><guid>s{number}-i{i}</guid>"
        f"<pubDate>{PUBLISHED}</pubDate><description>Summary of item {i} of source {number}.</description></item>"
        for i in range(ITEMS_PER_FEED)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {number}</title>'
        f"<link>https://example.org/{number}</link>{items}</channel></rss>"
    ).encode()


def response(status: str, body: bytes, etag: str) -> bytes:
    """An HTTP/1.1 response that keeps the connection open."""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: {etag}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer requests on one connection until the client closes it."""
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode("latin-1").split("\r\n")
            number = int(lines[0].split()[1].rsplit("/", 1)[-1])
            etag = f'"v{number}"'
            matched = any(line.lower() == f"if-none-match: {etag}" for line in lines)
            writer.write(response("304 Not Modified", b"", etag) if matched else response("200 OK", feed(number), etag))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(hosts: int) -> None:
    """Listen on every host address with one port; stop at the end of standard input."""
    first = await asyncio.start_server(serve_connection, "127.0.0.1", 0)
    port = first.sockets[0].getsockname()[1]
    others = [await asyncio.start_server(serve_connection, f"127.0.0.{n}", port) for n in range(2, hosts + 1)]
    print(port, flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for server in (first, *others):
        server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
