"""The reading lane: the same readings as reading here; a body it does not answer is read here, never lost; a stuck
worker meets the deadline; a dead or closed worker is replaced or ended; a worker that cannot start turns the lane
off (tests/test_workers.py: the worker exits with its parent)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobs.check import Checker
from jobs.fetch import Fetcher
from jobs.lane import ReadingLane
from jobs.parse import ParsedItem, ParseError, SlowPath
from jobs.reading import measure_in_worker, read_source
from jobs.sources import SourceSpec
from jobs.workers import ParserPool
from storage.db import MEMORY, open_database
from tests.loopback import Response, serve
from tests.test_check import NOW, RSS, feed, spec
from tests.test_workers import LIMITS, SLOW_TITLE, _gone_within, stall_on_slow_titles

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
BASE = "https://feeds.example/"


@pytest.fixture
async def lane() -> AsyncIterator[ReadingLane]:
    reading = ReadingLane(measure_in_worker)
    yield reading
    reading.close()


def stalling_lane(tmp_path: Path, deadline: float = 600) -> tuple[ReadingLane, SourceSpec, Path]:
    """A lane whose worker never finishes a body titled SLOW_TITLE, and a source that leaves a file when it
    gets there."""
    stalled = tmp_path / "stalled"
    return ReadingLane(stall_on_slow_titles, deadline=deadline), spec("stuck", f"{BASE}#{stalled}"), stalled


async def wait_for(path: Path) -> None:
    """Until PATH exists: at most a minute, a bound rather than a timing."""
    for _ in range(600):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


async def test_the_lane_reads_and_measures_every_fixture_feed_as_this_process_does(lane: ReadingLane) -> None:
    source = spec("fixture", BASE)
    outcomes = []
    for name in sorted(path.name for path in FEEDS.iterdir()):
        text = (FEEDS / name).read_text(encoding="utf-8", errors="replace")
        try:
            here: object = read_source(source, text, BASE, measure_in_worker, slow=False)
        except (ParseError, SlowPath) as error:
            here = (type(error), str(error))
        try:
            there: object = await lane.read(source, text, BASE)
        except (ParseError, SlowPath) as error:
            there = (type(error), str(error))
        assert there == here, name
        outcomes.append(type(here))
    assert outcomes.count(list) >= 6  # most are read, and measured, by the fast path
    assert outcomes.count(tuple) >= 3  # some are refused, or left to feedparser


async def test_many_bodies_at_once_each_get_their_own_answer(lane: ReadingLane) -> None:
    source = spec("many", BASE)
    bodies = [feed(f"Gallium exports item {n}", f"Bank of Japan note {n}") for n in range(200)]
    answers = await asyncio.gather(*(lane.read(source, body, BASE) for body in bodies))
    for n, readings in enumerate(answers):
        assert readings is not None
        assert [reading.item.title for reading in readings] == [f"Gallium exports item {n}", f"Bank of Japan note {n}"]


async def test_the_worker_raises_what_reading_here_raises(lane: ReadingLane) -> None:
    with pytest.raises(ParseError, match=r"^empty body$"):
        await lane.read(spec("empty", BASE), "  ", BASE)
    with pytest.raises(ParseError, match=r"^XML nested too deep$"):
        await lane.read(spec("deep", BASE), "<rss>" + "<a>" * 1_000 + "</a>" * 1_000 + "</rss>", BASE)
    with pytest.raises(SlowPath, match=r"^html$"):  # pages are read by a pool worker, under its deadline
        await lane.read(spec("page", BASE, "html", "a"), "<html><body><a href='/1'>x</a></body></html>", BASE)


async def test_a_body_past_the_in_flight_budget_is_left_to_the_caller() -> None:
    lane = ReadingLane(measure_in_worker, in_flight_chars=1_000)
    try:
        assert await lane.read(spec("big", BASE), feed("x" * 2_000), BASE) is None
        assert await lane.read(spec("small", BASE), feed("Gallium"), BASE) is not None
    finally:
        lane.close()


async def test_bodies_in_flight_when_the_worker_is_killed_are_left_to_the_caller_and_a_new_worker_starts(
    tmp_path: Path,
) -> None:
    lane, stuck, stalled = stalling_lane(tmp_path)
    try:
        first = asyncio.create_task(lane.read(stuck, feed(SLOW_TITLE), BASE))
        await wait_for(stalled)
        behind = asyncio.create_task(lane.read(spec("behind", BASE), feed("Gallium"), BASE))
        await asyncio.sleep(0)  # sent, queued behind the stuck body
        victim = lane.pid()
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        assert await first is None
        assert await behind is None
        again = await lane.read(spec("again", BASE), feed("Germanium"), BASE)
        assert again is not None and [reading.item.title for reading in again] == ["Germanium"]
        assert lane.pid() not in (None, victim)
    finally:
        lane.close()


async def test_a_body_past_the_deadline_fails_and_its_worker_is_replaced(tmp_path: Path) -> None:
    lane, stuck, stalled = stalling_lane(tmp_path, deadline=1)
    try:
        first = asyncio.create_task(lane.read(stuck, feed(SLOW_TITLE), BASE))
        await wait_for(stalled)
        stuck_worker = lane.pid()
        with pytest.raises(ParseError, match=r"^parse took too long$"):
            await first
        assert stuck_worker is not None and _gone_within(stuck_worker, seconds=10)
        again = await lane.read(spec("again", BASE), feed("Germanium"), BASE)
        assert again is not None and [reading.item.title for reading in again] == ["Germanium"]
    finally:
        lane.close()


async def test_closing_the_lane_ends_a_worker_stuck_in_a_body(tmp_path: Path) -> None:
    lane, stuck, stalled = stalling_lane(tmp_path)
    first = asyncio.create_task(lane.read(stuck, feed(SLOW_TITLE), BASE))
    await wait_for(stalled)
    worker = lane.pid()
    lane.close()
    assert await first is None  # read here by the caller, or failed by its deadline there
    assert worker is not None and _gone_within(worker, seconds=10)
    assert await lane.read(spec("after", BASE), feed("Gallium"), BASE) is None


def not_importable_in_the_worker(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation the worker cannot import (its module is renamed below): the worker ends at start."""


not_importable_in_the_worker.__module__ = "tests.no_such_module"


async def test_a_worker_that_cannot_start_turns_the_lane_off(caplog: pytest.LogCaptureFixture) -> None:
    lane = ReadingLane(not_importable_in_the_worker)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.ERROR, logger="jobs.lane"):
            assert await lane.read(spec("one", BASE), feed("Gallium"), BASE) is None
        assert "ended as it started" in caplog.text
        assert await lane.read(spec("two", BASE), feed("Gallium"), BASE) is None
        assert lane.pid() is None  # no new worker each time
    finally:
        lane.close()


async def test_the_worker_imports_this_bot_whatever_folder_the_check_runs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lane: ReadingLane
) -> None:
    (tmp_path / "jobs").mkdir()  # an operator's folder that happens to hold a package of the same name
    (tmp_path / "jobs" / "__init__.py").write_text("raise SystemExit('not the bot')\n")
    monkeypatch.chdir(tmp_path)
    readings = await lane.read(spec("feed", BASE), feed("Gallium"), BASE)
    assert readings is not None and [reading.item.title for reading in readings] == ["Gallium"]


def test_a_lane_that_cannot_start_its_worker_says_so_and_stays_off() -> None:
    script = (
        "import os, resource\n"
        "from jobs.lane import ReadingLane\n"
        "lane = ReadingLane()\n"
        "used = len(os.listdir('/proc/self/fd'))\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (used - 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "lane.start()\n"
        "print(lane.pid())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["None"]
    assert "could not start" in done.stderr


async def test_a_check_through_the_lane_stores_what_a_check_without_it_stores() -> None:
    titles = ("China bans gallium exports to the United States", "Bank of Japan holds rates steady")
    routes = {f"/{n}": Response(200, feed(*(f"{title} {n}" for title in titles)), RSS) for n in range(20)}
    for name in ("dates", "broken", "html_as_rss"):
        routes[f"/{name}"] = Response(200, (FEEDS / f"{name}.xml").read_text(encoding="utf-8"), RSS)
    stored = []
    async with serve(routes) as base, Fetcher(LIMITS) as fetcher:
        sources = [spec(path.strip("/"), base + path) for path in routes]
        for lane in (None, ReadingLane(measure_in_worker)):
            db = open_database(MEMORY, NOW)
            pool = ParserPool(workers=1, annotate=measure_in_worker, lane=lane)
            try:
                summary = await Checker(db, fetcher, parse=pool).check_all(sources)
            finally:
                pool.close()
            reports = sorted((r.id, r.outcome, r.new_items, r.error) for r in summary.sources)
            stored.append((reports, db.execute("SELECT guid, title FROM items ORDER BY guid").fetchall()))
            assert lane is None or lane.pid() is None  # closed with the pool
    assert stored[0] == stored[1]
    assert [report[1:3] for report in stored[0][0]].count(("changed", 2)) == 20
    by_id = {report[0]: report[1:] for report in stored[0][0]}
    assert by_id["dates"][0] == "changed"  # read by feedparser in a pool worker
    assert by_id["html_as_rss"] == ("failed", 0, "HTML served as RSS")
