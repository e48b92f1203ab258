"""The chat commands: one list that registers the handlers, fills the command menu and writes /help."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.domain.i18n import N_
from handlers import charts, deliveries, desk, exposure, info, language, modes, sources, status, subscriptions
from handlers.context import Context, chat_words
from handlers.replies import reply_html

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command: its name, handler, a one-line description, an example and its arguments."""

    name: str
    callback: Callback
    description: str  # a message id: shown in the reader's language
    example: str
    admin: bool = False
    arguments: str = ""
    channels: bool = False  # also run from a channel's posts (the channel's own settings)


def commands() -> list[Command]:  # fmt: skip
    """Every chat command, in the order /help shows them."""
    return [
        Command(
            "exposure",
            exposure.exposure,
            N_("how exposed a country's sector is"),
            "/exposure japan autos",
            arguments="COUNTRY [SECTOR]",
        ),
        Command(
            "status", status.status, N_("export controls in force"), "/status gallium", arguments="[COUNTRY|MATERIAL]"
        ),
        Command(
            "history",
            status.history,
            N_("how statuses moved, newest first"),
            "/history japan 5",
            arguments="[COUNTRY|MATERIAL] [N]",
        ),
        Command(
            "chart", charts.chart, N_("controls over time as a picture"), "/chart gallium", arguments="COUNTRY|MATERIAL"
        ),
        Command("sources", sources.sources, N_("the tracked sources and their health"), "/sources"),
        Command("latest", sources.latest, N_("the newest items from the sources"), "/latest 5", arguments="[N]"),
        Command(
            "checknow",
            sources.checknow,
            N_("check every source (or one) now"),
            "/checknow",
            admin=True,
            arguments="[SOURCE]",
        ),
        Command(
            "subscribe",
            subscriptions.subscribe,
            N_("alerts when what you watch moves"),
            "/subscribe japan autos",
            arguments="COUNTRY [SECTOR|MATERIAL] [min LEVEL]",
            channels=True,
        ),
        Command(
            "subscriptions",
            subscriptions.subscriptions,
            N_("your subscriptions, numbered"),
            "/subscriptions",
            channels=True,
        ),
        Command(
            "unsubscribe",
            subscriptions.unsubscribe,
            N_("remove subscription N, or all"),
            "/unsubscribe 1",
            arguments="N|all",
            channels=True,
        ),
        Command(
            "digest",
            modes.digest,
            N_("one message a day instead of instant alerts"),
            "/digest 08:00",
            arguments="HH:MM [TIMEZONE]|off",
            channels=True,
        ),
        Command(
            "quiet",
            modes.quiet,
            N_("hold alerts during quiet hours"),
            "/quiet 22:00-07:00",
            arguments="HH:MM-HH:MM [banned] [TIMEZONE]|off",
            channels=True,
        ),
        Command("mute", modes.mute, N_("hold alerts for a while"), "/mute 4h", arguments="DURATION|off", channels=True),
        Command("desk", desk.desk, N_("readings waiting for the desk to confirm or dismiss"), "/desk", admin=True),
        Command("failed", deliveries.failed, N_("deliveries that failed, and the outbox"), "/failed", admin=True),
        Command(
            "language",
            language.language,
            N_("the language of replies and alerts"),
            "/language ja",
            arguments="en|ja|zh",
            channels=True,
        ),
        Command("help", help_command, N_("every command with an example"), "/help"),
        Command("start", info.start, N_("what this bot does"), "/start"),
    ]


def button_handlers() -> list[tuple[str, Callback]]:
    """Inline-keyboard presses: (callback data pattern, handler)."""
    return [
        (subscriptions.CALLBACK_PATTERN, subscriptions.subscribe_button),
        (charts.CALLBACK_PATTERN, charts.chart_button),
        (desk.CALLBACK_PATTERN, desk.desk_button),
    ]


async def help_command(update: Update, context: Context) -> None:
    """List every command with an example."""
    await reply_html(update, info.help_text(commands(), chat_words(update, context.bot_data.services)))
