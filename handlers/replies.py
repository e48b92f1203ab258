"""Sending replies: HTML split to Telegram's limit, and problems answered plainly and escaped."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Update

from bot.domain.html import esc, split_message
from bot.domain.i18n import Words, language_of, translate_lines, words
from bot.domain.labels import KIND_WORDS, word
from bot.domain.problems import Problem
from bot.domain.vocab import UnknownTerm

logger = logging.getLogger(__name__)


async def reply_html(update: Update, message: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply in as many messages as the text needs; buttons go under the last one."""
    if update.effective_message is None:
        return
    parts = split_message(message)
    for index, part in enumerate(parts):
        buttons = markup if index == len(parts) - 1 else None
        await update.effective_message.reply_html(part, disable_web_page_preview=True, reply_markup=buttons)


async def reply_answer(
    update: Update,
    answer: Callable[[], str],
    hint: Callable[[Exception], str] | None = None,
    w: Words | None = None,
) -> None:
    """Reply with an answer, or, when the input was wrong (usage, unknown names), with what was wrong."""
    try:
        text = answer()
    except ValueError as problem:  # UsageError and UnknownTerm are ValueErrors; anything else is a bug
        await reply_problem(update, problem, hint(problem) if hint else "", w)
        return
    await reply_html(update, text)


def asked_by_admin(update: Update, admins: frozenset[int]) -> bool:
    """Whether one of the bot's admins sent this update."""
    return update.effective_user is not None and update.effective_user.id in admins


def admin_in_private(update: Update, admins: frozenset[int]) -> bool:
    """An admin asking in a private chat with the bot: where details meant for admins only may be shown."""
    chat = update.effective_chat
    return asked_by_admin(update, admins) and chat is not None and chat.type == "private"


async def refuse_unless_admin(update: Update, admins: frozenset[int], command: str, w: Words | None = None) -> bool:
    """Refuse (and log) an admin command from anyone else; True when refused."""
    if asked_by_admin(update, admins):
        return False
    user = update.effective_user.id if update.effective_user else None
    logger.warning("refused /%s from user %s: not an admin", command, user)
    await reply_html(update, (w or words())._("Only the bot's admins can use /%(command)s.", command=command))
    return True


def problem_text(problem: Exception, w: Words) -> str:
    """What was wrong with the input, in the reader's language (usage lines from the catalogs)."""
    if isinstance(problem, UnknownTerm):
        shown = problem.text if len(problem.text) <= 40 else problem.text[:40] + "…"
        text = w._("Unknown %(kind)s '%(text)s'.", kind=word(w, KIND_WORDS, problem.label), text=shown)
        if problem.suggestions:
            names = problem.localized.get(w.language, problem.suggestions)
            text += w._(" Closest: %(names)s.", names=w.listing(names))
        return text
    text = w._(problem.message, **problem.values) if isinstance(problem, Problem) else translate_lines(w, str(problem))
    return text[0].upper() + text[1:] if text else w._("That did not work.")


async def reply_problem(update: Update, problem: Exception, hint: str = "", w: Words | None = None) -> None:
    """Tell the user what was wrong with their input, and the closest valid choice."""
    text = problem_text(problem, w or words())
    await reply_html(update, esc(f"{text}\n{hint}".strip()))


async def slow_down(update: Update, seconds: float) -> None:
    """The one answer to a sender past the command budget; the commands after it get none until it has room."""
    user = update.effective_user
    w = words(language_of(user.language_code if user else None))
    text = w._(
        "Slow down: too many commands at once. I will answer again in %(seconds)s s.",
        seconds=max(1, math.ceil(seconds)),
    )
    if update.callback_query is not None:
        await update.callback_query.answer(text)
        return
    await reply_html(update, esc(text))
