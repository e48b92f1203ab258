"""/subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL], /subscriptions and /unsubscribe N|all.

In groups only the group's administrators change its subscriptions. `/subscribe COUNTRY` alone answers with
an inline keyboard of sectors; a button press subscribes (callback data `sub:COUNTRY:SECTOR:MATERIAL:LEVEL`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.domain.html import esc
from bot.domain.ladder import Level, parse_level
from bot.domain.vocab import Kind, UnknownTerm, Vocabulary
from handlers.context import Context, Services, UsageError, check_arguments, sender_of, split_leading
from handlers.replies import reply_html, reply_problem
from storage.outbox import stamp
from storage.subscribers import (
    add_subscription,
    get_subscriber,
    remove_all_subscriptions,
    remove_subscription,
    save_subscriber,
    subscriptions_of,
)

logger = logging.getLogger(__name__)

SUBSCRIBE_USAGE = (
    "Usage: /subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL]\n"
    "Examples: /subscribe japan autos, /subscribe all gallium, /subscribe japan min restricted"
)
UNSUBSCRIBE_USAGE = "Usage: /unsubscribe N|all (N from /subscriptions)\nExample: /unsubscribe 2"
CALLBACK_PREFIX = "sub"
CALLBACK_PATTERN = r"^sub:"
NOT_ADMIN = "Only the {kind}'s admins can change its subscriptions."
KEYBOARD_COLUMNS = 2


@dataclass(frozen=True, slots=True)
class Wanted:
    """A parsed /subscribe: a country, then a sector or a material or neither, and a minimum level."""

    country: str
    sector: str = ""
    material: str = ""
    min_level: int = 0
    pick_sector: bool = False  # nothing after the country: offer the keyboard

    def callback_data(self) -> str:
        """The button payload for this subscription (well under Telegram's 64 bytes)."""
        return f"{CALLBACK_PREFIX}:{self.country}:{self.sector}:{self.material}:{self.min_level}"


def parse_subscribe(vocabulary: Vocabulary, args: Sequence[str]) -> Wanted:
    """Read `COUNTRY [SECTOR|MATERIAL] [min LEVEL]`; UsageError or UnknownTerm when it does not fit."""
    words = check_arguments(args, SUBSCRIBE_USAGE, at_least=1)
    words, min_level = _split_minimum(words)
    if not words:
        raise UsageError(SUBSCRIBE_USAGE)
    country, rest = split_leading(vocabulary, Kind.COUNTRY, words)
    if not rest:
        return Wanted(country, min_level=min_level, pick_sector=min_level == 0)
    text = " ".join(rest)
    sector = vocabulary.lookup(Kind.SECTOR, text)
    if sector is not None:
        return Wanted(country, sector=sector, min_level=min_level)
    material = vocabulary.lookup(Kind.MATERIAL, text)
    if material is not None:
        return Wanted(country, material=material, min_level=min_level)
    suggestions = vocabulary.suggest(Kind.SECTOR, text, 2) + vocabulary.suggest(Kind.MATERIAL, text, 2)
    raise UnknownTerm(Kind.SECTOR, text, suggestions, label="sector or material")


def _split_minimum(words: list[str]) -> tuple[list[str], int]:
    lowered = [word.lower() for word in words]
    if "min" not in lowered:
        return words, 0
    at = lowered.index("min")
    if at != len(words) - 2:
        raise UsageError(f"'min' takes one level at the end.\n{SUBSCRIBE_USAGE}")
    return words[:at], int(parse_level(words[at + 1]))


def parse_callback(vocabulary: Vocabulary, data: str) -> Wanted:
    """A keyboard button's subscription; ValueError for data this bot did not make."""
    parts = data.split(":")
    if len(parts) != 5 or parts[0] != CALLBACK_PREFIX or not (parts[4].isascii() and parts[4].isdecimal()):
        raise ValueError("not a subscription button")
    _, country, sector, material, level = parts
    known = (
        country in vocabulary.countries
        and (not sector or sector in vocabulary.sectors)
        and (not material or material in vocabulary.materials)
        and int(level) in Level._value2member_map_
    )
    if not known:
        raise ValueError("an out-of-date subscription button")
    return Wanted(country, sector, material, int(level))


def describe(vocabulary: Vocabulary, subscription: Wanted | dict[str, Any]) -> str:
    """'Japan · autos', 'all destinations · gallium · restricted and up' (escaped)."""
    row = subscription if isinstance(subscription, dict) else _as_row(subscription)
    country = vocabulary.display(Kind.COUNTRY, row["country"])
    if row["sector"]:
        what = vocabulary.display(Kind.SECTOR, row["sector"])
    elif row["material"]:
        what = vocabulary.display(Kind.MATERIAL, row["material"])
    else:
        what = "every material"
    level = f" · {Level(row['min_level']).label} and up" if row["min_level"] else ""
    return esc(f"{country} · {what}{level}")


def _as_row(wanted: Wanted) -> dict[str, Any]:
    return {key: getattr(wanted, key) for key in ("country", "sector", "material", "min_level")}


def subscribe_chat(services: Services, chat_id: int, chat_type: str, title: str | None, wanted: Wanted) -> str:
    """Store the subscription (and the chat); the confirmation to send."""
    outcome = store_subscription(services, chat_id, chat_type, title, wanted)
    return confirmation(services.vocabulary, wanted, outcome) + lapsed_note(services, wanted)


def lapsed_note(services: Services, wanted: Wanted) -> str:
    """Suspensions already run out on what the subscription follows (their alert went out before it existed)."""
    if wanted.material:
        materials = [wanted.material]
    elif wanted.sector:
        materials = list(services.table.sectors[wanted.sector].needs)
    else:
        materials = list(services.vocabulary.materials)
    book = services.status_book()
    lapsed = {
        (status.lapsed, status.instrument or status.title)
        for material in materials
        for status in book.applicable(wanted.country, material)
        # a measure beneath a stronger one changes nothing for this country by coming back
        if status.lapsed and status.level >= book.level(wanted.country, material)
    }
    lines = [
        f"⏰ In force again since the suspension ran out on {until.isoformat()}, with no extension seen: {esc(name)}"
        for until, name in sorted(lapsed)
    ]
    return "\n\n" + "\n".join(lines) if lines else ""


def store_subscription(services: Services, chat_id: int, chat_type: str, title: str | None, wanted: Wanted) -> str:
    """Store the subscription (and the chat): 'added', 'updated' (a new minimum level) or 'unchanged'."""
    now = stamp(services.clock())
    save_subscriber(services.db, chat_id, chat_type, title, services.timezone, now)
    return add_subscription(services.db, chat_id, wanted.country, wanted.sector, wanted.material, wanted.min_level, now)


def confirmation(vocabulary: Vocabulary, wanted: Wanted, outcome: str) -> str:
    """What to say once a subscription is stored, changed, or was there already."""
    name = describe(vocabulary, wanted)
    if outcome == "unchanged":
        return f"You are already subscribed to {name}. /subscriptions lists yours."
    if outcome == "updated":
        return f"✏️ Updated: <b>{name}</b> replaces your subscription to the same at another level."
    return (
        f"✅ Subscribed to <b>{name}</b>: you will hear within minutes when a status that matters to it tightens "
        "or eases. /subscriptions lists yours."
    )


def sector_keyboard(vocabulary: Vocabulary, country: str) -> InlineKeyboardMarkup:
    """One button per sector, and one for every material."""
    buttons = [
        _button(vocabulary.display(Kind.SECTOR, code), Wanted(country, sector=code)) for code in vocabulary.sectors
    ]
    rows = [buttons[i : i + KEYBOARD_COLUMNS] for i in range(0, len(buttons), KEYBOARD_COLUMNS)]
    rows.append([_button("Every material", Wanted(country))])
    return InlineKeyboardMarkup(rows)


def _button(label: str, wanted: Wanted) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=wanted.callback_data())


def modes_line(subscriber: dict[str, Any] | None, now: dt.datetime) -> str:
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


def subscriptions_answer(services: Services, chat_id: int) -> str:
    """The HTML reply to /subscriptions: numbered, with the delivery mode."""
    rows = subscriptions_of(services.db, chat_id)
    if not rows:
        return "No subscriptions yet. Try <code>/subscribe japan autos</code> or <code>/subscribe all gallium</code>."
    lines = [f"{number}. {describe(services.vocabulary, row)}" for number, row in enumerate(rows, 1)]
    modes = modes_line(get_subscriber(services.db, chat_id), services.clock())
    footer = [modes, "Remove one with /unsubscribe N, or /unsubscribe all."]
    return "\n".join(["<b>Subscriptions</b>", *lines, "", *footer])


def unsubscribe_answer(services: Services, chat_id: int, args: Sequence[str]) -> str:
    """Remove subscription N (as /subscriptions numbers them) or all of them."""
    words = check_arguments(args, UNSUBSCRIBE_USAGE, at_least=1)
    if len(words) != 1:
        raise UsageError(UNSUBSCRIBE_USAGE)
    if words[0].lower() == "all":
        removed = remove_all_subscriptions(services.db, chat_id)
        return f"Removed all {removed} subscriptions." if removed else "There were no subscriptions to remove."
    rows = subscriptions_of(services.db, chat_id)
    if not rows:
        return "There are no subscriptions to remove. Try /subscribe japan autos."
    number = words[0]
    if not (number.isascii() and number.isdecimal()) or not 1 <= int(number) <= len(rows):
        raise UsageError(f"N must be a number from /subscriptions (1 to {len(rows)}).\n{UNSUBSCRIBE_USAGE}")
    row = rows[int(number) - 1]
    remove_subscription(services.db, chat_id, row["id"])
    return f"Removed: {describe(services.vocabulary, row)}."


# ---- who may change a chat's settings --------------------------------------------------------------------------


async def may_change(update: Update, context: Context) -> bool:
    """Anyone in a private chat; in a group or channel, its administrators (and what it posts as itself).

    A channel post that names its author is that author's; one that does not was posted as the channel, which
    only its admins can do. A button press is always its presser's."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    sender = sender_of(update)
    if sender == chat.id:  # posted as the chat itself: an anonymous group admin, or an unsigned channel post
        return True
    return sender is not None and sender in await chat_admins(context, chat.id)


async def chat_admins(context: Context, chat_id: int) -> frozenset[int]:
    """The chat's administrators: asked of Telegram at most once a minute per chat."""
    services = context.bot_data.services
    now = services.clock().timestamp()
    known = services.chat_admins.cached(chat_id, now)
    if known is None:
        members = await context.bot.get_chat_administrators(chat_id)
        known = frozenset(member.user.id for member in members)
        services.chat_admins.store(chat_id, known, now)
    return known


async def refuse_non_admin(update: Update, context: Context, command: str) -> bool:
    """True when a member who is not an admin tries to change a group's or channel's settings: logged each time,
    answered once an hour in that chat (a button press always gets its answer, which only the presser sees)."""
    if await may_change(update, context):
        return False
    chat, sender = update.effective_chat, sender_of(update) or 0
    chat_id = chat.id if chat is not None else 0
    logger.warning("refused %s from %s in chat %s: not an admin of the chat", command, sender, chat_id)
    refusal = NOT_ADMIN.format(kind="channel" if chat is not None and chat.type == ChatType.CHANNEL else "group")
    services = context.bot_data.services
    if update.callback_query is not None:
        await update.callback_query.answer(refusal)
    elif services.chat_admins.first_refusal(chat_id, sender, services.clock().timestamp()):
        await reply_html(update, refusal)
    return True


# ---- handlers -----------------------------------------------------------------------------------------------


async def subscribe(update: Update, context: Context) -> None:
    """Answer /subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL]."""
    services, chat = context.bot_data.services, update.effective_chat
    if chat is None or await refuse_non_admin(update, context, "/subscribe"):
        return
    try:
        wanted = parse_subscribe(services.vocabulary, context.args or [])
    except (UsageError, ValueError) as problem:
        await reply_problem(update, problem)
        return
    if wanted.pick_sector and update.effective_message is not None:
        country = esc(services.vocabulary.display(Kind.COUNTRY, wanted.country))
        await update.effective_message.reply_html(
            f"Which sectors of {country}? (or every material)",
            reply_markup=sector_keyboard(services.vocabulary, wanted.country),
        )
        return
    await reply_html(update, subscribe_chat(services, chat.id, chat.type, chat.title, wanted))


async def subscribe_button(update: Update, context: Context) -> None:
    """A press on the /subscribe keyboard."""
    query, chat, services = update.callback_query, update.effective_chat, context.bot_data.services
    if query is None or chat is None or await refuse_non_admin(update, context, "subscribe button"):
        return
    try:
        wanted = parse_callback(services.vocabulary, query.data or "")
    except ValueError as problem:
        await query.answer(str(problem))
        return
    outcome = store_subscription(services, chat.id, chat.type, chat.title, wanted)
    await query.answer({"added": "Subscribed", "updated": "Updated"}.get(outcome, "Already subscribed"))
    await query.edit_message_text(confirmation(services.vocabulary, wanted, outcome) + lapsed_note(services, wanted))


async def subscriptions(update: Update, context: Context) -> None:
    """Answer /subscriptions."""
    if update.effective_chat is not None:
        await reply_html(update, subscriptions_answer(context.bot_data.services, update.effective_chat.id))


async def unsubscribe(update: Update, context: Context) -> None:
    """Answer /unsubscribe N|all."""
    chat = update.effective_chat
    if chat is None or await refuse_non_admin(update, context, "/unsubscribe"):
        return
    try:
        answer = unsubscribe_answer(context.bot_data.services, chat.id, context.args or [])
    except UsageError as problem:
        await reply_problem(update, problem)
        return
    await reply_html(update, answer)
