"""Delivery benchmark: one alert to 10,000 subscribers through the real worker and Telegram sender.

A fake Bot API runs in its own process (tests/fake_bot_api.py) and records when each message arrives; each
scenario runs in a fresh process of its own, so that its peak memory is its own:

- rate-limited: CHOKEPOINT_SEND_RATE=25, about 20 s of sustained sending: the rate, and the most messages any
  one chat got in a second (the arrivals, as the fake Bot API saw them);
- unlimited (a self-hosted Bot API server): all 10,000 messages, messages per second, and the peak memory of
  the delivering process against a run with 1,000 subscribers (flat in the number of subscribers);
- latency: from the commit of a change to the first message arriving, the worker woken by the commit; and
  from a loopback source publishing to the alert arriving, through the whole bot (scheduled checks included).

    python -m bench deliver                       # through `make bench`
    python -m bench.deliver --scenario unlimited --chats 1000 --base-url URL   # one scenario (internal)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import psutil
from sqlite_utils import Database
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.config import load_settings
from bot.domain.knowledge import load_exposure_table
from bot.domain.measure_file import load_measures
from bot.domain.vocab import load_vocabulary
from bot.lifecycle import running
from bot.telegram_sender import TelegramSender
from jobs.alerts import AlertContext, alerts_for_changes
from jobs.baseline import apply_baseline
from jobs.deliver import DeliveryWorker
from jobs.limits import SendLimits
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.measures import replace_status
from storage.outbox import delivery_counts, stamp
from storage.statuses import StatusChange, record_change
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer, Response
from tests.storage_reads import get_status

TOKEN = "123456:BENCH"
SUBSCRIBERS = 10_000
SMALL = 1_000
RATE = 25.0
RATE_SECONDS = 20.0
CONCURRENCY = 64
LATENCY_ROUNDS = 5
FIRST_CHAT = 1_000_000
SOURCE_EVERY = 10
SOURCE_OFFSETS = (0.5, 5.0)
HEADLINES = ("China halts rare-earth exports to Japan", "China bans graphite exports to Japan")


# ---- inside a scenario process ----------------------------------------------------------------------------


def subscribe(db: Database, count: int, first: int = FIRST_CHAT) -> None:
    """COUNT private chats subscribed to Japan's autos."""
    now = stamp(dt.datetime.now(dt.UTC))
    chats = range(first, first + count)
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO subscribers (chat_id, chat_type, timezone, created_at) VALUES (?, 'private', 'UTC', ?)",
            [(chat, now) for chat in chats],
        )
        db.conn.executemany(
            "INSERT INTO subscriptions (chat_id, country, sector, created_at) VALUES (?, 'JP', 'autos', ?)",
            [(chat, now) for chat in chats],
        )


def raise_alert(db: Database, context: AlertContext, level: int, item: int) -> float:
    """Commit a change to Japan's rare earths with its alert, as a check does; return the commit time."""
    now = dt.datetime.now(dt.UTC)
    current = get_status(db, "CN", "JP", "rare_earths")
    change = StatusChange(
        "CN", "JP", "rare_earths", int(current["level"]) if current else 0, level, "tighten", now.isoformat(),
        f"Bench item {item}: rare-earth export licences to Japan halted", "bench", "live",
        f"https://example.org/{item}", None,
    )  # fmt: skip
    with db.atomic():
        replace_status(db, {"issuer": "CN", "target": "JP", "material": "rare_earths", "end_use": "any",
                            "level": level, "since": now.isoformat(), "title": change.title, "source": "bench",
                            "updated_at": now.isoformat()})  # fmt: skip
        alerts_for_changes(db, [(record_change(db, change), change)], context, now)
    return time.time()


class PeakRss:
    """Samples this process's resident memory in a thread; `peak` is the highest seen."""

    def __init__(self, every: float = 0.01) -> None:
        self.process = psutil.Process()
        self.every = every
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.process.memory_info().rss)

    @contextlib.contextmanager
    def watching(self) -> Iterator[PeakRss]:
        """Sample while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


async def until(db: Database, deadline: float) -> None:
    """Poll until nothing is left to send or the deadline passes."""
    while time.time() < deadline:
        counts = delivery_counts(db)
        if counts.get("pending", 0) == 0 and counts.get("sending", 0) == 0:
            return
        await asyncio.sleep(0.2)


async def fan_out(
    db: Database, context: AlertContext, base_url: str, rate: float | None, seconds: float
) -> dict[str, Any]:
    """One alert to every subscriber, sent until done or `seconds` pass; figures of this process."""
    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=CONCURRENCY))
    async with bot:
        worker = DeliveryWorker(db, TelegramSender(bot), limits=SendLimits(per_second=rate), concurrency=CONCURRENCY)
        worker.start()
        before = psutil.Process().memory_info().rss
        with PeakRss().watching() as rss:
            committed = raise_alert(db, context, 4, 1)
            worker.wake()
            await until(db, committed + seconds)
            finished = time.time()
        await worker.stop()
    return {"committed": committed, "finished": finished, "rss_before": before, "rss_peak": rss.peak,
            "counts": delivery_counts(db)}  # fmt: skip


async def latency(db: Database, context: AlertContext, base_url: str) -> dict[str, Any]:
    """Alerts committed one by one to an idle worker (its timer 5 s away): the commit times."""
    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=8))
    commits = []
    async with bot:
        worker = DeliveryWorker(db, TelegramSender(bot), limits=SendLimits(per_second=RATE), idle_poll=5.0)
        worker.start()
        for level in range(1, LATENCY_ROUNDS + 1):
            await asyncio.sleep(1.5)  # idle: the worker sleeps until woken
            commits.append(raise_alert(db, context, level, level))
            worker.wake()
        await until(db, time.time() + 10)
        await worker.stop()
    return {"commits": commits}


def scenario(name: str, chats: int, base_url: str) -> dict[str, Any]:
    """Run one scenario on a fresh database in a temporary folder."""
    vocabulary = load_vocabulary()
    context = AlertContext(vocabulary, load_exposure_table(vocabulary))
    with tempfile.TemporaryDirectory() as folder:
        now = dt.datetime.now(dt.UTC)
        db = open_database(Path(folder) / "bench.db", now)
        apply_baseline(db, load_measures(vocabulary), now, vocabulary)
        db.execute("UPDATE statuses SET level = 0 WHERE target = 'JP' AND material = 'rare_earths'")
        subscribe(db, chats)
        if name == "latency":
            return asyncio.run(latency(db, context, base_url))
        rate, seconds = (RATE, RATE_SECONDS) if name == "rate" else (None, 120.0)
        return asyncio.run(fan_out(db, context, base_url, rate, seconds))


# ---- the driver ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fake_bot_api() -> Iterator[str]:
    """A fake Bot API in its own process; yields its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_bot_api"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


def arrivals(base_url: str) -> list[tuple[float, int]]:
    """Every sendMessage the fake Bot API answered: (arrival time, chat id)."""
    with urllib.request.urlopen(base_url.rsplit("/", 1)[0] + "/_fake/received", timeout=30) as response:
        return [(float(t), int(chat)) for t, chat in json.load(response)]


def run_scenario(name: str, chats: int) -> tuple[dict[str, Any], list[tuple[float, int]]]:
    """A scenario in a fresh process against a fresh fake Bot API: its figures and the arrivals."""
    with fake_bot_api() as base_url:
        output = subprocess.run(
            [sys.executable, "-m", "bench.deliver", "--scenario", name, "--chats", str(chats), "--base-url", base_url],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(output.stdout.strip().splitlines()[-1]), arrivals(base_url)


def most_in_a_second(times: Sequence[float]) -> int:
    """The most arrivals in any sliding one-second window."""
    ordered, most, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def per_chat_peak(received: Sequence[tuple[float, int]]) -> int:
    """The most messages any one chat got within one second."""
    by_chat: dict[int, list[float]] = {}
    for moment, chat in received:
        by_chat.setdefault(chat, []).append(moment)
    return max((most_in_a_second(times) for times in by_chat.values()), default=0)


def sustained_rate(received: Sequence[tuple[float, int]]) -> float:
    """Messages per second over the whole seconds after the first one (the start-up burst left out)."""
    times = sorted(moment for moment, _ in received)
    seconds = Counter(int(moment - times[0]) for moment in times)
    full = [seconds[s] for s in range(1, max(seconds))]  # skip the first and the unfinished last second
    return statistics.mean(full) if full else 0.0


def mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def report_rate() -> None:
    _, received = run_scenario("rate", SUBSCRIBERS)
    times = [moment for moment, _ in received]
    print(
        f"rate-limited (CHOKEPOINT_SEND_RATE={RATE:g}), {SUBSCRIBERS:,} subscribers, {max(times) - min(times):.1f} s "
        f"of sending: sustained {sustained_rate(received):.2f} msg/s ({sustained_rate(received) / RATE:.0%} of the "
        f"limit); most in any 1 s: {most_in_a_second(times)}; most to one chat in 1 s: {per_chat_peak(received)}; "
        f"{len(received):,} sent"
    )


def report_unlimited() -> None:
    results = {}
    for chats in (SMALL, SUBSCRIBERS):
        figures, received = run_scenario("unlimited", chats)
        times = [moment for moment, _ in received]
        assert len({chat for _, chat in received}) == chats, "not every subscriber got the alert"
        results[chats] = figures
        print(
            f"global limit lifted, {chats:,} subscribers: {chats / (max(times) - figures['committed']):.0f} msg/s "
            f"from commit to last arrival ({max(times) - figures['committed']:.2f} s); most to one chat in 1 s: "
            f"{per_chat_peak(received)}; delivering process RSS {mib(figures['rss_before'])} before, peak "
            f"+{mib(figures['rss_peak'] - figures['rss_before'])}"
        )
    small, large = (results[n]["rss_peak"] - results[n]["rss_before"] for n in (SMALL, SUBSCRIBERS))
    print(f"peak memory growth, {SUBSCRIBERS:,} vs {SMALL:,} subscribers: +{mib(large)} vs +{mib(small)}")


def report_latency() -> None:
    figures, received = run_scenario("latency", LATENCY_ROUNDS)
    arrived = sorted(moment for moment, _ in received)
    delays = [min(t for t in arrived if t >= commit) - commit for commit in figures["commits"]]
    print(
        f"latency, commit of a change → first message at the Bot API ({LATENCY_ROUNDS} rounds, worker idle): "
        f"median {1000 * statistics.median(delays):.0f} ms, max {1000 * max(delays):.0f} ms"
    )


def rss(*items: tuple[str, str]) -> Response:
    """An RSS feed of (guid, title) items published now."""
    published = format_datetime(dt.datetime.now(dt.UTC))
    entries = "".join(
        f"<item><title>{title}</title><link>https://example.org/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{published}</pubDate></item>"
        for guid, title in items
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'
    return Response(200, body, {"Content-Type": "application/rss+xml"})


async def fetched(feed: LoopbackServer, count: int) -> None:
    """Wait (a minute at most) until the source has been fetched `count` times, i.e. a check ran."""
    async with asyncio.timeout(60):
        while True:
            if len(feed.requests_to("/feed")) >= count:
                return
            await asyncio.sleep(0.02)


async def source_rounds(folder: Path) -> list[float]:
    """The whole bot on a loopback source checked every SOURCE_EVERY s: publish, wait for the alert, twice."""
    path = folder / "source.db"
    db = open_database(path, dt.datetime.now(dt.UTC))
    subscribe(db, 1)
    db.close()
    delays = []
    async with LoopbackServer({"/feed": rss(("old", "Trade fair opens"))}) as feed, FakeBotAPI() as api:
        source = SourceSpec(
            "bench-source", "bench source", "rss", feed.url("/feed"), SOURCE_EVERY, issuer="CN", allow_private=True
        )
        settings = load_settings(None, telegram_base_url=api.base_url, chokepoint_db=path)
        async with running(build_application(settings, [source], token=TOKEN)):
            for round_number, offset in enumerate(SOURCE_OFFSETS, 1):
                await fetched(feed, round_number)
                await asyncio.sleep(offset)  # publish this long after a check
                published = time.time()
                feed.routes["/feed"] = rss(*((f"new{n}", HEADLINES[n]) for n in range(round_number)))
                await api.wait_for_messages(FIRST_CHAT, count=round_number, timeout=SOURCE_EVERY * 3)
                delays.append(max(t for t, _ in api.received) - published)
    return delays


def report_source_latency() -> None:
    with tempfile.TemporaryDirectory() as folder:
        delays = asyncio.run(source_rounds(Path(folder)))
    shown = ", ".join(f"{delay:.1f} s" for delay in delays)
    print(
        f"latency, source publishes → alert at the Bot API (the whole bot, source checked every {SOURCE_EVERY} s, "
        f"published {', '.join(f'{o:g}' for o in SOURCE_OFFSETS)} s after a check): {shown}; "
        f"bound: interval + 5 s = {SOURCE_EVERY + 5} s"
    )


def main() -> None:
    """Print the delivery figures of the issue."""
    report_latency()
    report_source_latency()
    report_unlimited()
    report_rate()


def _scenario_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=("rate", "unlimited", "latency"), required=True)
    parser.add_argument("--chats", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(scenario(args.scenario, args.chats, args.base_url)))


if __name__ == "__main__":
    _scenario_main(sys.argv[1:])
