"""/start and /help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from telegram import Update

from bot.domain.html import esc
from handlers.context import Context
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


INTRO = (
    "<b>Chokepoint</b> watches the chokepoints of critical-mineral supply — China's export controls on rare "
    "earths, gallium, germanium, graphite, antimony and more — and tells you when a status tightens or eases, "
    "and how exposed you are."
)


def help_text(commands: Sequence[CommandInfo]) -> str:
    """Every command with an example."""
    lines = [INTRO, "", "<b>Commands</b>"]
    for command in commands:
        suffix = " (admins)" if command.admin else ""
        usage = f"/{command.name} {esc(command.arguments)}".rstrip()
        lines.append(f"<b>{usage}</b> — {esc(command.description)}{suffix}")
        if command.example != f"/{command.name}":
            lines.append(f"    e.g. <code>{esc(command.example)}</code>")
    lines += [
        "",
        "Countries by name, code or native name (japan, JP, 日本); materials likewise (gallium, Ga, 镓).",
    ]
    return "\n".join(lines)


async def start(update: Update, context: Context) -> None:
    """Greet and point at the first useful commands."""
    await reply_html(
        update,
        f"{INTRO}\n\nTry <code>/exposure japan autos</code> or <code>/status gallium</code>. /help lists everything.",
    )
