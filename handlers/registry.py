"""The chat commands: one list that registers the handlers, fills the command menu and writes /help."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from handlers import charts, deliveries, desk, exposure, info, modes, sources, status, subscriptions
from handlers.context import Context
from handlers.replies import reply_html

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command: its name, handler, a one-line description, an example and its arguments."""

    name: str
    callback: Callback
    description: str
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
            "how exposed a country's sector is",
            "/exposure japan autos",
            arguments="COUNTRY [SECTOR]",
        ),
        Command("status", status.status, "export controls in force", "/status gallium", arguments="[COUNTRY|MATERIAL]"),
        Command(
            "history",
            status.history,
            "how statuses moved, newest first",
            "/history japan 5",
            arguments="[COUNTRY|MATERIAL] [N]",
        ),
        Command(
            "chart", charts.chart, "controls over time as a picture", "/chart gallium", arguments="COUNTRY|MATERIAL"
        ),
        Command("sources", sources.sources, "the tracked sources and their health", "/sources"),
        Command("latest", sources.latest, "the newest items from the sources", "/latest 5", arguments="[N]"),
        Command(
            "checknow",
            sources.checknow,
            "check every source (or one) now",
            "/checknow",
            admin=True,
            arguments="[SOURCE]",
        ),
        Command(
            "subscribe",
            subscriptions.subscribe,
            "alerts when what you watch moves",
            "/subscribe japan autos",
            arguments="COUNTRY [SECTOR|MATERIAL] [min LEVEL]",
            channels=True,
        ),
        Command(
            "subscriptions",
            subscriptions.subscriptions,
            "your subscriptions, numbered",
            "/subscriptions",
            channels=True,
        ),
        Command(
            "unsubscribe",
            subscriptions.unsubscribe,
            "remove subscription N, or all",
            "/unsubscribe 1",
            arguments="N|all",
            channels=True,
        ),
        Command(
            "digest",
            modes.digest,
            "one message a day instead of instant alerts",
            "/digest 08:00",
            arguments="HH:MM [TIMEZONE]|off",
            channels=True,
        ),
        Command(
            "quiet",
            modes.quiet,
            "hold alerts during quiet hours",
            "/quiet 22:00-07:00",
            arguments="HH:MM-HH:MM [banned] [TIMEZONE]|off",
            channels=True,
        ),
        Command("mute", modes.mute, "hold alerts for a while", "/mute 4h", arguments="DURATION|off", channels=True),
        Command("desk", desk.desk, "readings waiting for the desk to confirm or dismiss", "/desk", admin=True),
        Command("failed", deliveries.failed, "deliveries that failed, and the outbox", "/failed", admin=True),
        Command("help", help_command, "every command with an example", "/help"),
        Command("start", info.start, "what this bot does", "/start"),
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
    await reply_html(update, info.help_text(commands()))
