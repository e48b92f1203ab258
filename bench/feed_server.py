"""A loopback feed server for the check benchmark: /feed/N and /hot/N are RSS feeds of 20 items with an ETag.

/feed/N mixes news as a real feed does: two items of 20 are about export controls. /hot/N is the worst
case, every item about export controls (every item is then measured in full, and moves statuses).

Run as `python -m bench.feed_server HOSTS [DELAY_MS]`; it listens on 127.0.0.1 .. 127.0.0.HOSTS (one port for
all), answers each request after DELAY_MS milliseconds (0 by default: a server's latency), prints the port, and
stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import sys
import time

ITEMS_PER_FEED = 20
PUBLISHED = email.utils.formatdate(time.time() - 3600, usegmt=True)  # an hour ago: fresh news


RELEVANT = (
    "China tightens rare-earth export licence reviews for Japanese buyers",
    "Beijing bans gallium and germanium exports to the United States",
    "China suspends export controls on graphite anodes",
    "MOFCOM adds antimony to export licensing list",
)
OTHER = (
    "Toyota reports record quarterly profit as yen weakens",
    "Bank of Japan holds rates steady",
    "Lynas opens new processing plant in Malaysia",
    "Copper prices rise on supply worries in Chile",
    "Samsung unveils new smartphone line-up",
    "European stocks close higher ahead of central bank meeting",
)


def title(number: int, index: int, hot: bool) -> str:
    """Item INDEX of source NUMBER: about export controls in every tenth item (every item when hot)."""
    pool = RELEVANT if hot or index % 10 == 0 else OTHER
    return f"{pool[(number + index) % len(pool)]} ({number}.{index})"


def feed(number: int, hot: bool = False) -> bytes:
    """The feed of source N: 20 items, each with its own guid."""
    items = "".join(
        f"<item><title>{title(number, i, hot)}</title>"
        f"<link>https://example.org/{number}/{i}</link><guid>s{number}-i{i}</guid>"
        f"<pubDate>{PUBLISHED}</pubDate><description>Item {i} of source {number}.</description></item>"
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


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Answer requests on one connection until the client closes it, each after DELAY seconds."""
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            if delay:
                await asyncio.sleep(delay)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split()[1]
            number, hot = int(path.rsplit("/", 1)[-1]), path.startswith("/hot/")
            etag = f'"{"h" if hot else "v"}{number}"'
            matched = any(line.lower() == f"if-none-match: {etag}" for line in lines)
            body = b"" if matched else feed(number, hot)
            writer.write(response("304 Not Modified" if matched else "200 OK", body, etag))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(hosts: int, delay: float) -> None:
    """Listen on every host address with one port; stop at the end of standard input."""
    serve = functools.partial(serve_connection, delay=delay)
    first = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    port = first.sockets[0].getsockname()[1]
    others = [await asyncio.start_server(serve, f"127.0.0.{n}", port, backlog=1024) for n in range(2, hosts + 1)]
    print(port, flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for server in (first, *others):
        server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0))
