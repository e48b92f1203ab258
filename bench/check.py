"""Check benchmark: 1,000 RSS sources of 20 items on a loopback server, a cold cycle then a 304 cycle."""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.domain.knowledge import load_exposure_table
from bot.domain.rules import load_rules
from bot.domain.vocab import load_vocabulary
from jobs.alerts import AlertContext
from jobs.check import Checker, ItemSink, keep_items
from jobs.fetch import Fetcher
from jobs.pipeline import MeasuringSink
from jobs.reading import measure_in_worker
from jobs.sources import SourceSpec
from jobs.workers import ParserPool
from storage.db import open_database

HOSTS = 50


def sources(count: int, port: int, path: str = "feed") -> list[SourceSpec]:
    """COUNT sources spread over HOSTS loopback addresses, as real sources are over many hosts."""
    return [
        SourceSpec(
            id=f"s{n}",
            name=f"source {n}",
            kind="rss",
            url=f"http://127.0.0.{1 + n % HOSTS}:{port}/{path}/{n}",
            every_seconds=600,
            allow_private=True,  # the bench's feeds are on loopback
        )
        for n in range(count)
    ]


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """The peak resident memory of this process (or of its largest child) so far."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds() -> float:
    """The CPU time this process has used so far (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def cycles(
    runs: Sequence[tuple[int, str]], port: int, sink: ItemSink, pool: ParserPool, folder: Path
) -> list[tuple[float, float, int, float]]:
    """For each (count, path): a cold cycle and a 304 cycle in a new database; seconds, items stored, and the
    CPU seconds of the cold cycle in this process."""
    results = []
    async with Fetcher() as fetcher:
        for count, path in runs:
            db = open_database(folder / f"bench-{path}-{count}.db", dt.datetime.now(dt.UTC))
            checker = Checker(db, fetcher, sink=sink, parse=pool)
            started = cpu_seconds()
            cold = await checker.check_all(sources(count, port, path))
            cold_cpu = cpu_seconds() - started
            warm = await checker.check_all(sources(count, port, path))
            items = db.execute("SELECT count(*) FROM items").fetchone()[0]
            db.close()
            assert cold.count("failed") == 0 and warm.count("unchanged") == count, (cold.as_json(), warm.as_json())
            results.append((cold.seconds, warm.seconds, items, cold_cpu))
    return results


def report(count: int, path: str, cold: float, warm: float, items: int, cold_cpu: float) -> None:
    """One line of figures."""
    kind = "every item relevant" if path == "hot" else "1 in 10 items relevant"
    print(
        f"{count:5d} sources ({kind}): cold {count / cold:5.0f} sources/s ({cold:.2f} s, CPU {cold_cpu:.2f} s, "
        f"{items} items), 304s {count / warm:5.0f} sources/s ({warm:.2f} s); {1000 * cold / count:.2f} ms per "
        "source cold"
    )


def start_server(hosts: int = HOSTS, delay_ms: int = 0) -> tuple[subprocess.Popen[str], int]:
    """The feed server in its own process (it should not share this one's event loop); its port."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.feed_server", str(hosts), str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, int(server.stdout.readline())


RUNS = ((250, "feed"), (500, "feed"), (1000, "feed"), (1000, "hot"))


def run(make_sink: Callable[[], ItemSink], runs: Sequence[tuple[int, str]] = RUNS) -> None:
    """Print sources/s for each cycle and size, and the peak memory."""
    for (count, path), figures in zip(runs, on_server(make_sink(), runs), strict=True):
        report(count, path, *figures)
    print(
        f"peak RSS: checking process {peak_rss_mb():.0f} MB, "
        f"largest child (a parser worker or the feed server) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )


def on_server(sink: ItemSink, runs: Sequence[tuple[int, str]]) -> list[tuple[float, float, int, float]]:
    """The figures of `cycles` against a feed server of its own."""
    server, port = start_server()
    pool = ParserPool(annotate=measure_in_worker)  # RSS is read in this process; workers start only for HTML
    try:
        with tempfile.TemporaryDirectory() as folder:
            return asyncio.run(cycles(runs, port, sink, pool, Path(folder)))
    finally:
        pool.close()
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def sink_cost(count: int = 1000) -> None:
    """The CPU of a cold cycle storing items only, beside the same cycle measuring them, moving measures and
    statuses and raising alerts: what the measuring sink itself costs."""
    runs = ((count, "feed"), (count, "hot"))
    stored = on_server(keep_items, runs)
    measured = on_server(measuring_sink(), runs)
    for (_, path), only, full in zip(runs, stored, measured, strict=True):
        kind = "every item relevant" if path == "hot" else "1 in 10 items relevant"
        print(
            f"cold cycle of {count} sources ({kind}), CPU in the checking process: storing only {only[3]:.2f} s, "
            f"measuring too {full[3]:.2f} s (the measuring sink {full[3] - only[3]:.2f} s)"
        )


def measuring_sink() -> ItemSink:
    """The sink the bot runs with: measuring, moving statuses, raising alerts."""
    vocabulary = load_vocabulary()
    return MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, load_exposure_table(vocabulary)))


def main() -> None:
    """`make bench` entry point."""
    run(measuring_sink)
    sink_cost()
