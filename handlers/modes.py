"""/digest HH:MM [TIMEZONE]|off, /quiet HH:MM-HH:MM [banned] [TIMEZONE]|off and /mute DURATION|off: when alerts
arrive.

Held alerts are not lost: a digest collects them into one message a day, quiet hours and mutes deliver them
when they end. Every change of a mode re-times what the chat's modes hold, as its modes now are: turning a
mode off releases what it held, as the other modes allow; a new mute, digest time, quiet window or time zone
moves what is held to the new time.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from sqlite_utils import Database
from telegram import Chat, Update

from bot.domain.html import esc
from bot.domain.timing import (
    Hold,
    clock_text,
    hold_of,
    parse_clock,
    parse_duration,
    parse_window,
    placement,
    raises_a_ban,
)
from handlers.chat_rights import refuse_non_admin
from handlers.context import Context, Services, UsageError, check_arguments
from handlers.replies import reply_html, reply_problem
from storage.outbox import HOLD_REASONS, held_by, held_deliveries, mode_of, rehold, stamp
from storage.rows import Row
from storage.subscribers import get_subscriber, save_subscriber, set_digest, set_muted_until, set_quiet

DIGEST_USAGE = "Usage: /digest HH:MM [TIMEZONE] | off\nExamples: /digest 08:00, /digest 08:00 Asia/Tokyo, /digest off"
QUIET_USAGE = (
    "Usage: /quiet HH:MM-HH:MM [banned] [TIMEZONE] | off\n"
    "Examples: /quiet 22:00-07:00, /quiet 22:00-07:00 Asia/Tokyo, "
    "/quiet 22:00-07:00 banned (bans still come through), /quiet off"
)
MUTE_USAGE = "Usage: /mute DURATION | off\nExamples: /mute 4h, /mute 30m, /mute 2d, /mute off"
OFF = "off"
BANNED = "banned"

Answer = Callable[[Services, Chat, Sequence[str]], str]


def _chat_row(services: Services, chat: Chat) -> Row:
    save_subscriber(services.db, chat.id, chat.type, chat.title, services.timezone, stamp(services.clock()))
    row = get_subscriber(services.db, chat.id)
    if row is None:
        raise RuntimeError(f"chat {chat.id} was not saved")
    return row


def modes_line(subscriber: Row | None, now: dt.datetime) -> str:
    """How alerts reach the chat: instant, digest, quiet hours, a mute still in force."""
    if subscriber is None:
        return "Delivery: instant."
    digest = subscriber["digest_at"]
    parts = [f"daily digest at {digest} ({subscriber['timezone']})" if digest else "instant"]
    if subscriber["quiet_start"]:
        banned = ", bans still come through" if subscriber["quiet_allows_banned"] else ""
        parts.append(f"quiet {subscriber['quiet_start']}–{subscriber['quiet_end']} ({subscriber['timezone']}{banned})")
    if subscriber["muted_until"] and subscriber["muted_until"] > stamp(now):
        parts.append(f"muted until {subscriber['muted_until'][:16].replace('T', ' ')} UTC")
    return esc("Delivery: " + "; ".join(parts) + ".")


def retime_holds(db: Database, chat_id: int, now: dt.datetime) -> int:
    """Re-place every delivery the chat's modes hold by the chat's current modes (they just changed); return how
    many are due now. Deliveries delayed by rate limits or retries (held by nothing) keep their time."""
    subscriber = get_subscriber(db, chat_id)
    hold = hold_of(subscriber) if subscriber else Hold()
    with db.atomic():
        rows = {row["id"]: row for reason in HOLD_REASONS for row in held_deliveries(db, chat_id, reason)}
        placed = [(row_id, placement(hold, now, banned=raises_a_ban(row["payload"]))) for row_id, row in rows.items()]
        rehold(db, [(row_id, stamp(p.due), mode_of(p), held_by(p)) for row_id, p in placed])
    return sum(not p.digest and p.due <= now for _, p in placed)


def _retime(services: Services, chat_id: int) -> int:
    """Re-time what the chat's modes hold, now that they changed; wake the delivery job for what is due now."""
    released = retime_holds(services.db, chat_id, services.clock())
    if released:
        services.wake_delivery()
    return released


def _released_note(count: int) -> str:
    return f" {count} held alert(s) are on their way." if count else ""


def digest_answer(services: Services, chat: Chat, args: Sequence[str]) -> str:
    """Set or clear the daily digest."""
    words = check_arguments(args, DIGEST_USAGE, at_least=1)
    row = _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_digest(services.db, chat.id, None, None)
        return "Instant alerts again." + _released_note(_retime(services, chat.id))
    if len(words) > 2:
        raise UsageError(DIGEST_USAGE)
    at = parse_clock(words[0])
    timezone = time_zone(words[1]) if len(words) == 2 else row["timezone"]
    set_digest(services.db, chat.id, clock_text(at), timezone)
    _retime(services, chat.id)
    return (
        f"🗞 Daily digest at {clock_text(at)} ({esc(timezone)}): the day's changes in one message. "
        "/digest off for instant alerts."
    )


def quiet_answer(services: Services, chat: Chat, args: Sequence[str]) -> str:
    """Set or clear quiet hours."""
    words = check_arguments(args, QUIET_USAGE, at_least=1)
    row = _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_quiet(services.db, chat.id, None, None, allow_banned=False)
        return "No quiet hours." + _released_note(_retime(services, chat.id))
    start, end = parse_window(words[0])
    allow_banned, zone_name = _quiet_options(words[1:])
    timezone = time_zone(zone_name) if zone_name else row["timezone"]
    set_quiet(services.db, chat.id, clock_text(start), clock_text(end), allow_banned, timezone=timezone)
    released = _released_note(_retime(services, chat.id))
    banned = " Bans still come through." if allow_banned else " Add 'banned' to let bans through."
    return (
        f"🌙 Quiet hours {clock_text(start)}–{clock_text(end)} ({esc(timezone)}): alerts wait until "
        f"{clock_text(end)}.{banned}{released}"
    )


def _quiet_options(words: Sequence[str]) -> tuple[bool, str | None]:
    """What may follow the window, in either order: 'banned', and a time zone."""
    banned = [word for word in words if word.lower() == BANNED]
    zones = [word for word in words if word.lower() != BANNED]
    if len(banned) > 1 or len(zones) > 1:
        raise UsageError(QUIET_USAGE)
    return bool(banned), zones[0] if zones else None


def time_zone(name: str) -> str:
    """An IANA time zone's name, matched regardless of case; ValueError naming the closest ones."""
    by_lower = {known.lower(): known for known in zoneinfo.available_timezones()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    closest = [by_lower[lower] for lower in difflib.get_close_matches(name.lower(), by_lower, n=3, cutoff=0.6)]
    if not closest:
        raise ValueError(f"unknown time zone '{name[:40]}'; use e.g. UTC, Asia/Tokyo, Europe/Berlin")
    raise ValueError(f"unknown time zone '{name[:40]}'. Closest: {', '.join(closest)}")


def mute_answer(services: Services, chat: Chat, args: Sequence[str]) -> str:
    """Mute for a while, or unmute."""
    words = check_arguments(args, MUTE_USAGE, at_least=1)
    _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_muted_until(services.db, chat.id, None)
        return "Unmuted." + _released_note(_retime(services, chat.id))
    until = services.clock() + parse_duration("".join(words))
    set_muted_until(services.db, chat.id, stamp(until))
    released = _released_note(_retime(services, chat.id))
    return (
        f"🔕 Muted until {until.strftime('%Y-%m-%d %H:%M')} UTC: alerts wait until then. /mute off to unmute."
        + released
    )


def settings_command(
    command: str, answer: Answer, usage: str
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """A handler that lets private chats and group admins change a setting, answering problems with usage."""

    async def handle(update: Update, context: Context) -> None:
        """Change one delivery setting of this chat."""
        chat = update.effective_chat
        if chat is None or await refuse_non_admin(update, context, f"/{command}"):
            return
        try:
            reply = answer(context.bot_data.services, chat, context.args or [])
        except UsageError as problem:
            await reply_problem(update, problem)
            return
        except ValueError as problem:
            await reply_problem(update, problem, usage)
            return
        await reply_html(update, reply)

    handle.__name__ = command
    return handle


digest = settings_command("digest", digest_answer, DIGEST_USAGE)
quiet = settings_command("quiet", quiet_answer, QUIET_USAGE)
mute = settings_command("mute", mute_answer, MUTE_USAGE)
