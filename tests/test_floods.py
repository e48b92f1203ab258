"""Floods contained: each sender's command budget, chats answered side by side in their own order, and replies
sharing the alerts' send limiter without ever taking the alerts' share."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from pathlib import Path

import pytest
from sqlite_utils import Database
from telegram import Update

from bot.pacing import PACED, SharedPacing
from bot.updates import ChatOrderedUpdates
from jobs.alerts import admin_alert
from jobs.deliver import DeliveryWorker, Outcome, OutgoingMessage, Sent
from jobs.limits import CommandBudget, RateLimiter, SendLimits
from storage.db import open_database
from storage.outbox import delivery_counts, stamp
from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI

FLOODER = 501
OTHER = 502
SLOW_DOWN = "Slow down: too many commands at once."


def most_in_any_second(times: list[float]) -> int:
    """The most arrivals within any one second."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)


# ---- the bot under a flood, through the fake Bot API -------------------------------------------------------


async def test_a_flood_from_one_user_is_slowed_down_once_while_another_user_is_answered(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", budget=CommandBudget(5, 60.0)) as app:
        for _ in range(300):
            api.user_says("/exposure japan", chat_id=FLOODER)
        api.user_says("/status gallium", chat_id=OTHER)
        [answer] = await api.wait_for_messages(OTHER, timeout=30)
        flood = await api.wait_for_messages(FLOODER, count=6, timeout=30)
        processor = app.update_processor
        assert isinstance(processor, ChatOrderedUpdates)
        await api.wait_for(lambda: processor.dropped == 294, timeout=30)
    assert answer["text"].startswith("<b>Export controls: gallium</b>")
    assert [m["text"].startswith("<b>Japan") for m in flood] == [True] * 5 + [False]
    assert flood[5]["text"].startswith(SLOW_DOWN)
    assert len(api.messages_to(FLOODER)) == 6  # and nothing more: 294 commands were dropped unanswered
    assert api.sent.index(answer) < api.sent.index(flood[5])  # the other user did not wait for the flood
    flooder_times = [t for t, chat in api.received if chat == FLOODER]
    assert all(later - earlier > 0.5 for earlier, later in itertools.pairwise(flooder_times))  # 1/s to a chat


async def test_a_flood_of_plain_words_is_slowed_down_like_commands(tmp_path: Path) -> None:
    """Plain words in a private chat are answered (a pointer to the commands): they spend the sender's budget."""
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", budget=CommandBudget(5, 60.0)) as app:
        for n in range(200):
            api.user_says(f"forwarded message {n}", chat_id=FLOODER)
        flood = await api.wait_for_messages(FLOODER, count=6, timeout=30)
        processor = app.update_processor
        assert isinstance(processor, ChatOrderedUpdates)
        await api.wait_for(lambda: processor.dropped == 194, timeout=30)
    assert [m["text"].startswith("I answer commands") for m in flood] == [True] * 5 + [False]
    assert flood[5]["text"].startswith(SLOW_DOWN)
    assert len(api.messages_to(FLOODER)) == 6


async def test_alerts_are_delivered_and_paced_with_the_replies_during_a_flood(tmp_path: Path) -> None:
    chats = list(range(9_001, 9_013))
    async with (
        FakeBotAPI() as api,
        polling_bot(api, tmp_path / "bot.db", budget=CommandBudget(4, 60.0), chokepoint_send_rate=4) as app,
    ):
        services = app.bot_data.services
        for _ in range(300):
            api.user_says("/exposure japan", chat_id=FLOODER)
        admin_alert(services.db, "flood-test", "China halts gallium exports", chats, services.clock())
        services.wake_delivery()
        for chat in chats:
            await api.wait_for_messages(chat, timeout=30)
        await api.wait_for_messages(FLOODER, count=5, timeout=30)
    db = open_database(tmp_path / "bot.db", services.clock())
    assert delivery_counts(db) == {"sent": len(chats)}
    db.close()
    assert all("China halts gallium exports" in api.messages_to(chat)[0]["text"] for chat in chats)
    assert len(api.messages_to(FLOODER)) == 5
    assert most_in_any_second([t for t, _ in api.received]) <= 4 + 1  # one more only for network jitter


# ---- the update processor, alone -----------------------------------------------------------------------------


def update(update_id: int, chat_id: int, text: str, user_id: int | None = None) -> Update:
    sender = user_id if user_id is not None else chat_id
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": {"id": sender, "is_bot": False, "first_name": "u"},
        "text": text,
    }
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def test_chats_run_side_by_side_and_each_chat_in_its_own_order() -> None:
    log: list[str] = []
    held = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        log.append(f"start {name}")
        if wait is not None:
            await wait.wait()
        log.append(f"end {name}")

    async def refuse(update: Update, seconds: float) -> None:
        raise AssertionError("nobody is past the budget here")

    processor = ChatOrderedUpdates(CommandBudget(), CommandBudget(), refuse)
    first = asyncio.create_task(processor.process_update(update(1, 10, "/a"), handle("a1", held)))
    second = asyncio.create_task(processor.process_update(update(2, 10, "/a"), handle("a2")))
    other = asyncio.create_task(processor.process_update(update(3, 20, "/b"), handle("b")))
    await other
    assert log == ["start a1", "start b", "end b"]  # chat 20 did not wait for chat 10
    held.set()
    await asyncio.gather(first, second)
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert processor.chats_in_hand() == 0


async def test_past_the_budget_one_slow_down_then_nothing_until_it_has_room() -> None:
    ran: list[int] = []
    told: list[tuple[int, float]] = []
    now = [0.0]

    async def handle(update_id: int) -> None:
        ran.append(update_id)

    async def slow_down(update: Update, seconds: float) -> None:
        told.append((update.update_id, seconds))

    processor = ChatOrderedUpdates(CommandBudget(2, 10.0), CommandBudget(), slow_down, clock=lambda: now[0])
    for update_id in range(1, 6):
        await processor.process_update(update(update_id, 10, "/status"), handle(update_id))
    # Words in a group are no command and get no answer: no budget spent (in a private chat they are answered).
    await processor.process_update(update(6, -10, "just talking", user_id=10), handle(6))
    await processor.process_update(update(7, 10, "/status@other_bot"), handle(7))  # another bot's command
    now[0] = 10.0
    await processor.process_update(update(8, 10, "/status"), handle(8))
    assert ran == [1, 2, 6, 7, 8]
    assert told == [(3, 10.0)]
    assert processor.dropped == 2


async def test_a_group_shares_one_budget_among_its_members() -> None:
    ran: list[int] = []
    told: list[int] = []

    async def handle(update_id: int) -> None:
        ran.append(update_id)

    async def slow_down(update: Update, seconds: float) -> None:
        told.append(update.update_id)

    processor = ChatOrderedUpdates(CommandBudget(2, 10.0), CommandBudget(3, 60.0), slow_down)
    for update_id, member in enumerate([71, 72, 72, 72, 73, 74, 75], start=1):
        await processor.process_update(update(update_id, -10, "/status", user_id=member), handle(update_id))
    await processor.process_update(update(8, 76, "/status"), handle(8))  # a private chat has its own
    assert ran == [1, 2, 3, 8]
    assert told == [4]  # 72's third command: its own budget is out, and the group's too after it
    assert processor.dropped == 3


# ---- the shared limiter, as PTB's rate-limiter hook ----------------------------------------------------------


async def post(pacing: SharedPacing, endpoint: str, chat_id: int, limit_args: str | None = None) -> str:
    async def call(name: str) -> bool:
        calls.append(name)
        return True

    calls: list[str] = []
    await pacing.process_request(call, (endpoint,), {}, endpoint, {"chat_id": chat_id}, limit_args)
    return calls[0]


async def test_replies_wait_their_turn_on_the_alerts_limiter_and_paced_alerts_go_straight_through() -> None:
    limiter = RateLimiter(SendLimits(per_second=None))
    moments = iter([0.0, 0.5, 1.0])
    pacing = SharedPacing()
    pacing.attach(limiter, lambda: next(moments))
    assert await post(pacing, "sendMessage", 7) == "sendMessage"  # at 0.0
    assert await post(pacing, "sendMessage", 7, PACED) == "sendMessage"  # an alert: counted by the worker
    assert await post(pacing, "answerCallbackQuery", 7) == "answerCallbackQuery"  # puts nothing in the chat
    assert limiter.ready_at(7, "private", 0.5) == 1.0  # only the first reply was recorded
    await post(pacing, "editMessageText", 7)  # looks at 0.5, waits, goes at 1.0
    assert limiter.ready_at(7, "private", 1.0) == 2.0


async def test_a_stopping_bot_sends_its_last_replies_without_waiting_for_the_limits() -> None:
    limiter = RateLimiter(SendLimits(per_second=25))
    limiter.block(-5, 3_600.0)  # a group told to wait an hour
    pacing = SharedPacing()
    pacing.attach(limiter, lambda: 0.0, stopping=lambda: True)
    assert await post(pacing, "sendMessage", -5) == "sendMessage"


class Accepting:
    """A Sender that Telegram always accepts."""

    def __init__(self) -> None:
        self.chats: list[int] = []

    async def send(self, message: OutgoingMessage) -> Outcome:
        self.chats.append(message.chat_id)
        return Sent(len(self.chats))


async def test_the_worker_keeps_the_shared_limits_on_the_steady_clock_and_stamps_on_its_own(db: Database) -> None:
    now = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)  # the bot's clock, stopped as in a test
    admin_alert(db, "first", "first", [5], now)
    admin_alert(db, "second", "second", [5], now)
    limiter = RateLimiter(SendLimits(per_second=None))
    worker = DeliveryWorker(db, Accepting(), limiter=limiter, pace=lambda: 1_000.0)
    assert await worker.run_once(now) == 1
    assert limiter.reply_ready_at(5, "private", 1_000.5) == 1_001.0  # the alert counted in the replies' seconds
    [[due]] = db.execute("SELECT next_attempt_at FROM deliveries WHERE state = 'pending'").fetchall()
    assert due == stamp(now + dt.timedelta(seconds=1))  # the second one a second later, on the bot's clock


# ---- the limits, pure ------------------------------------------------------------------------------------------


def test_a_budget_admits_its_commands_warns_once_and_refills_while_the_flood_goes_on() -> None:
    budget = CommandBudget(3, 10.0)
    verdicts = [budget.admit(1, t) for t in (0.0, 0.1, 0.2, 0.3, 0.4, 5.0, 9.9)]
    assert verdicts == ["run", "run", "run", "slow_down", "drop", "drop", "drop"]
    assert budget.retry_in(1, 9.9) == pytest.approx(0.1)
    assert budget.admit(2, 9.9) == "run"  # one sender's flood is its own
    assert [budget.admit(1, t) for t in (10.0, 10.1, 10.2, 10.3, 10.4)] == ["run"] * 3 + ["slow_down", "drop"]
    budget.admit(3, 40.0)  # a later command sweeps the senders whose commands no longer count
    assert budget.tracked() == 1


def test_replies_take_at_most_their_share_and_alerts_keep_the_rest() -> None:
    limiter = RateLimiter(SendLimits(per_second=25, reply_share=0.6))
    sent: dict[str, list[float]] = {"reply": [], "alert": []}
    chats = itertools.count(1)
    for tick in range(10_000):  # ten seconds in steps of a millisecond, replies always asked for first
        now = tick / 1000
        chat = next(chats)  # a new chat every time: only the global limits bind
        if limiter.reply_ready_at(chat, "private", now) <= now:
            limiter.record(chat, "private", now, reply=True)
            sent["reply"].append(now)
        elif limiter.room(now):
            limiter.record(chat, "private", now)
            sent["alert"].append(now)
    assert most_in_any_second(sent["reply"]) <= 15
    assert len(sent["alert"]) >= 10 * 10 - 1  # at least 10 a second, however many replies wait
    assert most_in_any_second(sent["reply"] + sent["alert"]) <= 25


def test_replies_take_at_most_their_share_of_a_groups_minute() -> None:
    limiter = RateLimiter(SendLimits(per_second=None, reply_share=0.6, group_per_minute=20))
    for second in range(12):
        assert limiter.reply_ready_at(-5, "supergroup", float(second)) == second
        limiter.record(-5, "supergroup", float(second), reply=True)
    assert limiter.reply_ready_at(-5, "supergroup", 12.0) == 60.0  # 12 replies a minute, no more
    assert limiter.ready_at(-5, "supergroup", 12.0) == 12.0  # while the group's alerts keep going
    limiter.record(-5, "supergroup", 12.0)
    assert limiter.reply_ready_at(-6, "supergroup", 12.0) == 12.0  # another group has its own share
    assert SendLimits().group_budget().commands == 12  # and a group may run as many commands as it gets replies


def test_a_reply_waits_for_its_chat_like_an_alert() -> None:
    limiter = RateLimiter(SendLimits(per_second=25))
    limiter.record(7, "private", 0.0)  # an alert
    assert limiter.reply_ready_at(7, "private", 0.5) == 1.0
    limiter.record(-8, "group", 0.0, reply=True)
    assert limiter.ready_at(-8, "supergroup", 0.2) == 1.0  # and an alert waits for a reply the same way
