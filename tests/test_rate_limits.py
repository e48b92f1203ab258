"""Telegram's limits, kept by the delivery job: pure limiter arithmetic, then the worker at given moments."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlite_utils import Database

from jobs.alerts import admin_alert
from jobs.deliver import DeliveryWorker, Outcome, OutgoingMessage, Sent
from jobs.limits import RateLimiter, RetryPolicy, SendLimits, Window, global_window
from storage.outbox import delivery_counts, stamp
from storage.subscribers import save_subscriber

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


class RecordingSender:
    """Accepts everything and remembers who got what."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> Outcome:
        self.messages.append(message)
        return Sent(len(self.messages))


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def queue(db: Database, chats: list[int], key: str = "a") -> None:
    """One alert to every chat in `chats` (admin alerts are the simplest fan-out)."""
    admin_alert(db, key, f"alert {key}", chats, T0)


# ---- the limiter, pure --------------------------------------------------------------------------------------


def test_a_window_admits_its_capacity_then_opens_one_slot_per_expiry() -> None:
    window = Window(3, 1.0)
    for moment in (0.0, 0.1, 0.2):
        assert window.ready_at(moment) == moment
        window.record(moment)
    assert window.ready_at(0.3) == 1.0
    assert window.used(0.3) == 3 and window.used(1.05) == 2
    window.record(1.0)
    assert window.ready_at(1.0) == 1.1
    assert not window.idle(1.5) and window.idle(2.0)


def test_the_global_rate_becomes_a_window_of_whole_messages() -> None:
    assert (global_window(25).capacity, global_window(25).span) == (25, 1.0)
    assert (global_window(0.5).capacity, global_window(0.5).span) == (1, 2.0)
    assert (global_window(2.5).capacity, global_window(2.5).span) == (2, 0.8)


def test_all_chats_together_get_at_most_the_send_rate_per_second_spread_out() -> None:
    limiter = RateLimiter(SendLimits(per_second=25))
    assert limiter.room(0.0) == 1
    limiter.record(1, "private", 0.0)
    assert limiter.room(0.02) == 0 and limiter.next_slot(0.02) == pytest.approx(0.036)
    for chat in range(2, 26):
        moment = (chat - 1) * 0.0375
        assert limiter.room(moment) == 1
        limiter.record(chat, "private", moment)
    assert limiter.room(0.95) == 0  # 25 within the last second, however spread
    assert limiter.next_slot(0.95) == 1.0 and limiter.room(1.0) == 1


def test_a_private_chat_gets_one_message_a_second_and_a_group_twenty_a_minute() -> None:
    limiter = RateLimiter(SendLimits(per_second=None))
    limiter.record(1, "private", 0.0)
    assert limiter.ready_at(1, "private", 0.5) == 1.0
    assert limiter.ready_at(2, "private", 0.5) == 0.5
    for second in range(20):
        assert limiter.ready_at(-5, "supergroup", float(second)) == second
        limiter.record(-5, "supergroup", float(second))
    assert limiter.ready_at(-5, "supergroup", 20.0) == 60.0
    assert limiter.room(0.0) > 10_000  # no global limit


def test_retry_after_blocks_only_that_chat() -> None:
    limiter = RateLimiter(SendLimits())
    limiter.block(1, 30.0)
    assert limiter.ready_at(1, "private", 0.0) == 30.0
    assert limiter.ready_at(2, "private", 0.0) == 0.0
    assert limiter.room(0.0) == 1


def test_idle_chats_are_forgotten_so_memory_stays_flat() -> None:
    limiter = RateLimiter(SendLimits(per_second=None))
    for chat in range(1000):
        limiter.record(chat, "private", 0.0)
    limiter.record(-1, "group", 0.0)
    limiter.block(5, 10.0)
    limiter.sweep(2.0)
    assert limiter.tracked_chats() == 2  # the group (60 s window) and the blocked chat
    limiter.sweep(61.0)
    assert limiter.tracked_chats() == 0


def test_backoff_doubles_to_a_cap_and_gives_up_after_the_last_attempt() -> None:
    policy = RetryPolicy(first=5, factor=2, cap=30, attempts=4)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    assert not policy.exhausted(3) and policy.exhausted(4)


# ---- the worker keeps them ----------------------------------------------------------------------------------


async def test_the_worker_sends_at_most_the_global_rate_in_any_second_and_keeps_up_with_it(db: Database) -> None:
    queue(db, list(range(1, 101)))
    sender = RecordingSender()
    worker = DeliveryWorker(db, sender, limits=SendLimits(per_second=25))
    moments = [step / 128 for step in range(384)]  # passes every 1/128 s (exact in binary) for 3 s
    sent = [(moment, await worker.run_once(at(moment))) for moment in moments]
    times = [moment for moment, count in sent for _ in range(count)]
    assert max(count for _, count in sent) == 1
    assert max(sum(1 for t in times if start <= t < start + 1) for start in moments) == 25
    assert len(times) == 75  # 25 a second, sustained
    assert delivery_counts(db) == {"sent": 75, "pending": 25}


async def test_the_worker_keeps_one_message_a_second_per_private_chat(db: Database) -> None:
    for key in "abc":
        queue(db, [1, 2], key)
    sender = RecordingSender()
    worker = DeliveryWorker(db, sender, limits=SendLimits(per_second=None))
    assert await worker.run_once(at(0)) == 2
    assert await worker.run_once(at(0.9)) == 0
    assert await worker.run_once(at(1.0)) == 2
    assert await worker.run_once(at(2.0)) == 2
    assert [m.chat_id for m in sender.messages] == [1, 2, 1, 2, 1, 2]
    assert [m.text.rsplit(" ", 1)[-1] for m in sender.messages if m.chat_id == 1] == ["a", "b", "c"]


async def test_the_worker_keeps_twenty_a_minute_and_one_a_second_per_group(db: Database) -> None:
    save_subscriber(db, -7, "supergroup", "traders", "UTC", stamp(T0))
    for number in range(25):
        queue(db, [-7], f"k{number}")
    sender = RecordingSender()
    worker = DeliveryWorker(db, sender, limits=SendLimits(per_second=None))
    moments = [step / 20 for step in range(1200)]  # a pass every 50 ms for the first minute
    sent = [(moment, await worker.run_once(at(moment))) for moment in moments]
    times = [moment for moment, count in sent for _ in range(count)]
    assert len(times) == 20
    assert max(sum(1 for t in times if start <= t < start + 1) for start in moments) == 1
    assert await worker.run_once(at(60)) == 1


def test_a_group_gets_one_message_a_second_as_well_as_twenty_a_minute() -> None:
    limiter = RateLimiter(SendLimits(per_second=None))
    limiter.record(-5, "group", 0.0)
    assert limiter.ready_at(-5, "group", 0.05) == 1.0
    for second in range(1, 20):
        limiter.record(-5, "group", float(second))
    assert limiter.ready_at(-5, "group", 19.5) == 60.0  # the minute's window is the later one now
