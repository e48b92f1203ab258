"""A delivery process for the crash test and the benchmark: the real worker and Telegram sender on a file database.

    python -m tests.delivery_process DB_PATH BASE_URL RATE [--concurrency N]

RATE is messages per second for all chats together (0: no global limit). It delivers until the outbox has
nothing pending or being sent, then exits; the crash test kills it with SIGKILL before that.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging

from sqlite_utils import Database
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram_sender import TelegramSender
from jobs.deliver import DeliveryWorker
from jobs.limits import SendLimits
from storage.db import open_database
from storage.outbox import delivery_counts

TOKEN = "123456:CRASH"
POLL = 0.1


def outbox_empty(counts: dict[str, int]) -> bool:
    """Nothing left to send."""
    return counts.get("pending", 0) == 0 and counts.get("sending", 0) == 0


async def until_empty(db: Database) -> None:
    """Poll the outbox (it is another process's file, as far as this loop knows) until nothing is left."""
    while True:
        if outbox_empty(delivery_counts(db)):
            return
        await asyncio.sleep(POLL)


async def deliver(path: str, base_url: str, rate: float, concurrency: int) -> dict[str, int]:
    """Deliver the outbox of `path` through the Bot API at `base_url`; return the final counts."""
    db = open_database(path, dt.datetime.now(dt.UTC))
    bot = Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=concurrency))
    async with bot:
        worker = DeliveryWorker(
            db, TelegramSender(bot), limits=SendLimits(per_second=rate or None), concurrency=concurrency
        )
        worker.start()
        await until_empty(db)
        await worker.stop()
    counts = delivery_counts(db)
    db.close()
    return counts


def main() -> None:
    """Parse the arguments and deliver."""
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("base_url")
    parser.add_argument("rate", type=float)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(asyncio.run(deliver(args.db, args.base_url, args.rate, args.concurrency)), flush=True)


if __name__ == "__main__":
    main()
