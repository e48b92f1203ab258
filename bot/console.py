"""Console mode: the real Application and handlers, with a terminal in place of the Telegram servers.

`ConsoleRequest` answers the Bot API calls locally (PTB's own extension point for transports), so
every reply, and every alert the delivery job sends, prints here exactly as it would reach a chat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.domain.datafiles import JsonObject
from bot.domain.html import to_plain
from bot.domain.i18n import Words, words

CONSOLE_CHAT_ID = 1
CONSOLE_USER = {"id": CONSOLE_CHAT_ID, "is_bot": False, "first_name": "console", "username": "console"}
BOT_USER = {
    "id": 999_000_001,
    "is_bot": True,
    "first_name": "Chokepoint",
    "username": "chokepoint_console_bot",
}

Writer = Callable[[str], None]
PROMPT = "» "


def print_line(text: str) -> None:
    """Write to the terminal at once (stdout may be a pipe)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class ConsoleRequest(BaseRequest):
    """A Bot API that lives in this process: sent messages are written to the terminal."""

    def __init__(self, write: Writer = print_line, charts: Path | None = None) -> None:
        self._write = write
        self._charts = charts or Path("charts")  # where pictures are written: a `charts/` folder beside the database
        self._message_ids = itertools.count(1)
        # The console chat's words (its /language), once the application that stores the choice is running.
        self.words: Callable[[], Words] = words

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call."""
        endpoint = url.rsplit("/", 1)[-1]
        parameters = request_data.parameters if request_data else {}
        if endpoint == "sendPhoto" and request_data is not None:
            result = self._show_photo(parameters, request_data)
        else:
            result = self._answer(endpoint, parameters)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, endpoint: str, parameters: JsonObject) -> Any:
        if endpoint == "getMe":
            return BOT_USER
        if endpoint in ("sendMessage", "editMessageText"):
            return self._show(parameters)
        if endpoint == "getUpdates":
            return []
        return True

    def _show_photo(self, parameters: JsonObject, request_data: RequestData) -> JsonObject:
        """Write the picture to the charts folder and print its caption and path."""
        picture = next((part[1] for part in request_data.multipart_data.values()), b"")
        content = picture if isinstance(picture, bytes) else picture.read()
        self._charts.mkdir(parents=True, exist_ok=True)
        path = self._charts / f"chart-{hashlib.sha256(content).hexdigest()[:12]}.png"
        path.write_bytes(content)
        caption = {**parameters, "text": parameters.get("caption", "")}
        return self._show(caption, f"\nChart: {path}")

    def _show(self, parameters: JsonObject, after: str = "") -> JsonObject:
        text = str(parameters.get("text", ""))
        shown = to_plain(text) if parameters.get("parse_mode") == "HTML" else text
        chat_id = parameters.get("chat_id", CONSOLE_CHAT_ID)
        prefix = "" if chat_id == CONSOLE_CHAT_ID else f"[to chat {chat_id}] "
        self._write(f"{prefix}{shown}{after}{buttons_text(parameters.get('reply_markup'), self.words)}\n")
        return {
            "message_id": next(self._message_ids),
            "date": int(dt.datetime.now(dt.UTC).timestamp()),
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        }


def buttons_text(markup: Any, chat_words: Callable[[], Words] = words) -> str:
    """An inline keyboard as text, in the chat's words (read only when there is a keyboard): the terminal cannot
    show buttons, so it lists them."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard") if isinstance(markup, dict) else None
    if not rows:
        return ""
    labels = " · ".join(f"[{button.get('text', '')}]" for row in rows for button in row)
    note = chat_words()._("(buttons cannot be pressed here: type the command with your choice instead)")
    return f"\n{labels}\n{note}"


def command_update(text: str, update_id: int, now: dt.datetime) -> JsonObject:
    """The Bot API update a person typing `text` in a private chat would produce."""
    command_length = len(text.split()[0]) if text.startswith("/") and text.split() else 0
    entities = [{"type": "bot_command", "offset": 0, "length": command_length}] if command_length else []
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(now.timestamp()),
            "chat": {"id": CONSOLE_CHAT_ID, "type": "private", "first_name": "console"},
            "from": CONSOLE_USER,
            "text": text,
            "entities": entities,
        },
    }


async def read_line() -> str:
    """One line of standard input without blocking the event loop; '' at the end of input."""
    return await asyncio.to_thread(sys.stdin.readline)


def show_prompt() -> None:
    """The mark a person types after, in a terminal."""
    sys.stdout.write(PROMPT)
    sys.stdout.flush()


async def chat_in_terminal(
    app: Any,
    write: Writer = print_line,
    read: Callable[[], Any] = read_line,
    *,
    terminal: bool | None = None,
    prompt: Callable[[], None] = show_prompt,
) -> None:
    """Feed what the person types to the application, until the end of input. In a terminal (TERMINAL: standard
    input's own word by default) a prompt shows where to type; piped commands are echoed after it instead, so that
    a session written to a file reads as one typed."""
    typed = sys.stdin.isatty() if terminal is None else terminal
    for update_id in itertools.count(1):
        if typed:
            prompt()
        line = await read()
        if not line:
            return
        text = line.strip()
        if not text:
            continue
        if not typed:
            write(f"{PROMPT}{text}")
        data = command_update(text, update_id, dt.datetime.now(dt.UTC))
        await app.process_update(Update.de_json(data, app.bot))
