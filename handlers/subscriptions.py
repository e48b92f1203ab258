"""/subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL], /subscriptions and /unsubscribe N|all.

In groups only the group's administrators change its subscriptions. `/subscribe COUNTRY` alone answers with
an inline keyboard of sectors; a button press subscribes (callback data `sub:COUNTRY:SECTOR:MATERIAL:LEVEL`).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain import i18n
from bot.domain.html import esc
from bot.domain.i18n import N_, Words
from bot.domain.labels import level_name
from bot.domain.ladder import Level, parse_level
from bot.domain.subscription import Subscription, lapsed_note
from bot.domain.vocab import Kind, Vocabulary
from handlers.chat_rights import refuse_non_admin
from handlers.context import Context, Services, UsageError, chat_words, check_arguments, split_leading
from handlers.modes import modes_line
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

SUBSCRIBE_USAGE = (
    N_("Usage: /subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL]")
    + "\n"
    + N_("Examples: /subscribe japan autos, /subscribe all gallium, /subscribe japan min restricted")
)
UNSUBSCRIBE_USAGE = N_("Usage: /unsubscribe N|all (N from /subscriptions)") + "\n" + N_("Example: /unsubscribe 2")
CALLBACK_PREFIX = "sub"
CALLBACK_PATTERN = r"^sub:"
KEYBOARD_COLUMNS = 2


def callback_data(subscription: Subscription) -> str:
    """The button payload for this subscription (well under Telegram's 64 bytes)."""
    return ":".join([CALLBACK_PREFIX, *(str(part) for part in subscription.key)])


def picks_sector(subscription: Subscription) -> bool:
    """Nothing but a country: offer the keyboard of sectors."""
    return subscription == Subscription(subscription.country)


def parse_subscribe(vocabulary: Vocabulary, args: Sequence[str]) -> Subscription:
    """Read `COUNTRY [SECTOR|MATERIAL] [min LEVEL]`; UsageError or UnknownTerm when it does not fit."""
    words = check_arguments(args, SUBSCRIBE_USAGE, at_least=1)
    words, min_level = _split_minimum(words)
    if not words:
        raise UsageError(SUBSCRIBE_USAGE)
    country, rest = split_leading(vocabulary, Kind.COUNTRY, words)
    if not rest:
        return Subscription(country, min_level=min_level)
    text = " ".join(rest)
    sector = vocabulary.lookup(Kind.SECTOR, text)
    if sector is not None:
        return Subscription(country, sector=sector, min_level=min_level)
    material = vocabulary.lookup(Kind.MATERIAL, text)
    if material is not None:
        return Subscription(country, material=material, min_level=min_level)
    named = [(Kind.SECTOR, c) for c in vocabulary.suggest(Kind.SECTOR, text, 2)]
    named += [(Kind.MATERIAL, c) for c in vocabulary.suggest(Kind.MATERIAL, text, 2)]
    raise vocabulary.unknown(Kind.SECTOR, text, named, label="sector or material")


def _split_minimum(words: list[str]) -> tuple[list[str], int]:
    lowered = [word.lower() for word in words]
    if "min" not in lowered:
        return words, 0
    at = lowered.index("min")
    if at != len(words) - 2:
        raise UsageError(N_("'min' takes one level at the end.") + "\n" + SUBSCRIBE_USAGE)
    return words[:at], int(parse_level(words[at + 1]))


def parse_callback(vocabulary: Vocabulary, data: str) -> Subscription:
    """A keyboard button's subscription; ValueError for data this bot did not make."""
    parts = data.split(":")
    if len(parts) != 5 or parts[0] != CALLBACK_PREFIX or not (parts[4].isascii() and parts[4].isdecimal()):
        raise ValueError(N_("not a subscription button"))
    _, country, sector, material, level = parts
    known = (
        country in vocabulary.countries
        and (not sector or sector in vocabulary.sectors)
        and (not material or material in vocabulary.materials)
        and int(level) in Level._value2member_map_
    )
    if not known:
        raise ValueError(N_("an out-of-date subscription button"))
    return Subscription(country, sector, material, int(level))


def describe(vocabulary: Vocabulary, subscription: Subscription, w: Words | None = None) -> str:
    """'Japan · autos', 'all destinations · gallium · restricted and up' (escaped), in the reader's language."""
    w = w or i18n.words()
    country = vocabulary.display(Kind.COUNTRY, subscription.country, w.language)
    if subscription.sector:
        what = vocabulary.display(Kind.SECTOR, subscription.sector, w.language)
    elif subscription.material:
        what = vocabulary.display(Kind.MATERIAL, subscription.material, w.language)
    else:
        what = w._("every material")
    if subscription.min_level:
        level = level_name(w, subscription.min_level)
        return esc(w._("%(country)s · %(what)s · %(level)s and up", country=country, what=what, level=level))
    return esc(f"{country} · {what}")


def subscribe_chat(
    services: Services, chat_id: int, chat_type: str, title: str | None, wanted: Subscription, w: Words | None = None
) -> str:
    """Store the subscription (and the chat); the confirmation to send."""
    w = w or i18n.words()
    outcome = store_subscription(services, chat_id, chat_type, title, wanted, w.language)
    return confirmation(services.vocabulary, wanted, outcome, w) + _lapsed(services, wanted, w)


def _lapsed(services: Services, wanted: Subscription, w: Words | None = None) -> str:
    """Suspensions already run out on what the subscription follows (see bot.domain.subscription)."""
    return lapsed_note(wanted, services.status_book(), services.vocabulary, services.table, w)


def store_subscription(
    services: Services,
    chat_id: int,
    chat_type: str,
    title: str | None,
    wanted: Subscription,
    language: str | None = None,
) -> str:
    """Store the subscription (and the chat, with the language its reader's Telegram app shows): 'added', 'updated'
    (a new minimum level) or 'unchanged'."""
    now = stamp(services.clock())
    save_subscriber(services.db, chat_id, chat_type, title, services.timezone, now, language)
    return add_subscription(services.db, chat_id, *wanted.key, now)


def confirmation(vocabulary: Vocabulary, wanted: Subscription, outcome: str, w: Words | None = None) -> str:
    """What to say once a subscription is stored, changed, or was there already."""
    w = w or i18n.words()
    name = describe(vocabulary, wanted, w)
    if outcome == "unchanged":
        return w._("You are already subscribed to %(name)s. /subscriptions lists yours.", name=name)
    if outcome == "updated":
        return "✏️ " + w._(
            "Updated: <b>%(name)s</b> replaces your subscription to the same at another level.", name=name
        )
    return "✅ " + w._(
        "Subscribed to <b>%(name)s</b>: you will hear within minutes when a status that matters to it tightens or "
        "eases. /subscriptions lists yours.",
        name=name,
    )


def sector_keyboard(vocabulary: Vocabulary, country: str, w: Words | None = None) -> InlineKeyboardMarkup:
    """One button per sector, and one for every material."""
    w = w or i18n.words()
    buttons = [
        _button(vocabulary.display(Kind.SECTOR, code, w.language), Subscription(country, sector=code))
        for code in vocabulary.sectors
    ]
    rows = [buttons[i : i + KEYBOARD_COLUMNS] for i in range(0, len(buttons), KEYBOARD_COLUMNS)]
    rows.append([_button(w._("Every material"), Subscription(country))])
    return InlineKeyboardMarkup(rows)


def _button(label: str, wanted: Subscription) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callback_data(wanted))


def subscriptions_answer(services: Services, chat_id: int, w: Words | None = None) -> str:
    """The HTML reply to /subscriptions: numbered, with the delivery mode."""
    w = w or i18n.words()
    rows = subscriptions_of(services.db, chat_id)
    if not rows:
        return w._(
            "No subscriptions yet. Try <code>/subscribe japan autos</code> or <code>/subscribe all gallium</code>."
        )
    lines = [
        f"{number}. {describe(services.vocabulary, Subscription.from_row(row), w)}"
        for number, row in enumerate(rows, 1)
    ]
    modes = modes_line(get_subscriber(services.db, chat_id), services.clock(), w)
    footer = [modes, w._("Remove one with /unsubscribe N, or /unsubscribe all.")]
    return "\n".join(["<b>" + w._("Subscriptions") + "</b>", *lines, "", *footer])


def unsubscribe_answer(services: Services, chat_id: int, args: Sequence[str], w: Words | None = None) -> str:
    """Remove subscription N (as /subscriptions numbers them) or all of them."""
    w = w or i18n.words()
    words = check_arguments(args, UNSUBSCRIBE_USAGE, at_least=1)
    if len(words) != 1:
        raise UsageError(UNSUBSCRIBE_USAGE)
    if words[0].lower() == "all":
        removed = remove_all_subscriptions(services.db, chat_id)
        if not removed:
            return w._("There were no subscriptions to remove.")
        return w.ngettext("Removed %(n)s subscription.", "Removed all %(n)s subscriptions.", removed)
    rows = subscriptions_of(services.db, chat_id)
    if not rows:
        return w._("There are no subscriptions to remove. Try /subscribe japan autos.")
    number = words[0]
    if not (number.isascii() and number.isdecimal()) or not 1 <= int(number) <= len(rows):
        wrong = w._("N must be a number from /subscriptions (1 to %(count)s).", count=len(rows))
        raise UsageError(f"{wrong}\n{UNSUBSCRIBE_USAGE}")
    row = rows[int(number) - 1]
    remove_subscription(services.db, chat_id, row["id"])
    return w._("Removed: %(subscription)s.", subscription=describe(services.vocabulary, Subscription.from_row(row), w))


# ---- handlers -----------------------------------------------------------------------------------------------


async def subscribe(update: Update, context: Context) -> None:
    """Answer /subscribe COUNTRY [SECTOR|MATERIAL] [min LEVEL]."""
    services, chat = context.bot_data.services, update.effective_chat
    w = chat_words(update, services)
    if chat is None or await refuse_non_admin(update, context, "/subscribe", w):
        return
    try:
        wanted = parse_subscribe(services.vocabulary, context.args or [])
    except (UsageError, ValueError) as problem:
        await reply_problem(update, problem, w=w)
        return
    if picks_sector(wanted) and update.effective_message is not None:
        country = esc(services.vocabulary.display(Kind.COUNTRY, wanted.country, w.language))
        await update.effective_message.reply_html(
            w._("Which sectors of %(country)s? (or every material)", country=country),
            reply_markup=sector_keyboard(services.vocabulary, wanted.country, w),
        )
        return
    await reply_html(update, subscribe_chat(services, chat.id, chat.type, chat.title, wanted, w))


async def subscribe_button(update: Update, context: Context) -> None:
    """A press on the /subscribe keyboard."""
    query, chat, services = update.callback_query, update.effective_chat, context.bot_data.services
    w = chat_words(update, services)
    if query is None or chat is None or await refuse_non_admin(update, context, "subscribe button", w):
        return
    try:
        wanted = parse_callback(services.vocabulary, query.data or "")
    except ValueError as problem:
        await query.answer(w._(str(problem)))
        return
    outcome = store_subscription(services, chat.id, chat.type, chat.title, wanted, w.language)
    answers = {"added": w._("Subscribed"), "updated": w._("Updated")}
    await query.answer(answers.get(outcome, w._("Already subscribed")))
    await query.edit_message_text(confirmation(services.vocabulary, wanted, outcome, w) + _lapsed(services, wanted, w))


async def subscriptions(update: Update, context: Context) -> None:
    """Answer /subscriptions."""
    services = context.bot_data.services
    if update.effective_chat is not None:
        w = chat_words(update, services)
        await reply_html(update, subscriptions_answer(services, update.effective_chat.id, w))


async def unsubscribe(update: Update, context: Context) -> None:
    """Answer /unsubscribe N|all."""
    chat, services = update.effective_chat, context.bot_data.services
    w = chat_words(update, services)
    if chat is None or await refuse_non_admin(update, context, "/unsubscribe", w):
        return
    try:
        answer = unsubscribe_answer(services, chat.id, context.args or [], w)
    except UsageError as problem:
        await reply_problem(update, problem, w=w)
        return
    await reply_html(update, answer)
