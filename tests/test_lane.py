"""The reading lane: the same readings as reading here; a body it does not answer is read here, never lost; a stuck
worker meets the deadline; a dead or closed worker is replaced or ended; a worker that cannot start turns the lane
off (tests/test_workers.py: the worker exits with its parent)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bot.launch import MEASURING
from jobs.check import Checker, NewItem, keep_items
from jobs.fetch import Fetcher
from jobs.lane import ReadingLane, _annotation
from jobs.parse import ParsedItem, ParseError, SlowPath
from jobs.reading import measure_in_worker, read_source
from jobs.sources import SourceSpec
from jobs.workers import ParserPool
from storage.database import Database
from storage.db import MEMORY, open_database
from tests.loopback import Response, serve
from tests.test_check import NOW, RSS, feed, spec
from tests.test_workers import LIMITS, SLOW_TITLE, _gone_within, stall_on_slow_titles

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
BASE = "https://feeds.example/"
SLOWISH = "a headline the reader takes a while over"
SLOWISH_SECONDS = 1.0


@pytest.fixture
async def lane() -> AsyncIterator[ReadingLane]:
    reading = ReadingLane(measure_in_worker)
    yield reading
    reading.close()


def test_the_annotation_a_check_starts_its_lane_with_is_the_measuring_one() -> None:
    """bot/launch.py names it rather than import it; a wrong name would only show as every feed read here."""
    assert _annotation(MEASURING) is measure_in_worker


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


async def test_a_body_past_the_in_flight_budget_is_left_to_the_caller(tmp_path: Path) -> None:
    body = feed("x" * 600)  # over half the budget below
    lane = ReadingLane(stall_on_slow_titles, in_flight_chars=2 * len(body) - 1)
    stalled = tmp_path / "stalled"
    try:
        assert await lane.read(spec("big", BASE), body + " " * len(body), BASE) is None  # over it alone
        assert await lane.read(spec("one", BASE), body, BASE) is not None
        assert await lane.read(spec("two", BASE), body, BASE) is not None  # the first one's characters came back
        stuck = asyncio.create_task(lane.read(spec("stuck", f"{BASE}#{stalled}"), feed(SLOW_TITLE, "x" * 600), BASE))
        await wait_for(stalled)
        assert await lane.read(spec("beside", BASE), body, BASE) is None  # over it together with the stuck one
    finally:
        lane.close()
    assert await stuck is None


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


def slowish(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation that takes SLOWISH_SECONDS on one title, and always finishes."""
    if item.title == SLOWISH:
        time.sleep(SLOWISH_SECONDS)


async def test_the_deadline_counts_the_time_on_one_body_not_the_time_queued_behind_others() -> None:
    lane = ReadingLane(slowish, deadline=3 * SLOWISH_SECONDS)
    try:
        assert await lane.read(spec("warm", BASE), feed("Gallium"), BASE) is not None  # the worker is up
        bodies = [lane.read(spec(f"s{n}", BASE), feed(SLOWISH), BASE) for n in range(4)]
        outcomes = await asyncio.gather(*bodies, return_exceptions=True)
        # the fourth waited three bodies' time (the whole deadline) in the queue before the worker began it
        assert [type(outcome) for outcome in outcomes] == [list, list, list, list], outcomes
    finally:
        lane.close()


def marking(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation that notes each source it annotates, the warm-up's too, in the file LANE_MARKS names."""
    with open(os.environ["LANE_MARKS"], "a", encoding="utf-8") as marks:
        marks.write(f"{source.id}\n")


async def test_the_worker_compiles_the_rules_when_its_first_body_comes_not_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check of 304s never needs the rules: a worker started early waits for a body before it compiles them."""
    marks = tmp_path / "marks"
    monkeypatch.setenv("LANE_MARKS", str(marks))
    lane = ReadingLane(marking)
    try:
        lane.start()
        await asyncio.sleep(2)  # several times the worker's imports: one that warmed up at once has done it by now
        assert lane.pid() is not None and not marks.exists()
        assert await lane.read(spec("first", BASE), feed("Gallium"), BASE) is not None
        assert marks.read_text().split() == ["warm-up", "first"]
    finally:
        lane.close()


async def test_a_first_body_too_large_for_the_lane_leaves_the_lane_on() -> None:
    """A body the lane cannot take is read here without the lane timing a start-up that no body would end."""
    lane = ReadingLane(measure_in_worker, in_flight_chars=len(feed("Gallium")), start_timeout=0.5)
    try:
        assert await lane.read(spec("large", BASE), feed("Gallium", "Germanium"), BASE) is None  # read it here
        await asyncio.sleep(1.0)  # past the start-up's time limit
        readings = await lane.read(spec("next", BASE), feed("Gallium"), BASE)
        assert readings is not None and [reading.item.title for reading in readings] == ["Gallium"]
    finally:
        lane.close()


def slow_to_start(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation whose first use, the worker's warm-up before it says it is ready, takes SLOWISH_SECONDS."""
    if source.id == "warm-up":
        time.sleep(SLOWISH_SECONDS)


async def test_the_deadline_does_not_count_the_workers_start_up() -> None:
    lane = ReadingLane(slow_to_start, deadline=SLOWISH_SECONDS / 2)  # less than the start-up, far more than a feed
    try:
        assert await lane.read(spec("first", BASE), feed("Gallium"), BASE) is not None
    finally:
        lane.close()


async def test_a_worker_that_does_not_start_in_time_turns_the_lane_off(caplog: pytest.LogCaptureFixture) -> None:
    lane = ReadingLane(measure_in_worker, start_timeout=0.01)
    try:
        with caplog.at_level(logging.ERROR, logger="jobs.lane"):
            assert await lane.read(spec("first", BASE), feed("Gallium"), BASE) is None
        assert "did not start in time" in caplog.text
        assert lane.pid() is None
    finally:
        lane.close()


async def test_a_read_cancelled_while_the_lane_attaches_leaves_the_lane_usable() -> None:
    lane = ReadingLane(measure_in_worker)
    try:
        first = asyncio.create_task(lane.read(spec("cancelled", BASE), feed("Gallium"), BASE))
        await asyncio.sleep(0)  # the task is inside open_connection now
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        readings = await lane.read(spec("next", BASE), feed("Germanium"), BASE)  # once: a closed socket's error
        assert readings is not None and [reading.item.title for reading in readings] == ["Germanium"]
    finally:
        lane.close()


def test_one_lane_serves_one_event_loop_after_another() -> None:
    lane = ReadingLane(measure_in_worker)
    try:
        for title in ("Gallium", "Germanium"):
            readings = asyncio.run(lane.read(spec(title, BASE), feed(title), BASE))
            assert readings is not None and [reading.item.title for reading in readings] == [title]
    finally:
        lane.close()  # and no transport is left unclosed: the run fails on a ResourceWarning


async def test_closing_the_lane_ends_a_worker_stuck_in_a_body(tmp_path: Path) -> None:
    lane, stuck, stalled = stalling_lane(tmp_path)
    first = asyncio.create_task(lane.read(stuck, feed(SLOW_TITLE), BASE))
    await wait_for(stalled)
    worker = lane.pid()
    lane.close()
    assert await first is None  # read here by the caller
    assert worker is not None and _gone_within(worker, seconds=10)
    assert await lane.read(spec("after", BASE), feed("Gallium"), BASE) is None


STUCK_THEN_PARENT_DIES = """
import asyncio, os, sys
from jobs.lane import ReadingLane, _annotation
from tests.test_check import feed, spec
from tests.test_workers import SLOW_TITLE, stall_on_slow_titles

async def main():
    marker, pid_file = sys.argv[1], sys.argv[2]
    lane = ReadingLane(stall_on_slow_titles)
    asyncio.create_task(lane.read(spec("stuck", "https://feeds.example/#" + marker), feed(SLOW_TITLE), "https://x/"))
    while not os.path.exists(marker):
        await asyncio.sleep(0.05)
    with open(pid_file, "w") as out:
        out.write(str(lane.pid()))
    os._exit(0)

asyncio.run(main())
"""


def test_a_worker_stuck_in_a_body_exits_when_its_parent_dies(tmp_path: Path) -> None:
    """The socket closing does not reach a worker deep in a body: only its watch on the parent does."""
    marker, pid_file = tmp_path / "stalled", tmp_path / "pid"
    subprocess.run(
        [sys.executable, "-c", STUCK_THEN_PARENT_DIES, str(marker), str(pid_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60,
    )  # fmt: skip
    worker = int(pid_file.read_text())
    try:
        assert _gone_within(worker, seconds=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


ANSWER_UNREAD_THEN_PARENT_DIES = """
import asyncio, os, time
from jobs.lane import ReadingLane
from jobs.reading import measure_in_worker
from tests.test_check import feed, spec

async def main():
    lane = ReadingLane(measure_in_worker)
    await lane.read(spec("first", "https://feeds.example/"), feed("Gallium"), "https://x/")  # the worker is up
    asyncio.create_task(lane.read(spec("second", "https://feeds.example/"), feed("Germanium"), "https://x/"))
    await asyncio.sleep(0)  # the task sends the body
    time.sleep(1)  # its answer arrives, and the loop never reads it
    print(lane.pid(), flush=True)
    os._exit(0)

asyncio.run(main())
"""


def test_a_worker_whose_parent_died_with_answers_unread_exits_without_a_traceback() -> None:
    """The socket of a process that ended with data unread resets: for the worker that is the end, not an error
    to print on the terminal the two processes share."""
    ended = subprocess.run(
        [sys.executable, "-c", ANSWER_UNREAD_THEN_PARENT_DIES], capture_output=True, text=True, timeout=60,
    )  # fmt: skip  # the output is read to its end: the worker's too, as the worker holds the same pipes
    worker = int(ended.stdout)
    assert _gone_within(worker, seconds=10)
    assert ended.stderr == ""


def test_a_worker_whose_parent_ended_in_the_middle_of_a_body_exits_without_a_traceback() -> None:
    """A checking process killed (SIGTERM) while it wrote a body leaves half a frame: the end, not an error."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        worker = subprocess.Popen(
            [sys.executable, "-m", "jobs.lane", str(theirs.fileno()), str(os.getpid()), "-"],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        ours.sendall(struct.pack("!I", 1_000) + b"\x80\x05 half a frame")
    _, errors = worker.communicate(timeout=60)
    assert (worker.returncode, errors) == (0, "")


CTRL_C_AT_START = """
import asyncio, signal, sys
from jobs.lane import ReadingLane, _annotation
from jobs.reading import measure_in_worker
from tests.test_check import feed, spec

# This process stands for the bot, which handles its own Ctrl-C (a handler, not SIG_IGN, which a child inherits).
signal.signal(signal.SIGINT, lambda number, frame: None)
lane = ReadingLane(measure_in_worker)
lane.start()
print("started", flush=True)
sys.stdin.readline()  # the Ctrl-C has been sent
readings = asyncio.run(lane.read(spec("after", "https://feeds.example/"), feed("Gallium"), "https://x/"))
print("read" if readings else "not read", flush=True)
lane.close()
"""


def test_a_ctrl_c_at_the_terminal_while_the_worker_starts_does_not_reach_it() -> None:
    """The terminal sends Ctrl-C to its whole foreground process group: the worker is in a group of its own."""
    with subprocess.Popen(
        [sys.executable, "-c", CTRL_C_AT_START], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    ) as bot:  # fmt: skip
        assert bot.stdout is not None and bot.stdin is not None
        assert bot.stdout.readline().strip() == "started"
        os.killpg(bot.pid, signal.SIGINT)
        bot.stdin.write("\n")
        bot.stdin.flush()
        assert bot.stdout.readline().strip() == "read"
        assert bot.wait(timeout=60) == 0


def not_importable_in_the_worker(source: SourceSpec, item: ParsedItem) -> None:
    """An annotation the worker cannot import (its module is renamed below): the worker ends at start."""


not_importable_in_the_worker.__module__ = "tests.no_such_module"


async def test_a_worker_that_cannot_start_turns_the_lane_off(caplog: pytest.LogCaptureFixture) -> None:
    lane = ReadingLane(not_importable_in_the_worker)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.ERROR, logger="jobs.lane"):
            assert await lane.read(spec("one", BASE), feed("Gallium"), BASE) is None
        assert "ended as it started" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="jobs.lane"):
            assert await lane.read(spec("two", BASE), feed("Gallium"), BASE) is None
        assert caplog.text == ""  # no new worker tried each time
        assert lane.pid() is None
    finally:
        lane.close()


async def test_a_worker_started_early_that_ended_at_once_is_not_started_again(
    capfd: pytest.CaptureFixture[str],
) -> None:
    lane = ReadingLane(not_importable_in_the_worker)  # type: ignore[arg-type]
    try:
        lane.start()  # as bot/launch.py does, before the first body
        worker = lane.pid()
        assert worker is not None and await asyncio.to_thread(_gone_within, worker, 30)
        assert await lane.read(spec("one", BASE), feed("Gallium"), BASE) is None
        assert lane.pid() is None
    finally:
        lane.close()
    assert capfd.readouterr().err.count("Traceback (most recent call last)") == 1  # one worker tried, not two


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
    stored, measured = [], []
    async with serve(routes) as base, Fetcher(LIMITS) as fetcher:
        sources = [spec(path.strip("/"), base + path) for path in routes]
        for lane in (None, ReadingLane(measure_in_worker)):
            db, arrived = open_database(MEMORY, NOW), []

            def recording(db: Database, items: Sequence[NewItem], now: dt.datetime, seen: list[bool] = arrived) -> int:
                seen.extend(item.measurement is not None for item in items)
                return keep_items(db, items, now)

            pool = ParserPool(workers=1, annotate=measure_in_worker, lane=lane)
            try:
                summary = await Checker(db, fetcher, sink=recording, parse=pool).check_all(sources)
            finally:
                pool.close()
            reports = sorted((r.id, r.outcome, r.new_items, r.error) for r in summary.sources)
            stored.append((reports, db.execute("SELECT guid, title FROM items ORDER BY guid").fetchall()))
            measured.append(arrived.count(True))
            assert lane is None or lane.pid() is None  # closed with the pool
    # The items arrive measured where a worker read them: the lane's (every feed) or the pool's (only "dates",
    # which lxml refuses); this process reads without measuring, and the sink measures.
    assert measured[1] == 40 + measured[0] and measured[0] > 0
    assert stored[0] == stored[1]
    assert [report[1:3] for report in stored[0][0]].count(("changed", 2)) == 20
    by_id = {report[0]: report[1:] for report in stored[0][0]}
    assert by_id["dates"][0] == "changed"  # read by feedparser in a pool worker
    assert by_id["html_as_rss"] == ("failed", 0, "HTML served as RSS")
