"""Sending replies: HTML split to Telegram's limit, and problems answered plainly and escaped."""

from __future__ import annotations

from telegram import Update

from bot.render import esc, split_message


async def reply_html(update: Update, message: str) -> None:
    """Reply in as many messages as the text needs."""
    if update.effective_message is None:
        return
    for part in split_message(message):
        await update.effective_message.reply_html(part, disable_web_page_preview=True)


async def reply_problem(update: Update, problem: Exception, hint: str = "") -> None:
    """Tell the user what was wrong with their input, and the closest valid choice."""
    text = str(problem)
    text = text[0].upper() + text[1:] if text else "That did not work."
    await reply_html(update, esc(f"{text}\n{hint}".strip()))
