"""/start and /help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from telegram import Update

from bot.domain.html import esc
from bot.domain.i18n import Words, words
from handlers.context import Context, chat_words
from handlers.replies import reply_html


class CommandInfo(Protocol):
    """What /help shows of a command."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def example(self) -> str: ...
    @property
    def admin(self) -> bool: ...
    @property
    def arguments(self) -> str: ...


def intro(w: Words) -> str:
    """What the bot is, in two lines."""
    return w._(
        "<b>Chokepoint</b> watches the chokepoints of critical-mineral supply — China's export controls on rare "
        "earths, gallium, germanium, graphite, antimony and more — and tells you when a status tightens or eases, "
        "and how exposed you are."
    )


def help_text(commands: Sequence[CommandInfo], w: Words | None = None) -> str:
    """Every command with an example, in the reader's language."""
    w = w or words()
    lines = [intro(w), "", "<b>" + w._("Commands") + "</b>"]
    for command in commands:
        usage = f"/{command.name} {esc(command.arguments)}".rstrip()
        description = esc(w._(command.description))
        if command.admin:
            description = w._("%(description)s (admins)", description=description)
        lines.append(f"<b>{usage}</b> — {description}")
        if command.example != f"/{command.name}":
            example = "<code>" + esc(command.example) + "</code>"
            lines.append("    " + w._("e.g. %(example)s", example=example))
    lines += [
        "",
        w._("Countries by name, code or native name (japan, JP, 日本); materials likewise (gallium, Ga, 镓)."),
        w._("Replies in English, Japanese or Chinese: /language en|ja|zh."),
    ]
    return "\n".join(lines)


async def start(update: Update, context: Context) -> None:
    """Greet and point at the first useful commands."""
    w = chat_words(update, context.bot_data.services)
    hint = w._("Try <code>/exposure japan autos</code> or <code>/status gallium</code>. /help lists everything.")
    await reply_html(update, f"{intro(w)}\n\n{hint}")
