"""The real Application long-polling a fake Bot API, for the chat tests of subscriptions and alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import ChokepointApp, build_application
from bot.config import Settings, load_settings
from bot.lifecycle import running
from bot.services import open_services
from handlers.context import Services
from jobs.limits import CommandBudget
from jobs.sources import SourceSpec
from tests.fake_bot_api import FakeBotAPI

TOKEN = "123456:SUBSCRIBE-TEST"
ADMIN = 7


@asynccontextmanager
async def polling_bot(
    api: FakeBotAPI,
    db_path: Path,
    sources: list[SourceSpec] | None = None,
    open_: Callable[[Settings], Services] = open_services,
    *,
    budget: CommandBudget | None = None,
    **settings: Any,
) -> AsyncIterator[ChokepointApp]:
    """Run the bot against the fake API until the block ends (polling with a one-second long poll); `open_` opens
    the services (a test may replace a part of them)."""
    configured = load_settings(
        None,
        telegram_base_url=api.base_url,
        chokepoint_db=db_path,
        chokepoint_admins=frozenset({ADMIN}),
        **settings,
    )
    app = build_application(configured, sources or [], token=TOKEN, open_=open_, budget=budget)
    async with running(app):
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1, drop_pending_updates=False)
        try:
            yield app
        finally:
            await app.updater.stop()
