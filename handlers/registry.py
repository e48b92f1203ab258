"""The chat commands: one list that registers the handlers, fills the command menu and writes /help."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from handlers import exposure, info, status
from handlers.context import Context
from handlers.replies import reply_html

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command: its name, handler, a one-line description and an example."""

    name: str
    callback: Callback
    description: str
    example: str
    admin: bool = False


def commands() -> list[Command]:
    """Every chat command, in the order /help shows them."""
    return [
        Command("exposure", exposure.exposure, "how exposed a country's sector is", "/exposure japan autos"),
        Command("status", status.status, "export controls in force", "/status gallium"),
        Command("history", status.history, "how statuses moved, newest first", "/history japan 5"),
        Command("help", help_command, "every command with an example", "/help"),
        Command("start", info.start, "what this bot does", "/start"),
    ]


async def help_command(update: Update, context: Context) -> None:
    """List every command with an example."""
    await reply_html(update, info.help_text(commands()))
