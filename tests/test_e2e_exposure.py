"""End to end: the real Application long-polling a fake Bot API on loopback, answering a user in chat."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.config import load_settings
from bot.console import ConsoleRequest, command_update
from bot.lifecycle import running
from tests.fake_bot_api import FakeBotAPI

TOKEN = "123456:TEST-TOKEN"
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@asynccontextmanager
async def polling_bot(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[None]:
    settings = load_settings(
        None, telegram_base_url=api.base_url, chokepoint_db=tmp_path / "e2e.db", chokepoint_admins=frozenset({7})
    )
    app = build_application(settings, [], token=TOKEN)
    async with running(app):
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1, drop_pending_updates=False)
        try:
            yield
        finally:
            await app.updater.stop()


async def test_a_user_asks_exposure_japan_autos_and_gets_a_sourced_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        api.user_says("/exposure japan autos", chat_id=1001)
        [reply] = await api.wait_for_messages(1001, count=1, timeout=10)
    assert reply["parse_mode"] == "HTML"
    text = reply["text"]
    assert text.startswith("<b>Japan · autos: ")
    assert "high exposure" in text or "severe exposure" in text
    assert "100% from China" in text
    assert "reported, not confirmed by the issuer" in text and "MOFCOM Announcement 1/2026" not in text
    assert {"getMe", "deleteWebhook", "getUpdates", "setMyCommands", "sendMessage"} <= set(api.calls)
    assert caplog.records, "the bot logged nothing at all: the check below would prove nothing"
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


async def test_bad_input_in_chat_gets_a_clear_escaped_answer(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        api.user_says("/exposure <b>narnia</b> autos", chat_id=1002)
        api.user_says("/exposure", chat_id=1002)
        api.user_says("/exposure " + "x" * 10_000, chat_id=1002)
        api.user_says("/expsure japan", chat_id=1002)
        replies = await api.wait_for_messages(1002, count=4, timeout=10)
    texts = [reply["text"] for reply in replies]
    assert texts[0].startswith("Unknown country '&lt;b&gt;narnia&lt;/b&gt;'. Closest: ")
    assert texts[1].startswith("Usage: /exposure COUNTRY [SECTOR]")
    assert "longer than any name I know" in texts[2]
    assert "Did you mean /exposure" in texts[3]


async def test_the_command_menu_is_published(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        api.user_says("/help", chat_id=1003)
        [reply] = await api.wait_for_messages(1003, count=1, timeout=10)
    names = {command["command"] for command in api.commands}
    assert {"exposure", "status", "history", "help"} <= names
    assert "/exposure japan autos" in reply["text"]


async def test_checknow_is_for_admins_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        api.user_says("/checknow", chat_id=1004, user_id=1004)
        [refused] = await api.wait_for_messages(1004, count=1, timeout=10)
        api.user_says("/checknow", chat_id=7, user_id=7)
        [started, done] = await api.wait_for_messages(7, count=2, timeout=10)
    assert refused["text"] == "Only the bot's admins can use /checknow."
    assert "refused /checknow from user 1004" in caplog.text
    assert started["text"] == "Checking every source now; the summary follows."
    assert done["text"].startswith("Checked 0 sources")


class MenuRefusingRequest(ConsoleRequest):
    """A Bot API that refuses setMyCommands, as some self-hosted servers do."""

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kw: Any) -> Any:
        if url.endswith("/setMyCommands"):
            return 400, json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: not here"}).encode()
        return await super().do_request(url, method, request_data, *args, **kw)


async def test_a_refused_command_menu_is_logged_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(None, chokepoint_db=tmp_path / "menu.db")
    shown: list[str] = []
    app = build_application(settings, [], token=TOKEN, request=MenuRefusingRequest(shown.append))
    async with running(app):
        await app.process_update(Update.de_json(command_update("/status gallium", 1, NOW), app.bot))
    assert "could not set the command menu: Not here" in caplog.text
    assert shown and shown[0].startswith("Export controls: gallium")


async def test_chokepoint_run_answers_in_telegram_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    offline = Path(__file__).parent / "fixtures" / "sources" / "offline.yaml"
    async with FakeBotAPI() as api:
        env = {
            **os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url,
            "CHOKEPOINT_DB": str(tmp_path / "run.db"), "CHOKEPOINT_SOURCES": str(offline),
        }  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            api.user_says("/exposure japan autos", chat_id=1005)
            [reply] = await api.wait_for_messages(1005, count=1, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert reply["text"].startswith("<b>Japan · autos: ")
    assert process.returncode == 0, err.decode()
    assert TOKEN.split(":")[1] not in err.decode()


async def test_in_a_group_commands_for_other_bots_are_left_to_them(tmp_path: Path) -> None:
    group = -1005
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        for text in (
            "/start@OtherBot",
            "/frobnicate@OtherBot",
            "/status@other_bot gallium",
            "/frobnicate@CHOKEPOINT_TEST_BOT",
        ):
            api.user_says(text, chat_id=group, user_id=71, chat_type="supergroup")
        # Updates are handled in order: once the last one is answered, the others have been handled too.
        [reply] = await api.wait_for_messages(group, count=1, timeout=10)
    assert reply["text"].startswith("Unknown command /frobnicate.")
    assert [message["text"] for message in api.messages_to(group)] == [reply["text"]]


async def test_plain_words_get_a_pointer_to_the_commands_in_a_private_chat_only(tmp_path: Path) -> None:
    group = -1006
    async with FakeBotAPI() as api, polling_bot(api, tmp_path):
        api.user_says("hello", chat_id=1006, user_id=1006)
        [reply] = await api.wait_for_messages(1006, count=1, timeout=10)
        api.user_says("what about gallium?", chat_id=group, user_id=72, chat_type="supergroup")
        api.user_says("/frobnicate", chat_id=group, user_id=72, chat_type="supergroup")
        [answer] = await api.wait_for_messages(group, count=1, timeout=10)  # in order: the words were handled first
    assert reply["text"] == "I answer commands: try /exposure japan autos or /status gallium; /help lists them all."
    assert answer["text"].startswith("Unknown command /frobnicate.")
    assert [message["text"] for message in api.messages_to(group)] == [answer["text"]]
