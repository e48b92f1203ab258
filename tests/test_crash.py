"""The crash test: one alert's 500 deliveries (fanned out and committed beforehand), the delivery process killed
with SIGKILL midway through sending them, then restarted.

Every chat must receive the alert, none more than twice: a delivery is marked sent only after Telegram
answers, so only the sends in flight at the kill can repeat, once each. (The fan-out itself commits in one
transaction before delivery starts, so it is not what this test interrupts.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.domain.knowledge import ExposureTable
from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary
from jobs.baseline import apply_baseline
from storage.db import open_database
from storage.outbox import delivery_counts
from tests.alerting import raise_alert, subscribe_many
from tests.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
CHATS = range(1, 501)
KILL_AFTER = 150
RATE = "250"  # messages per second: the whole fan-out takes about two seconds


def prepare(path: Path, vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]) -> None:
    """A database with 500 subscribers to Japan's autos and one committed rare-earth alert."""
    now = dt.datetime.now(dt.UTC)
    db = open_database(path, now)
    apply_baseline(db, baseline, now, vocabulary)
    subscribe_many(db, CHATS, "JP", "autos")
    assert len(raise_alert(db, vocabulary, table, "JP", "rare_earths", 4, now)) == 1
    assert delivery_counts(db) == {"pending": len(CHATS)}
    db.close()


async def start(path: Path, api: FakeBotAPI, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.delivery_process", str(path), api.base_url, RATE,
            cwd=ROOT, stdout=output, stderr=output, env={**os.environ, "PTB_TIMEDELTA": "true"},
        )  # fmt: skip


async def test_delivery_killed_midway_completes_after_restart_with_at_most_one_duplicate_per_chat(
    tmp_path: Path, vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    path, log = tmp_path / "crash.db", tmp_path / "delivery.log"
    prepare(path, vocabulary, table, baseline)
    async with FakeBotAPI(delay=0.005, lifetime=60) as api:
        first = await start(path, api, log)
        await api.wait_for(lambda: len(api.received) >= KILL_AFTER, timeout=30)
        first.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
        at_kill = len(api.received)
        second = await start(path, api, log)
        assert await asyncio.wait_for(second.wait(), 30) == 0, log.read_text()
    received = Counter(chat for _, chat in api.received)
    assert KILL_AFTER <= at_kill < len(CHATS)
    assert set(received) == set(CHATS)
    assert max(received.values()) <= 2
    db = open_database(path, dt.datetime.now(dt.UTC))
    assert delivery_counts(db) == {"sent": len(CHATS)}
    db.close()
