"""/desk and the desk's Confirm and Dismiss buttons: a person decides on unsure readings (docs/ARCHITECTURE.md,
"The desk"). The desk is the CHOKEPOINT_DESK chat, else the admins."""

from __future__ import annotations

import logging
import re

from telegram import Update

from bot.domain.desk import desk_list, outcome_line, press_answer
from bot.domain.i18n import N_
from bot.domain.values import CONFIRMED, DISMISSED, DeskChoice
from handlers.context import Context, Services, chat_words
from handlers.replies import reply_html
from storage.desk import pending_desk_items

logger = logging.getLogger(__name__)
CALLBACK_PATTERN = r"^desk:(confirmed|dismissed):\d+$"
NOT_FOR_YOU = N_("This is for the desk.")


def on_the_desk(services: Services, user_id: int | None, chat_id: int | None) -> bool:
    """Whether a person may decide for the desk: a member of the desk chat (the press comes from a message in
    it), or one of the admins."""
    if user_id is not None and user_id in services.admins:
        return True
    return chat_id is not None and chat_id in services.desk and chat_id not in services.admins


def who(update: Update) -> str:
    """How the decider is recorded: name and id."""
    user = update.effective_user
    if user is None:
        return "someone"
    name = f"@{user.username}" if user.username else user.full_name
    return f"{name} ({user.id})"


async def desk(update: Update, context: Context) -> None:
    """Answer /desk: what waits for a decision (the desk only)."""
    services, chat = context.bot_data.services, update.effective_chat
    user_id = update.effective_user.id if update.effective_user else None
    w = chat_words(update, services)
    if not on_the_desk(services, user_id, chat.id if chat else None):
        await reply_html(update, w._(NOT_FOR_YOU))
        return
    await reply_html(update, desk_list(pending_desk_items(services.db), w))


async def desk_button(update: Update, context: Context) -> None:
    """Confirm or Dismiss: the first press decides; the buttons then show the outcome and who chose it."""
    query, services = update.callback_query, context.bot_data.services
    if query is None:
        return
    user_id = update.effective_user.id if update.effective_user else None
    chat_id = query.message.chat.id if query.message is not None else None
    w = chat_words(update, services)
    if not on_the_desk(services, user_id, chat_id) or services.decide_desk is None:
        logger.warning("desk button refused for user %s in chat %s: %s", user_id, chat_id, query.data)
        await query.answer(w._(NOT_FOR_YOU), show_alert=True)
        return
    match = re.match(r"^desk:(confirmed|dismissed):(\d+)$", query.data or "")
    if match is None:
        await query.answer(w._("Unknown button."))
        return
    choice: DeskChoice = CONFIRMED if match[1] == CONFIRMED else DISMISSED
    decision = services.decide_desk(int(match[2]), choice, who(update))
    await query.answer(press_answer(decision, w))
    if query.message is not None and hasattr(query.message, "text_html"):
        text = query.message.text_html or ""
        await query.edit_message_text(f"{text}\n\n<b>{outcome_line(decision, w)}</b>", reply_markup=None)
