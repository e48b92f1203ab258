"""Telegram's sending limits, the retry policy and each sender's command budget, as pure logic: every method
takes `now` in seconds.

All chats together at most `per_second` messages per second; one chat (private or group) at most one message per
`private_interval` seconds, and one group also at most `group_per_minute` messages per minute; a chat told to wait
(429 retry_after) waits, and only that chat. Replies to commands take at most `reply_share` of the global rate
and of each group's minute: the rest is kept for alerts, so no flood of commands starves them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
SPACING = 0.9  # of the even interval between two messages (see GlobalLimit)
SWEEP_EVERY = 1.0  # seconds between sweeps of idle per-chat state (keeps memory flat in the number of chats)
UNLIMITED_ROOM = 1_000_000


@dataclass(frozen=True, slots=True)
class SendLimits:
    """The limits replies and the delivery job keep; `per_second=None` lifts the global one (a self-hosted Bot API).

    Replies may take at most `reply_share` of `per_second` and of a group's `group_per_minute`: alerts always keep
    the rest."""

    per_second: float | None = 25.0
    reply_share: float = 0.6
    private_interval: float = 1.0
    group_per_minute: int = 20

    @property
    def group_replies_per_minute(self) -> int:
        """Replies one group may get in a minute: its share of the group's messages (12 of 20)."""
        return max(1, math.floor(self.group_per_minute * self.reply_share))

    def group_budget(self) -> CommandBudget:
        """The commands one group or channel may run, all members together: as many as it may get replies."""
        return CommandBudget(self.group_replies_per_minute, 60.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for network errors: first delay, factor, cap, and attempts before giving up."""

    first: float = 5.0
    factor: float = 2.0
    cap: float = 900.0
    attempts: int = 6

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failed attempt (1-based)."""
        return float(min(self.cap, self.first * self.factor ** max(0, attempt - 1)))

    def exhausted(self, attempts: int) -> bool:
        """Whether this many failed attempts means giving up."""
        return attempts >= self.attempts


class Window:
    """At most `capacity` events in any `span` seconds (a sliding log of the latest events)."""

    __slots__ = ("capacity", "span", "times")

    def __init__(self, capacity: int, span: float) -> None:
        self.capacity = capacity
        self.span = span
        self.times: deque[float] = deque(maxlen=capacity)

    def ready_at(self, now: float) -> float:
        """The earliest moment another event fits."""
        if len(self.times) < self.capacity:
            return now
        return max(now, self.times[0] + self.span)

    def used(self, now: float) -> int:
        """How many recorded events still count at `now`."""
        return sum(1 for t in self.times if t > now - self.span)

    def record(self, now: float) -> None:
        """An event happened at `now`."""
        self.times.append(now)

    def idle(self, now: float) -> bool:
        """Whether no recorded event constrains anything any more."""
        return not self.times or self.times[-1] <= now - self.span


def global_window(per_second: float) -> Window:
    """`per_second` messages per second as a window: 25/s → 25 in any 1 s; 0.5/s → 1 in any 2 s."""
    capacity = max(1, math.floor(per_second))
    return Window(capacity, capacity / per_second)


class GlobalLimit:
    """All chats together: never more than the window allows, and spread out rather than in bursts.

    The window is the hard limit (25 in any second). The spacing (0.9 of the even interval) keeps the
    messages apart, so that they reach Telegram as a steady stream, while a late wake-up can still catch up.
    """

    def __init__(self, per_second: float) -> None:
        self.window = global_window(per_second)
        self.spacing = SPACING / per_second
        self.last = -math.inf

    def ready_at(self, now: float) -> float:
        """When the next message may go."""
        return max(self.window.ready_at(now), self.last + self.spacing)

    def room(self, now: float) -> int:
        """How many may go at `now`: one at most, as they are spaced."""
        return 1 if self.ready_at(now) <= now else 0

    def record(self, now: float) -> None:
        """A message goes at `now`."""
        self.window.record(now)
        self.last = now


class RateLimiter:
    """Decides when the next message may go, overall and per chat."""

    def __init__(self, limits: SendLimits) -> None:
        self.limits = limits
        self._global = GlobalLimit(limits.per_second) if limits.per_second else None
        self._replies = global_window(limits.per_second * limits.reply_share) if limits.per_second else None
        self._chats: dict[int, tuple[Window, ...]] = {}
        self._group_replies: dict[int, Window] = {}
        self._blocked: dict[int, float] = {}
        self._swept = -math.inf

    def room(self, now: float) -> int:
        """How many messages may start at `now`, all chats together."""
        if self._global is None:
            return UNLIMITED_ROOM
        return self._global.room(now)

    def next_slot(self, now: float) -> float:
        """When the global limit next lets a message go."""
        return now if self._global is None else self._global.ready_at(now)

    def ready_at(self, chat_id: int, chat_type: str, now: float) -> float:
        """When this chat may receive its next message: the latest of what each of its windows allows."""
        ready = max((window.ready_at(now) for window in self._chats.get(chat_id, ())), default=now)
        return max(ready, self._blocked.get(chat_id, now))

    def reply_ready_at(self, chat_id: int, chat_type: str, now: float) -> float:
        """When a reply to this chat may go: its chat's limits, the global slot and the replies' shares allow it."""
        ready = max(self.ready_at(chat_id, chat_type, now), self.next_slot(now))
        shares = [window for window in (self._replies, self._group_replies.get(chat_id)) if window is not None]
        return max([ready, *(window.ready_at(now) for window in shares)])

    def record(self, chat_id: int, chat_type: str, now: float, *, reply: bool = False) -> None:
        """A message to this chat starts at `now` (a reply also counts against the replies' share)."""
        if self._global is not None:
            self._global.record(now)
        if reply:
            self._record_reply(chat_id, chat_type, now)
        windows = self._chats.get(chat_id)
        if windows is None:
            windows = self._chats[chat_id] = self._chat_windows(chat_type)
        for window in windows:
            window.record(now)

    def _record_reply(self, chat_id: int, chat_type: str, now: float) -> None:
        if self._replies is not None:
            self._replies.record(now)
        if chat_type in GROUP_TYPES:
            share = self._group_replies.get(chat_id)
            if share is None:
                share = self._group_replies[chat_id] = Window(self.limits.group_replies_per_minute, 60.0)
            share.record(now)

    def block(self, chat_id: int, until: float) -> None:
        """Telegram asked us to wait before writing to this chat again."""
        self._blocked[chat_id] = max(until, self._blocked.get(chat_id, until))

    def sweep(self, now: float) -> None:
        """Forget chats whose limits no longer constrain anything (at most once a second)."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        self._chats = {chat: windows for chat, windows in self._chats.items() if not all(w.idle(now) for w in windows)}
        self._group_replies = {chat: share for chat, share in self._group_replies.items() if not share.idle(now)}
        self._blocked = {chat: until for chat, until in self._blocked.items() if until > now}

    def tracked_chats(self) -> int:
        """How many chats the limiter holds state for."""
        return len(self._chats) + len(self._group_replies) + len(self._blocked)

    def _chat_windows(self, chat_type: str) -> tuple[Window, ...]:
        """One message per `private_interval` for every chat; a group also `group_per_minute` a minute."""
        per_second = Window(1, self.limits.private_interval)
        if chat_type in GROUP_TYPES:
            return per_second, Window(self.limits.group_per_minute, 60.0)
        return (per_second,)


Verdict = Literal["run", "slow_down", "drop"]


class CommandBudget:
    """Each sender may run `commands` commands in any `seconds` seconds.

    Past the budget the first command is answered "slow down", and every later one is dropped unanswered,
    until the budget has room again; dropped commands spend nothing, so the budget refills while a flood goes on.
    """

    def __init__(self, commands: int = 5, seconds: float = 10.0) -> None:
        self.commands = commands
        self.seconds = seconds
        self._senders: dict[int, Window] = {}
        self._warned: set[int] = set()
        self._swept = -math.inf

    def admit(self, sender: int, now: float) -> Verdict:
        """Whether this sender's command at `now` runs, gets the one "slow down", or is dropped."""
        self._sweep(now)
        window = self._senders.get(sender)
        if window is None:
            window = self._senders[sender] = Window(self.commands, self.seconds)
        if window.ready_at(now) <= now:
            window.record(now)
            self._warned.discard(sender)
            return "run"
        if sender in self._warned:
            return "drop"
        self._warned.add(sender)
        return "slow_down"

    def retry_in(self, sender: int, now: float) -> float:
        """Seconds until this sender's budget has room again."""
        window = self._senders.get(sender)
        return 0.0 if window is None else max(0.0, window.ready_at(now) - now)

    def tracked(self) -> int:
        """How many senders the budget holds state for."""
        return len(self._senders)

    def _sweep(self, now: float) -> None:
        """Forget senders whose commands no longer count (at most once a second)."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        self._senders = {sender: window for sender, window in self._senders.items() if not window.idle(now)}
        self._warned = {sender for sender in self._warned if sender in self._senders}
