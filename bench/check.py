"""Check benchmark: 1,000 RSS sources of 20 items on a loopback server, a cold cycle then a 304 cycle."""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from jobs.check import Checker, ItemSink, ParserPool, keep_items
from jobs.fetch import Fetcher
from jobs.sources import SourceSpec
from storage.db import open_database

HOSTS = 50


def sources(count: int, port: int) -> list[SourceSpec]:
    """COUNT sources spread over HOSTS loopback addresses, as real sources are over many hosts."""
    return [
        SourceSpec(
            id=f"s{n}",
            name=f"source {n}",
            kind="rss",
            url=f"http://127.0.0.{1 + n % HOSTS}:{port}/feed/{n}",
            every_seconds=600,
        )
        for n in range(count)
    ]


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """The peak resident memory of this process (or of its largest child) so far."""
    return resource.getrusage(who).ru_maxrss / 1024


async def cycles(count: int, port: int, sink: ItemSink, pool: ParserPool, folder: Path) -> tuple[float, float, int]:
    """A cold cycle and a 304 cycle over COUNT sources; their seconds and the items stored."""
    now = dt.datetime.now(dt.UTC)
    db = open_database(folder / f"bench-{count}.db", now)
    async with Fetcher() as fetcher:
        checker = Checker(db, fetcher, sink=sink, parse=pool)
        cold = await checker.check_all(sources(count, port))
        warm = await checker.check_all(sources(count, port))
    items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    db.close()
    assert cold.count("failed") == 0 and warm.count("unchanged") == count, (cold.as_json(), warm.as_json())
    return cold.seconds, warm.seconds, items


def run(make_sink: Callable[[], ItemSink] = lambda: keep_items, sizes: tuple[int, ...] = (250, 500, 1000)) -> None:
    """Print sources/s for each cycle and size, and the peak memory."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.feed_server", str(HOSTS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        pool = ParserPool()
        pool.warm()
        with tempfile.TemporaryDirectory() as folder:
            for count in sizes:
                cold, warm, items = asyncio.run(cycles(count, port, make_sink(), pool, Path(folder)))
                print(
                    f"{count:5d} sources: cold {count / cold:7.0f} sources/s ({cold:.2f} s, {items} items), "
                    f"304s {count / warm:7.0f} sources/s ({warm:.2f} s); "
                    f"{1000 * cold / count:.2f} ms per source cold"
                )
        pool.close()
        print(
            f"peak RSS: checking process {peak_rss_mb():.0f} MB, "
            f"largest child (parser worker or server) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def main() -> None:
    """`make bench` entry point."""
    run()
