"""Who may change a chat's settings: anyone in a private chat; in a group or channel, its administrators.

Telegram is asked for a chat's administrators at most once a minute per chat (`ChatAdmins` caches them); a
member refused is logged each time and answered once an hour.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType

from bot.domain.i18n import Words
from handlers.context import Context, chat_words, sender_of
from handlers.replies import reply_html

logger = logging.getLogger(__name__)


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


def refusal_text(w: Words, command: str, channel: bool) -> str:
    """Why a member who is not an admin cannot change this: the chat's subscriptions, or its language."""
    if command == "/language":
        if channel:
            return w._("Only the channel's admins can change its language.")
        return w._("Only the group's admins can change its language.")
    if channel:
        return w._("Only the channel's admins can change its subscriptions.")
    return w._("Only the group's admins can change its subscriptions.")


async def refuse_non_admin(update: Update, context: Context, command: str, w: Words | None = None) -> bool:
    """True when a member who is not an admin tries to change a group's or channel's settings: logged each time,
    answered once an hour in that chat (a button press always gets its answer, which only the presser sees)."""
    if await may_change(update, context):
        return False
    chat, sender = update.effective_chat, sender_of(update) or 0
    chat_id = chat.id if chat is not None else 0
    logger.warning("refused %s from %s in chat %s: not an admin of the chat", command, sender, chat_id)
    services = context.bot_data.services
    channel = chat is not None and chat.type == ChatType.CHANNEL
    refusal = refusal_text(w or chat_words(update, services), command, channel)
    if update.callback_query is not None:
        await update.callback_query.answer(refusal)
    elif services.chat_admins.first_refusal(chat_id, sender, services.clock().timestamp()):
        await reply_html(update, refusal)
    return True
