"""The one error handler, and the answers to commands the bot does not know and to plain words in a private chat."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.domain.html import esc
from bot.domain.i18n import Words, words
from handlers.context import Context, chat_words, command_for
from handlers.replies import reply_html

logger = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its traceback first; then tell the user something went wrong on our side."""
    logger.error("handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        w = _words_or_english(update, context)
        await reply_html(update, w._("Something went wrong on our side; it has been logged. Please try again."))


def _words_or_english(update: Update, context: Context) -> Words:
    """The chat's language, or English where even that cannot be read (the failure may be the database's)."""
    try:
        return chat_words(update, context.bot_data.services)
    except Exception:  # the failure being reported is already logged; the apology must still go out
        logger.debug("the chat's language could not be read", exc_info=True)
        return words()


def unknown_command_handler(known: list[str]) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """A handler for '/something' the bot does not have, suggesting the closest commands."""

    async def unknown_command(update: Update, context: Context) -> None:
        """Answer an unknown command with the closest known ones; a command for another bot is not ours."""
        message = update.effective_message
        if message is None or not message.text:
            return
        typed = command_for(message.text, context.bot.username or "")
        if typed is None:
            return
        typed = typed[:40]
        closest = difflib.get_close_matches(typed.lower(), known, n=2, cutoff=0.5)
        w = chat_words(update, context.bot_data.services)
        if closest:
            names = w.listing(["/" + name for name in closest])
            answer = w._(
                "Unknown command /%(command)s. Did you mean %(names)s? /help lists every command.",
                command=typed,
                names=names,
            )
        else:
            answer = w._("Unknown command /%(command)s. /help lists every command.", command=typed)
        await reply_html(update, esc(answer))

    return unknown_command


async def plain_text(update: Update, context: Context) -> None:
    """Answer words that are no command, in a private chat, with what the bot does answer."""
    w = chat_words(update, context.bot_data.services)
    await reply_html(
        update, esc(w._("I answer commands: try /exposure japan autos or /status gallium; /help lists them all."))
    )
