"""One send limiter for replies and alerts: PTB's rate-limiter hook over the delivery worker's RateLimiter.

Every message the bot posts into a chat passes here. Alerts were paced by the delivery worker before they were
sent (it marks them PACED) and go straight through; a reply to a command waits until its chat's limits, the
global rate and the replies' share of it (jobs/limits.py) let it go, and is recorded on the same limiter, so the
worker counts it too. Replies can therefore never take the alerts' reserved share, however many commands arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.domain.datafiles import JsonObject
from jobs.limits import RateLimiter

PACED = "paced"  # rate_limit_args of a message the delivery worker already counted
POSTING = ("send", "edit", "copy", "forward")  # Bot API methods that put a message into a chat
NOT_POSTING = frozenset({"sendChatAction"})
LOOK_AGAIN = 1.0  # seconds at most between two looks at the limiter (and at whether the bot is stopping)

Clock = Callable[[], float]
Result = bool | JsonObject | list[JsonObject]  # what a Bot API method answers


def posts_message(endpoint: str) -> bool:
    """Whether this Bot API method puts a message into a chat (and so counts against Telegram's limits)."""
    return endpoint.startswith(POSTING) and endpoint not in NOT_POSTING


def chat_type_of(chat_id: int) -> str:
    """Telegram's ids: users are positive, groups, supergroups and channels negative."""
    return "private" if chat_id > 0 else "group"


class SharedPacing(BaseRateLimiter[str]):
    """Paces replies on the limiter the delivery worker uses; until `attach`, nothing is paced."""

    def __init__(self) -> None:
        self.limiter: RateLimiter | None = None
        self.clock: Clock | None = None
        self.stopping: Callable[[], bool] = lambda: False

    def attach(self, limiter: RateLimiter, clock: Clock, stopping: Callable[[], bool] = lambda: False) -> None:
        """Share `limiter` (its times in `clock`'s seconds) from now on; once `stopping()`, replies stop waiting,
        so that a group's limit of twenty a minute never holds up the bot's shutdown."""
        self.limiter, self.clock, self.stopping = limiter, clock, stopping

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: JsonObject,
        endpoint: str,
        data: JsonObject,
        rate_limit_args: str | None,
    ) -> Result:
        """Wait for the reply's turn, then make the call; anything else goes at once."""
        chat_id = data.get("chat_id")
        if rate_limit_args != PACED and posts_message(endpoint) and isinstance(chat_id, int):
            await self.turn(chat_id)
        return await callback(*args, **kwargs)

    async def turn(self, chat_id: int) -> None:
        """Wait until a reply to this chat may go, and record it."""
        if self.limiter is None or self.clock is None:
            return
        chat_type = chat_type_of(chat_id)
        while True:
            now = self.clock()
            ready = self.limiter.reply_ready_at(chat_id, chat_type, now)
            if ready <= now or self.stopping():
                self.limiter.record(chat_id, chat_type, now, reply=True)
                return
            await asyncio.sleep(min(ready - now, LOOK_AGAIN))
