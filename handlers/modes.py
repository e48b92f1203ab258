"""/digest HH:MM [TIMEZONE]|off, /quiet HH:MM-HH:MM [banned] [TIMEZONE]|off and /mute DURATION|off: when alerts
arrive.

Held alerts are not lost: a digest collects them into one message a day, quiet hours and mutes deliver them
when they end. Every change of a mode re-times what the chat's modes hold, as its modes now are: turning a
mode off releases what it held, as the other modes allow; a new mute, digest time, quiet window or time zone
moves what is held to the new time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from telegram import Chat, Update

from bot.domain import i18n
from bot.domain.html import esc
from bot.domain.i18n import N_, Words, translate_lines
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
from bot.domain.zones import known_time_zone
from handlers.chat_rights import refuse_non_admin
from handlers.context import Context, Services, UsageError, chat_words, check_arguments
from handlers.replies import reply_html, reply_problem
from storage.outbox import HOLD_REASONS, held_by, held_deliveries, mode_of, rehold, stamp
from storage.rows import Row
from storage.subscribers import get_subscriber, save_subscriber, set_digest, set_muted_until, set_quiet

if TYPE_CHECKING:
    from storage.database import Database

DIGEST_USAGE = (
    N_("Usage: /digest HH:MM [TIMEZONE] | off")
    + "\n"
    + N_("Examples: /digest 08:00, /digest 08:00 Asia/Tokyo, /digest off")
)
QUIET_USAGE = (
    N_("Usage: /quiet HH:MM-HH:MM [banned] [TIMEZONE] | off")
    + "\n"
    + N_(
        "Examples: /quiet 22:00-07:00, /quiet 22:00-07:00 Asia/Tokyo, /quiet 22:00-07:00 banned (bans still come "
        "through), /quiet off"
    )
)
MUTE_USAGE = N_("Usage: /mute DURATION | off") + "\n" + N_("Examples: /mute 4h, /mute 30m, /mute 2d, /mute off")
OFF = "off"
BANNED = "banned"

Answer = Callable[[Services, Chat, Sequence[str], Words], str]


def _chat_row(services: Services, chat: Chat) -> Row:
    save_subscriber(services.db, chat.id, chat.type, chat.title, services.timezone, stamp(services.clock()))
    row = get_subscriber(services.db, chat.id)
    if row is None:
        raise RuntimeError(f"chat {chat.id} was not saved")
    return row


def modes_line(subscriber: Row | None, now: dt.datetime, w: Words | None = None) -> str:
    """How alerts reach the chat: instant, digest, quiet hours, a mute still in force."""
    w = w or i18n.words()
    if subscriber is None:
        return esc(w._("Delivery: %(modes)s.", modes=w._("instant")))
    digest, zone = subscriber["digest_at"], subscriber["timezone"]
    parts = [w._("daily digest at %(time)s (%(zone)s)", time=digest, zone=zone) if digest else w._("instant")]
    if subscriber["quiet_start"]:
        start, end = subscriber["quiet_start"], subscriber["quiet_end"]
        if subscriber["quiet_allows_banned"]:
            quiet = w._("quiet %(start)s–%(end)s (%(zone)s, bans still come through)", start=start, end=end, zone=zone)
        else:
            quiet = w._("quiet %(start)s–%(end)s (%(zone)s)", start=start, end=end, zone=zone)
        parts.append(quiet)
    if subscriber["muted_until"] and subscriber["muted_until"] > stamp(now):
        parts.append(w._("muted until %(moment)s UTC", moment=subscriber["muted_until"][:16].replace("T", " ")))
    return esc(w._("Delivery: %(modes)s.", modes="; ".join(parts)))


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


def _released_note(count: int, w: Words) -> str:
    if not count:
        return ""
    return " " + w.ngettext("%(n)s held alert is on its way.", "%(n)s held alerts are on their way.", count)


def digest_answer(services: Services, chat: Chat, args: Sequence[str], w: Words | None = None) -> str:
    """Set or clear the daily digest."""
    w = w or i18n.words()
    words = check_arguments(args, DIGEST_USAGE, at_least=1)
    row = _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_digest(services.db, chat.id, None, None)
        return w._("Instant alerts again.") + _released_note(_retime(services, chat.id), w)
    if len(words) > 2:
        raise UsageError(DIGEST_USAGE)
    at = parse_clock(words[0])
    timezone = known_time_zone(words[1]) if len(words) == 2 else row["timezone"]
    set_digest(services.db, chat.id, clock_text(at), timezone)
    _retime(services, chat.id)
    digest = w._(
        "Daily digest at %(time)s (%(zone)s): the day's changes in one message. /digest off for instant alerts.",
        time=clock_text(at),
        zone=esc(timezone),
    )
    moved = ""
    if row["quiet_start"] and timezone != row["timezone"]:  # the chat has one time zone: its quiet hours move too
        moved = " " + w._(
            "Quiet hours %(start)s–%(end)s now follow %(zone)s too.",
            start=row["quiet_start"], end=row["quiet_end"], zone=esc(timezone),
        )  # fmt: skip
    return f"🗞 {digest}{moved}"


def quiet_answer(services: Services, chat: Chat, args: Sequence[str], w: Words | None = None) -> str:
    """Set or clear quiet hours."""
    w = w or i18n.words()
    words = check_arguments(args, QUIET_USAGE, at_least=1)
    row = _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_quiet(services.db, chat.id, None, None, allow_banned=False)
        return w._("No quiet hours.") + _released_note(_retime(services, chat.id), w)
    start, end = parse_window(words[0])
    allow_banned, zone_name = _quiet_options(words[1:])
    timezone = known_time_zone(zone_name) if zone_name else row["timezone"]
    set_quiet(services.db, chat.id, clock_text(start), clock_text(end), allow_banned, timezone=timezone)
    released = _released_note(_retime(services, chat.id), w)
    if row["digest_at"] and timezone != row["timezone"]:  # the chat has one time zone: its digest moves too
        released += " " + w._(
            "The digest at %(time)s now follows %(zone)s too.", time=row["digest_at"], zone=esc(timezone)
        )
    banned = w._(" Bans still come through.") if allow_banned else w._(" Add 'banned' to let bans through.")
    quiet = w._(
        "Quiet hours %(start)s–%(end)s (%(zone)s): alerts wait until %(end)s.",
        start=clock_text(start),
        end=clock_text(end),
        zone=esc(timezone),
    )
    return f"🌙 {quiet}{banned}{released}"


def _quiet_options(words: Sequence[str]) -> tuple[bool, str | None]:
    """What may follow the window, in either order: 'banned', and a time zone."""
    banned = [word for word in words if word.lower() == BANNED]
    zones = [word for word in words if word.lower() != BANNED]
    if len(banned) > 1 or len(zones) > 1:
        raise UsageError(QUIET_USAGE)
    return bool(banned), zones[0] if zones else None


def mute_answer(services: Services, chat: Chat, args: Sequence[str], w: Words | None = None) -> str:
    """Mute for a while, or unmute."""
    w = w or i18n.words()
    words = check_arguments(args, MUTE_USAGE, at_least=1)
    _chat_row(services, chat)
    if words[0].lower() == OFF:
        set_muted_until(services.db, chat.id, None)
        return w._("Unmuted.") + _released_note(_retime(services, chat.id), w)
    until = services.clock() + parse_duration("".join(words))
    set_muted_until(services.db, chat.id, stamp(until))
    released = _released_note(_retime(services, chat.id), w)
    muted = w._(
        "Muted until %(moment)s UTC: alerts wait until then. /mute off to unmute.",
        moment=until.strftime("%Y-%m-%d %H:%M"),
    )
    return f"🔕 {muted}{released}"


def settings_command(
    command: str, answer: Answer, usage: str
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """A handler that lets private chats and group admins change a setting, answering problems with usage."""

    async def handle(update: Update, context: Context) -> None:
        """Change one delivery setting of this chat."""
        chat, services = update.effective_chat, context.bot_data.services
        w = chat_words(update, services)
        if chat is None or await refuse_non_admin(update, context, f"/{command}", w):
            return
        try:
            reply = answer(services, chat, context.args or [], w)
        except UsageError as problem:
            await reply_problem(update, problem, w=w)
            return
        except ValueError as problem:
            await reply_problem(update, problem, translate_lines(w, usage), w)
            return
        await reply_html(update, reply)

    handle.__name__ = command
    return handle


digest = settings_command("digest", digest_answer, DIGEST_USAGE)
quiet = settings_command("quiet", quiet_answer, QUIET_USAGE)
mute = settings_command("mute", mute_answer, MUTE_USAGE)
