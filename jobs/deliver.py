"""Delivering the outbox: claim due deliveries, send them within Telegram's limits, record what happened.

A delivery is marked sent only after the Sender reports that Telegram accepted it, so a crash between the
two can repeat one message to a chat, never lose one. A claim names its worker and holds for a lease: a
delivery whose outcome could not be recorded goes back to the outbox when the lease runs out, and a second
process on the same database never takes over the live claims of the first.

Each chat's trouble stays with that chat: a 429 delays only it, a block deactivates only it, a migrated group is
followed, a markup error is retried once as plain text, network errors back off exponentially, and after the
last attempt the delivery is failed and the admins are told. The Sender is an interface: Telegram
(bot.telegram_sender), the console, a fake in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.domain.alert_payloads import AlertPayload, alert_kind, read_payload
from bot.domain.alert_text import alert_buttons, alert_message
from bot.domain.clock import utc_now
from bot.domain.html import split_message, to_plain
from bot.domain.values import AlertKind
from bot.domain.vocab import Vocabulary
from jobs.alerts import admin_alert, compose_due_digests
from jobs.limits import RateLimiter, RetryPolicy, SendLimits
from storage.outbox import (
    INSTANT,
    claim,
    claim_owners,
    defer,
    drop_delivery,
    drop_pending_of_chat,
    due_deliveries,
    get_alert,
    mark_failed,
    mark_part_sent,
    mark_sent,
    move_deliveries,
    next_due,
    owns_claim,
    release_own_claims,
    release_stale_claims,
    reschedule,
    stamp,
)
from storage.rows import Row
from storage.subscribers import deactivate_subscriber, move_subscriber

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)

DIGEST_CADENCE = dt.timedelta(seconds=1)
BUSY_CHAT_DEFER = 0.5  # seconds: a chat with a message in flight waits, so its messages keep their order
PAYLOAD_CACHE = 256
CLAIM_BATCH = 50
CLAIM_LEASE = 120.0  # seconds a claim holds; after that, a delivery still being sent is taken back


# ---- what a Sender answers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one chat: HTML, or plain text."""

    chat_id: int
    text: str
    html: bool = True
    buttons: tuple[tuple[str, str], ...] = ()  # inline buttons (label, callback data), on one row


@dataclass(frozen=True, slots=True)
class Sent:
    """Telegram accepted the message."""

    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Flood control: this chat must wait `seconds`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Blocked:
    """The chat blocked the bot, removed it, or is gone."""

    reason: str


@dataclass(frozen=True, slots=True)
class Migrated:
    """The group became a supergroup with a new id."""

    new_chat_id: int


@dataclass(frozen=True, slots=True)
class BadMarkup:
    """Telegram could not parse the message's HTML."""

    reason: str


@dataclass(frozen=True, slots=True)
class Transient:
    """A network error, timeout or 5xx: worth another try later."""

    reason: str


@dataclass(frozen=True, slots=True)
class Permanent:
    """Telegram refused the message for good."""

    reason: str


Outcome = Sent | RetryLater | Blocked | Migrated | BadMarkup | Transient | Permanent


class Sender(Protocol):
    """Sends one message and says what happened; never raises for what Telegram or the network does."""

    async def send(self, message: OutgoingMessage) -> Outcome: ...


# ---- the worker --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery taken from the outbox for one send."""

    id: int
    alert_id: int
    chat_id: int
    chat_type: str
    attempts: int
    plain: bool
    parts_sent: int
    pairs: tuple[str, ...]
    timezone: str = "UTC"  # the chat's, for the times in its messages
    language: str = "en"  # the chat's, for the words of its messages

    @classmethod
    def from_row(cls, row: Row, chat_type: str | None = None) -> Claimed:
        """From a row of storage.outbox.due_deliveries (or of storage.outbox.claim, with the chat's type)."""
        pairs = tuple(json.loads(row["detail"] or "[]"))
        return cls(row["id"], row["alert_id"], row["chat_id"], chat_type or row["chat_type"], row["attempts"],
                   bool(row["plain"]), row["parts_sent"], pairs, row.get("timezone") or "UTC",
                   row.get("language") or "en")  # fmt: skip


def claim_owner() -> str:
    """A name for one worker's claims: host, process id and a random token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def owner_gone(owner: str) -> bool:
    """Whether the worker that made these claims is known to be dead: a process of this host that no longer runs.

    Elsewhere, or when it cannot tell, False: those claims come back when their lease runs out."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if sys.platform == "win32" or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class DeliveryWorker:
    """Sends due deliveries through a Sender, within the limits; `run()` loops, `run_once(now)` is one pass.

    Given a `limiter`, the worker keeps its limits together with whoever else records on it (the replies to
    commands, in the bot), on the steady clock `pace` they share (seconds; None: the times of `clock`, which
    is what `run_once(now)` keeps them in); otherwise it keeps `limits` alone."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        *,
        limits: SendLimits | None = None,
        limiter: RateLimiter | None = None,
        pace: Callable[[], float] | None = None,
        retry: RetryPolicy | None = None,
        admins: frozenset[int] = frozenset(),
        clock: Callable[[], dt.datetime] = utc_now,
        concurrency: int = 64,
        idle_poll: float = 5.0,
        lease: float = CLAIM_LEASE,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.db = db
        self.vocabulary = vocabulary  # names countries, materials and sectors in each chat's language
        self.sender = sender
        self.limiter = limiter or RateLimiter(limits or SendLimits())  # shared with replies when given
        self.pace = pace
        self.retry = retry or RetryPolicy()
        self.admins = admins
        self.clock = clock
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self.lease = dt.timedelta(seconds=lease)
        self.owner = claim_owner()
        self.counts: Counter[str] = Counter()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._busy_chats: set[int] = set()
        self._digests_composed_at: dt.datetime | None = None
        self._payloads: dict[int, tuple[AlertKind, AlertPayload]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- control

    def start(self) -> None:
        """Run the loop as a task of the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="delivery")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the sends in flight finish (up to `grace` seconds), then stop; unfinished claims go back to pending."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drain(grace)

    def wake(self) -> None:
        """Look at the outbox now (the checker calls this after committing alerts); safe from any thread."""
        if self._loop is None or self._wakeup is None or self._loop.is_closed():
            return
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._wakeup.set()
        else:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Deliver until stopped: first put back what a crashed worker claimed and never confirmed (claims older
        than the lease, or of a process that is gone); a live worker's claims on the same database stay its own."""
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        gone = [owner for owner in claim_owners(self.db) if owner_gone(owner)]
        released = release_stale_claims(self.db, stamp(self.clock() - self.lease), gone)
        if released:
            logger.warning("delivery: %d unconfirmed sends put back (they may repeat once)", released)
        while not self._stopping:
            self._wakeup.clear()
            delay = self._pass(self.clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()

    async def run_once(self, now: dt.datetime) -> int:
        """One pass at `now`: start every send the limits allow, wait for them, record them at `now`."""
        tasks = self._dispatch(now, lambda: now)
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    # -- one pass

    def _pass(self, now: dt.datetime) -> float:
        try:
            self._dispatch(now, self.clock)
            return self._idle_delay(now)
        except Exception:
            logger.exception("delivery pass failed")
            return 1.0

    def _dispatch(self, now: dt.datetime, clock: Callable[[], dt.datetime]) -> list[asyncio.Task[None]]:
        self._compose_digests(now)
        seconds = self._limiter_time(now)
        self.limiter.sweep(seconds)
        started: list[asyncio.Task[None]] = []
        room = self._room(seconds)
        stale = stamp(now - self.lease)
        while room > 0:
            limit = max(room, CLAIM_BATCH)
            rows = [Claimed.from_row(row) for row in due_deliveries(self.db, stamp(now), limit, stale)]
            picked = self._pick([row for row in rows if row.id not in self._inflight], now, seconds, room)
            claimed = claim(self.db, [row.id for row in picked], stamp(now), self.owner, stale)
            for row in picked:  # only what the claim matched goes: another worker may have taken the rest
                if row.id in claimed:
                    claimed_row = {**claimed[row.id], "timezone": row.timezone, "language": row.language}
                    started.append(self._start(Claimed.from_row(claimed_row, row.chat_type), clock))
                else:
                    self._busy_chats.discard(row.chat_id)
            room -= len(picked)
            if len(rows) < limit:
                break
        return started

    def _compose_digests(self, now: dt.datetime) -> None:
        """Compose the digests that are due, at most once a second (passes run far more often while sending)."""
        last = self._digests_composed_at
        if last is None or now - last >= DIGEST_CADENCE or now < last:
            compose_due_digests(self.db, now)
            self._digests_composed_at = now

    def _room(self, seconds: float) -> int:
        return min(self.limiter.room(seconds), self.concurrency - len(self._inflight))

    def _pick(self, rows: list[Claimed], now: dt.datetime, seconds: float, room: int) -> list[Claimed]:
        """The rows to send now; the others of chats not ready yet are pushed to when they are."""
        picked: list[Claimed] = []
        deferred: list[tuple[int, str]] = []
        for row in rows:
            if len(picked) >= room:
                break
            ready = self.limiter.ready_at(row.chat_id, row.chat_type, seconds)
            if row.chat_id in self._busy_chats:
                ready = max(ready, seconds + BUSY_CHAT_DEFER)
            if ready > seconds:
                deferred.append((row.id, stamp(self._moment(now, seconds, ready))))
                continue
            self.limiter.record(row.chat_id, row.chat_type, seconds)
            self._busy_chats.add(row.chat_id)
            picked.append(row)
        defer(self.db, deferred)
        return picked

    def _idle_delay(self, now: dt.datetime) -> float:
        due = next_due(self.db, INSTANT)
        if due is None:
            return self.idle_poll
        wait = dt.datetime.fromisoformat(due).timestamp() - now.timestamp()
        if wait <= 0:  # due now, but no room: wait for the next global slot or for a send to finish
            full = len(self._inflight) >= self.concurrency
            seconds = self._limiter_time(now)
            wait = self.idle_poll if full else self.limiter.next_slot(seconds) - seconds
        return min(self.idle_poll, max(0.001, wait))

    def _limiter_time(self, now: dt.datetime) -> float:
        """`now` on the limiter's clock: the steady clock it shares with the replies, else `now` itself."""
        return self.pace() if self.pace is not None else now.timestamp()

    def _moment(self, now: dt.datetime, seconds: float, ready: float) -> dt.datetime:
        """The moment the limiter's `ready` falls on, on `now`'s clock (`seconds` being `now` on the limiter's)."""
        if self.pace is None:
            return dt.datetime.fromtimestamp(ready, dt.UTC)
        return now + dt.timedelta(seconds=ready - seconds)

    def _start(self, row: Claimed, clock: Callable[[], dt.datetime]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._deliver(row, clock))
        self._inflight[row.id] = task
        return task

    async def _drain(self, grace: float) -> None:
        tasks = list(self._inflight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        release_own_claims(self.db, self.owner)

    # -- one send

    async def _deliver(self, row: Claimed, clock: Callable[[], dt.datetime]) -> None:
        try:
            outcome, parts = await self._send(row)
            self._settle(row, outcome, parts, clock())
        except Exception:
            logger.exception("delivery %d: could not record the outcome", row.id)
        finally:
            self._inflight.pop(row.id, None)
            self._busy_chats.discard(row.chat_id)
            if self._wakeup is not None:
                self._wakeup.set()

    async def _send(self, row: Claimed) -> tuple[Outcome, int]:
        try:
            message, parts = self.message_for(row)
        except Exception as error:
            logger.exception("delivery %d: the alert cannot be rendered", row.id)
            return Permanent(f"cannot render: {error!r}"), 1
        try:
            return await self.sender.send(message), parts
        except Exception as error:
            logger.exception("delivery %d: the sender raised", row.id)
            return Transient(f"sender raised {error!r}"), parts

    def message_for(self, row: Claimed) -> tuple[OutgoingMessage, int]:
        """The part of the alert's message this delivery sends next, and how many parts there are."""
        kind, payload = self._alert(row.alert_id)
        text = alert_message(kind, payload, row.pairs, row.timezone, row.language, self.vocabulary)
        parts = split_message(text)
        index = min(row.parts_sent, len(parts) - 1)
        buttons = alert_buttons(kind, payload, row.language) if index == len(parts) - 1 else ()
        if row.plain:
            return OutgoingMessage(row.chat_id, to_plain(parts[index]), html=False, buttons=buttons), len(parts)
        return OutgoingMessage(row.chat_id, parts[index], buttons=buttons), len(parts)

    def _alert(self, alert_id: int) -> tuple[AlertKind, AlertPayload]:
        cached = self._payloads.get(alert_id)
        if cached is None:
            alert = get_alert(self.db, alert_id)
            if alert is None:
                raise LookupError(f"alert {alert_id} does not exist")
            cached = self._payloads[alert_id] = (alert_kind(alert["kind"]), read_payload(alert["payload"]))
            if len(self._payloads) > PAYLOAD_CACHE:
                self._payloads.pop(next(iter(self._payloads)))
        return cached

    # -- what happened

    def _settle(self, row: Claimed, outcome: Outcome, parts: int, now: dt.datetime) -> None:
        self.counts[type(outcome).__name__] += 1
        with self.db.atomic():
            if not owns_claim(self.db, row.id, self.owner):
                logger.warning("delivery %d: its claim ran out and was taken back; %s not recorded", row.id, outcome)
                return
            self._apply(row, outcome, parts, now)

    def _apply(self, row: Claimed, outcome: Outcome, parts: int, now: dt.datetime) -> None:
        match outcome:
            case Sent():
                self._sent(row, parts, now)
            case RetryLater(seconds=seconds):
                self.limiter.block(row.chat_id, self._limiter_time(now) + seconds)
                later = now + dt.timedelta(seconds=seconds)
                reschedule(self.db, row.id, stamp(later), f"flood control: retry after {seconds:g}s")
            case Blocked(reason=reason):
                self._blocked(row, reason)
            case Migrated(new_chat_id=new_chat_id):
                self._migrated(row, new_chat_id, now)
            case BadMarkup(reason=reason) if not row.plain:
                reschedule(self.db, row.id, stamp(now), f"{reason}; resending as plain text", plain=True)
            case BadMarkup(reason=reason) | Permanent(reason=reason):
                self._failed(row, reason, row.attempts + 1, now)
            case Transient(reason=reason):
                self._transient(row, reason, now)

    def _sent(self, row: Claimed, parts: int, now: dt.datetime) -> None:
        if row.parts_sent + 1 < parts:
            mark_part_sent(self.db, row.id, row.parts_sent + 1, stamp(now))
        else:
            mark_sent(self.db, row.id, stamp(now))

    def _blocked(self, row: Claimed, reason: str) -> None:
        logger.info("chat %d is gone (%s): deactivated", row.chat_id, reason)
        deactivate_subscriber(self.db, row.chat_id, reason)
        drop_delivery(self.db, row.id, reason)
        drop_pending_of_chat(self.db, row.chat_id, reason)

    def _migrated(self, row: Claimed, new_chat_id: int, now: dt.datetime) -> None:
        if new_chat_id == row.chat_id:
            self._failed(row, "migrated to the same chat id", row.attempts + 1, now)
            return
        logger.info("chat %d migrated to %d: following", row.chat_id, new_chat_id)
        move_subscriber(self.db, row.chat_id, new_chat_id)
        move_deliveries(self.db, row.id, row.chat_id, new_chat_id, stamp(now))

    def _transient(self, row: Claimed, reason: str, now: dt.datetime) -> None:
        attempts = row.attempts + 1
        if self.retry.exhausted(attempts):
            self._failed(row, reason, attempts, now)
            return
        later = now + dt.timedelta(seconds=self.retry.delay(attempts))
        reschedule(self.db, row.id, stamp(later), reason, attempts=attempts)

    def _failed(self, row: Claimed, reason: str, attempts: int, now: dt.datetime) -> None:
        logger.warning("delivery %d to chat %d failed after %d attempts: %s", row.id, row.chat_id, attempts, reason)
        mark_failed(self.db, row.id, reason, attempts)
        if self._alert(row.alert_id)[0] != "admin":
            text = (
                f"Alert #{row.alert_id} could not be delivered to chat {row.chat_id} after {attempts} "
                f"attempt(s): {reason[:200]}. /failed lists every failed delivery."
            )
            admin_alert(self.db, f"delivery-failed:{row.alert_id}", text, self.admins, now)
