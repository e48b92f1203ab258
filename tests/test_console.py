"""Console mode: the local Bot API writes what a chat would show, buttons included."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.console import CONSOLE_CHAT_ID, ConsoleRequest, buttons_text, chat_in_terminal, command_update
from bot.domain.i18n import words

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # any bytes: the console writes what it is sent


def test_a_typed_command_becomes_a_bot_command_update() -> None:
    update = command_update("/exposure japan autos", 3, NOW)
    message = update["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 9}]
    assert message["chat"]["id"] == CONSOLE_CHAT_ID and message["text"] == "/exposure japan autos"
    assert command_update("hello", 4, NOW)["message"]["entities"] == []


def test_buttons_are_listed_since_they_cannot_be_pressed() -> None:
    markup = {"inline_keyboard": [[{"text": "autos", "callback_data": "s:JP:autos"}], [{"text": "evs"}]]}
    assert buttons_text(markup).startswith("\n[autos] · [evs]\n")
    assert buttons_text(json.dumps(markup)).startswith("\n[autos] · [evs]\n")
    assert buttons_text(None) == ""
    assert buttons_text(markup, lambda: words("ja")).endswith(
        "\n（ここではボタンを押せません。選んだ内容でコマンドを入力してください）"
    )


async def test_a_sent_message_is_written_as_plain_text() -> None:
    written: list[str] = []
    async with Bot("0:console", request=ConsoleRequest(written.append)) as bot:
        sent = await bot.send_message(CONSOLE_CHAT_ID, "<b>Gallium</b> &amp; germanium", parse_mode="HTML")
        await bot.send_message(42, "alert")
    assert sent.text == "<b>Gallium</b> &amp; germanium"
    assert written == ["Gallium & germanium\n", "[to chat 42] alert\n"]


async def test_a_sent_photo_is_written_to_the_charts_folder_with_its_path(tmp_path: Path) -> None:
    written: list[str] = []
    charts = tmp_path / "charts"
    async with Bot("0:console", request=ConsoleRequest(written.append, charts=charts)) as bot:
        await bot.send_photo(CONSOLE_CHAT_ID, PNG, caption="<b>Gallium</b>: levels", parse_mode="HTML")
    [picture] = list(charts.iterdir())
    assert picture.read_bytes() == PNG
    assert written == [f"Gallium: levels\nChart: {picture}\n"]


class Session:
    """What the console's loop meets: lines typed (then the end of input), and an application that takes them."""

    bot = None  # Update.de_json reads it: no bot is needed to build a typed update

    def __init__(self, lines: list[str]) -> None:
        self.events: list[str] = []
        self._lines: Iterator[str] = iter([*lines, ""])

    async def read(self) -> str:
        return next(self._lines)

    async def process_update(self, update: Any) -> None:
        self.events.append(f"update {update.message.text}")

    def prompt(self) -> None:
        self.events.append("prompt")


async def test_a_terminal_shows_a_prompt_before_each_line_and_echoes_nothing() -> None:
    session = Session(["/status gallium\n", "\n", "/help\n"])
    await chat_in_terminal(session, session.events.append, session.read, terminal=True, prompt=session.prompt)
    assert session.events == ["prompt", "update /status gallium", "prompt", "prompt", "update /help", "prompt"]


async def test_piped_commands_are_echoed_and_no_prompt_is_shown() -> None:
    session = Session(["/status gallium\n"])
    await chat_in_terminal(session, session.events.append, session.read, terminal=False, prompt=session.prompt)
    assert session.events == ["» /status gallium", "update /status gallium"]
