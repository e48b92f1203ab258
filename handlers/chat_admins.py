"""Who administers each group and channel, as Telegram said within the last minute, and who was told no.

Pure state with `now` in seconds: the handlers ask Telegram for a chat's administrators at most once per
`ttl`, whoever and however often members try to change its settings, and post the refusal to a member once per
`remember` seconds in that chat, not once per attempt.
"""

from __future__ import annotations

from typing import Any

ADMIN_LIST_TTL = 60.0
REFUSAL_MEMORY = 3600.0
CAPACITY = 10_000  # chats, and (chat, member) refusals: the oldest are forgotten first


class ChatAdmins:
    """Administrator lists with their age, and the refusals already posted."""

    def __init__(self, ttl: float = ADMIN_LIST_TTL, remember: float = REFUSAL_MEMORY, capacity: int = CAPACITY) -> None:
        self.ttl = ttl
        self.remember = remember
        self.capacity = capacity
        self._lists: dict[int, tuple[float, frozenset[int]]] = {}
        self._refused: dict[tuple[int, int], float] = {}

    def cached(self, chat_id: int, now: float) -> frozenset[int] | None:
        """The chat's administrators, if Telegram told us within `ttl`; None when they must be asked for."""
        entry = self._lists.get(chat_id)
        if entry is None or not entry[0] <= now < entry[0] + self.ttl:
            return None
        return entry[1]

    def store(self, chat_id: int, admins: frozenset[int], now: float) -> None:
        """What Telegram said at `now`."""
        self._lists.pop(chat_id, None)
        self._lists[chat_id] = (now, admins)
        _trim(self._lists, self.capacity)

    def first_refusal(self, chat_id: int, sender: int, now: float) -> bool:
        """Whether this sender is to be told no in this chat (True once per `remember` seconds)."""
        told = self._refused.get((chat_id, sender))
        if told is not None and told <= now < told + self.remember:
            return False
        self._refused.pop((chat_id, sender), None)
        self._refused[(chat_id, sender)] = now
        _trim(self._refused, self.capacity)
        return True


def _trim(entries: dict[Any, Any], capacity: int) -> None:
    while len(entries) > capacity:
        entries.pop(next(iter(entries)))
