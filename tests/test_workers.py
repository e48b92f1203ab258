"""Parser workers: a deadline per parse, hostile pages contained, a killed worker replaced, parent death, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlite_utils import Database

from jobs.check import Checker
from jobs.fetch import Fetcher, FetchLimits
from jobs.lane import ReadingLane
from jobs.parse import ParsedItem, ParseError
from jobs.reading import measure_in_worker
from jobs.sources import SourceSpec
from jobs.workers import ParserPool
from tests.loopback import Response, serve
from tests.test_check import RSS, feed, spec

HTML = {"Content-Type": "text/html; charset=utf-8"}
LIMITS = FetchLimits(connect_timeout=5, read_timeout=5, total_timeout=10, attempts=1, backoff_base=0)
MOFCOM_SELECT = 'a[href*="/art/"]'
SLOW_TITLE = "a page the reader takes forever over"


def stall_on_slow_titles(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation that never ends for one title: a parse stuck in C code, as far as the pool can tell.

    A source address ending in #FILE has FILE created first, to say the worker got there.
    """
    if item.title == SLOW_TITLE:
        if "#" in source.url:
            Path(source.url.rsplit("#", 1)[-1]).touch()
        time.sleep(600)


def die_once(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation that kills its worker the first time (a marker file remembers), as the OOM killer would."""
    marker = Path(source.url.rsplit("#", 1)[-1])
    if not marker.exists():
        marker.touch()
        os._exit(9)


def page(*links: str) -> str:
    """A listing page of these link texts, each under /art/."""
    rows = "".join(f'<li><a href="/art/{n}.html">{text}</a></li>' for n, text in enumerate(links))
    return f"<html><body><ul>{rows}</ul></body></html>"


def quadratic_page() -> str:
    """16,000 identical links under the MOFCOM selector: 90 s once, when each looked for its date in the page."""
    row = '<li><a href="/art/1.html">Announcement on export controls</a><span>2025-10-09</span></li>'
    return f"<html><body><ul>{row * 16_000}</ul></body></html>"


def nested_title_feed() -> str:
    """A feed whose title nests 300,000 <b> elements (feedparser once spent 45 s and 1.1 GB on 5 MB of them)."""
    title = "<b>" * 300_000 + "x" + "</b>" * 300_000
    return f'<rss version="2.0"><channel><item><title>{title}</title><link>https://a.example/1</link></item></channel></rss>'


@pytest.fixture
def pool() -> Iterator[ParserPool]:
    workers = ParserPool(workers=2, annotate=stall_on_slow_titles, deadline=5)
    yield workers
    workers.close()


async def test_hostile_pages_meet_the_deadline_and_other_sources_are_still_checked(
    db: Database, pool: ParserPool
) -> None:
    routes = {
        "/quadratic": Response(200, quadratic_page(), HTML),
        "/nested": Response(200, nested_title_feed(), RSS),
        "/stuck": Response(200, page(SLOW_TITLE), HTML),
        "/listing": Response(200, page("China restricts gallium exports"), HTML),
        "/feed": Response(200, feed("Rates steady"), RSS),
    }
    async with serve(routes) as base, Fetcher(LIMITS) as fetcher:
        sources = [
            spec("quadratic", base + "/quadratic", "html", MOFCOM_SELECT),
            spec("nested", base + "/nested"),
            spec("stuck", base + "/stuck", "html", MOFCOM_SELECT),
            spec("listing", base + "/listing", "html", MOFCOM_SELECT),
            spec("feed", base + "/feed"),
        ]
        summary = await Checker(db, fetcher, parse=pool).check_all(sources)
    by_id = {report.id: (report.outcome, report.new_items, report.error) for report in summary.sources}
    assert by_id == {
        "quadratic": ("changed", 1, None),
        "nested": ("failed", 0, "XML nested too deep"),
        "stuck": ("failed", 0, "parse took too long"),
        "listing": ("changed", 1, None),
        "feed": ("changed", 1, None),
    }


async def test_a_killed_worker_is_replaced_and_the_next_check_succeeds(db: Database) -> None:
    pool = ParserPool(workers=1)
    try:
        pool.warm()
        [victim] = pool.pids()
        os.kill(victim, signal.SIGKILL)
        routes = {"/listing": Response(200, page("Gallium", "Germanium"), HTML)}
        async with serve(routes) as base, Fetcher(LIMITS) as fetcher:
            report = await Checker(db, fetcher, parse=pool).check(
                spec("listing", base + "/listing", "html", MOFCOM_SELECT)
            )
        assert (report.outcome, report.new_items) == ("changed", 2)
        assert pool.pids() and victim not in pool.pids()
    finally:
        pool.close()


async def test_a_worker_that_dies_mid_parse_is_replaced_and_the_parse_tried_once_more(
    db: Database, tmp_path: Path
) -> None:
    pool = ParserPool(workers=1, annotate=die_once)
    source = spec("listing", "https://www.mofcom.example/list#" + str(tmp_path / "died"), "html", MOFCOM_SELECT)
    try:
        readings = await pool(source, page("Gallium"), "https://www.mofcom.example/list")
    finally:
        pool.close()
    assert [reading.item.title for reading in readings] == ["Gallium"]
    assert (tmp_path / "died").exists()


async def test_closing_the_pool_ends_a_worker_stuck_in_a_parse(tmp_path: Path) -> None:
    pool = ParserPool(workers=1, annotate=stall_on_slow_titles, deadline=600)
    pool.warm()
    [worker] = pool.pids()
    stalled = tmp_path / "stalled"
    source = spec("stuck", f"https://www.mofcom.example/list#{stalled}", "html", MOFCOM_SELECT)
    parse = asyncio.create_task(pool(source, page(SLOW_TITLE), source.url))
    for _ in range(600):  # at most a minute: the worker is stuck once the file is there
        if stalled.exists():
            break
        await asyncio.sleep(0.1)
    pool.close()
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(ParseError, match="shutting down"):
        await parse


@pytest.mark.parametrize(
    "start_a_worker",
    [
        "from jobs.workers import ParserPool\npool = ParserPool(workers=1)\npool.warm()\nworker = pool.pids()[0]\n",
        "from jobs.lane import ReadingLane\nlane = ReadingLane()\nlane.start()\nworker = lane.pid()\n",
    ],
    ids=["parser pool", "reading lane"],
)
def test_workers_exit_when_their_parent_dies(start_a_worker: str) -> None:
    script = f"import os\n{start_a_worker}print(worker, flush=True)\nos._exit(0)\n"
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    worker = int(parent.stdout.split()[0])
    assert _gone_within(worker, seconds=10)


def _gone_within(pid: int, seconds: float) -> bool:
    """Whether a process ends (or is only a zombie) within this many seconds; a bounded wait, not a timing test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


# The worker's own loop, run in a process of its own (it takes Ctrl-C from its parent): its parent's end of the
# pipe is closed, as when the parent has died, before the worker says it is ready.
SERVE_AFTER_THE_PARENT_IS_GONE = """
import multiprocessing, os
from jobs.workers import serve
parents_end, workers_end = multiprocessing.Pipe()
parents_end.close()
serve(workers_end, None, parent=os.getppid())
print("ended", flush=True)
"""


def test_a_worker_whose_parent_is_gone_ends_without_a_traceback() -> None:
    """A worker that finds the pipe closed when it writes (its ready message, or an answer to a parent that died
    meanwhile) ends quietly, as it does when the pipe closes while it reads."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AFTER_THE_PARENT_IS_GONE], capture_output=True, text=True, timeout=60
    )
    assert (done.stdout, done.stderr) == ("ended\n", "")


async def lane_read_once(pool: ParserPool) -> None:
    """One feed read through the pool's reading lane: the lane then has a task taking its worker's answers."""
    source = spec("feed", "https://www.example.org/feed", "rss")
    assert len(await pool(source, feed("Gallium exports resume"), source.url)) == 1


async def test_a_body_the_lane_hands_back_as_the_pool_closes_starts_no_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lane gives the bodies it had not answered back to their callers when it stops; a page among them must
    not start a pool worker that the close then kills."""
    pool = ParserPool(workers=1, lane=ReadingLane(measure_in_worker))
    source = spec("page", "https://www.mofcom.example/list", "html", MOFCOM_SELECT)
    reading = asyncio.create_task(pool(source, page("Export controls on gallium"), source.url))
    for _ in range(20):  # the body goes to the lane's worker, which is still starting
        await asyncio.sleep(0)
    await pool.aclose()
    with pytest.raises(ParseError, match="shutting down"):
        await reading
    assert "died while reading" not in caplog.text


async def test_a_pool_whose_close_is_cancelled_still_stops_its_workers() -> None:
    pool = ParserPool(workers=1, lane=ReadingLane(measure_in_worker))
    await lane_read_once(pool)
    pool.warm()
    [worker] = pool.pids()
    closing = asyncio.create_task(pool.aclose())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert pool.pids() == []
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
