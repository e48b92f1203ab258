"""Taking updates in: command budgets at the door, then chats side by side, each in its own order.

PTB hands every update to this processor as soon as it arrives (`concurrent_updates`). A command past its
sender's budget, or past its group's (jobs/limits.CommandBudget), is decided on at once, in arrival order: the
first gets one "slow down", the rest are dropped without waiting for anything. What is admitted waits only for
the earlier updates of its own chat, so one chat's flood, or a slow reply in it, never holds up another chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

from handlers.context import command_for, sender_of
from jobs.limits import CommandBudget

logger = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 4096  # admitted updates in hand at once, most of them waiting for their chat's turn

SlowDown = Callable[[Update, float], Awaitable[None]]  # (the update, seconds until the budget has room)


def bot_username(update: Update) -> str:
    """The bot's username, as the update knows it ('' before the bot has asked Telegram)."""
    try:
        return update.get_bot().username
    except RuntimeError:
        return ""


def command_sender(update: Update) -> int | None:
    """Who spends budget on this update: the sender of a new command for this bot, of plain words in a private
    chat (they are answered too, with a pointer to the commands), or of a button press."""
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    message = update.message or update.channel_post
    if message is None:
        return None
    text = message.text or ""
    answered_words = message.chat.type == ChatType.PRIVATE and bool(text) and not text.startswith("/")
    if not answered_words and command_for(text, bot_username(update)) is None:
        return None
    return sender_of(update)


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Admits commands within their sender's `budget` and their group's `chat_budget` (a group or channel, all
    members together), and runs each chat's updates one at a time, in order."""

    def __init__(
        self,
        budget: CommandBudget,
        chat_budget: CommandBudget,
        slow_down: SlowDown,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.budget = budget
        self.chat_budget = chat_budget
        self.slow_down = slow_down
        self.clock = clock
        self.dropped = 0
        self._turns: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run, answer "slow down" or drop, decided at once; what runs waits for its chat's turn."""
        if not isinstance(update, Update):
            await coroutine
            return
        admitted = self._admit(update, coroutine)
        chat = update.effective_chat
        if admitted is None:
            return
        if chat is None:
            await admitted
            return
        async with self._turn(chat.id):
            await admitted

    def _admit(self, update: Update, coroutine: Awaitable[Any]) -> Awaitable[Any] | None:
        """What to run for this update: its handlers, the one "slow down", or nothing (None)."""
        sender = command_sender(update)
        if sender is None:
            return coroutine
        now = self.clock()
        budget, key = self.budget, sender
        verdict = budget.admit(key, now)
        chat = update.effective_chat
        if verdict != "drop" and chat is not None and chat.type != ChatType.PRIVATE:
            shared = self.chat_budget.admit(chat.id, now)  # a slow down is a message in the group too
            if shared != "run":
                budget, key, verdict = self.chat_budget, chat.id, shared
        if verdict == "run":
            return coroutine
        _discard(coroutine)
        if verdict == "drop":
            self.dropped += 1
            return None
        logger.info("%s is past its command budget: slowed down", key)
        return self._slow_down(update, budget.retry_in(key, now))

    async def _slow_down(self, update: Update, seconds: float) -> None:
        try:
            await self.slow_down(update, seconds)
        except Exception:
            logger.exception("could not answer 'slow down'")

    @contextlib.asynccontextmanager
    async def _turn(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for the earlier updates of this chat; forget the chat once none is waiting."""
        lock = self._turns.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:
                del self._waiting[chat_id], self._turns[chat_id]

    def chats_in_hand(self) -> int:
        """How many chats have updates running or waiting."""
        return len(self._turns)


def _discard(coroutine: Awaitable[Any]) -> None:
    """Close a coroutine that will never run (so that Python does not warn it was never awaited)."""
    if inspect.iscoroutine(coroutine):
        coroutine.close()
