"""The fault suite: the running delivery worker and the Telegram sender against a fake Bot API on loopback.

Each of Telegram's failures is scripted for one chat — 429 with retry_after, 403, 400 "can't parse entities",
a group migrated to a supergroup, 502, a dropped connection — and handled as the issue says, while the other
chats get their alert as if nothing happened.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram_sender import TelegramSender
from handlers.context import Services
from jobs.deliver import DeliveryWorker
from jobs.limits import RetryPolicy, SendLimits
from storage.outbox import delivery_counts, failed_deliveries
from storage.subscribers import get_subscriber, subscriptions_of
from tests.alerting import raise_alert, subscribe, subscribe_many
from tests.fake_bot_api import (
    BadGatewayFault,
    CantParseFault,
    DropConnectionFault,
    FakeBotAPI,
    ForbiddenFault,
    MigrateFault,
    RetryAfterFault,
)

TOKEN = "123456:FAULTS"
ADMIN = 777
HEALTHY = list(range(101, 121))
FAST_RETRY = RetryPolicy(first=0.3, factor=2, cap=2, attempts=3)


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods, as PTB asks: its RetryAfter otherwise warns when it is built."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@asynccontextmanager
async def delivering(
    api: FakeBotAPI, services: Services, per_second: float | None = None
) -> AsyncIterator[DeliveryWorker]:
    """The worker running with the real Telegram sender against the fake API."""
    bot = Bot(TOKEN, base_url=api.base_url, request=HTTPXRequest(connection_pool_size=32))
    async with bot:
        worker = DeliveryWorker(
            services.db,
            TelegramSender(bot),
            limits=SendLimits(per_second=per_second),
            retry=FAST_RETRY,
            admins=frozenset({ADMIN}),
            idle_poll=0.5,
        )
        worker.start()
        try:
            yield worker
        finally:
            await worker.stop()


def alert_japan(services: Services, material: str = "rare_earths", level: int = 4, **overrides: object) -> None:
    """A tightening on Japan (rare earths to restricted by default), committed, as the checker raises it."""
    now = dt.datetime.now(dt.UTC)
    raise_alert(services.db, services.vocabulary, services.table, "JP", material, level, now, **overrides)


def arrival(api: FakeBotAPI, chat_id: int) -> float:
    """When the first successful sendMessage to a chat arrived."""
    return min(moment for moment, chat in api.received if chat == chat_id)


async def test_retry_after_delays_that_chat_only(services: Services) -> None:
    subscribe_many(services.db, [1, *HEALTHY], "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services, per_second=25) as worker:
        api.fail(1, RetryAfterFault(2))
        started = time.time()
        alert_japan(services)
        worker.wake()
        for chat in HEALTHY:
            await api.wait_for_messages(chat, timeout=3)
        [message] = await api.wait_for_messages(1, timeout=6)
    assert max(arrival(api, chat) for chat in HEALTHY) - started < 1.5
    assert arrival(api, 1) - started >= 2.0
    assert message["text"].startswith("🔴 <b>Tightened: China → Japan</b>")


async def test_forbidden_deactivates_the_subscriber(services: Services) -> None:
    subscribe_many(services.db, [2, *HEALTHY], "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(2, ForbiddenFault())
        alert_japan(services)
        worker.wake()
        for chat in HEALTHY:
            await api.wait_for_messages(chat, timeout=3)
        await api.wait_for(lambda: get_subscriber(services.db, 2)["active"] == 0, timeout=3)  # type: ignore[index]
        alert_japan(services, "graphite", 5, item_id=8, title="second item")
        worker.wake()
        for chat in HEALTHY:
            await api.wait_for_messages(chat, count=2, timeout=3)
    assert api.messages_to(2) == []
    assert get_subscriber(services.db, 2)["deactivated_reason"] == "Forbidden: bot was blocked by the user"  # type: ignore[index]
    assert len([a for a in api.attempts if a["chat_id"] == 2]) == 1


async def test_cant_parse_entities_is_resent_once_as_plain_text(services: Services) -> None:
    subscribe_many(services.db, [3, *HEALTHY], "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(3, CantParseFault())
        alert_japan(services, title="Licences <halted> & reviewed")
        worker.wake()
        [message] = await api.wait_for_messages(3, timeout=3)
        for chat in HEALTHY:
            await api.wait_for_messages(chat, timeout=3)
    assert "parse_mode" not in message
    assert "Licences <halted> & reviewed" in message["text"] and "<b>" not in message["text"]


async def test_a_migrated_group_is_followed_and_its_subscriptions_move(services: Services) -> None:
    subscribe(services.db, -4, "JP", sector="autos", chat_type="group")
    subscribe_many(services.db, HEALTHY, "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(-4, MigrateFault(-1004))
        alert_japan(services)
        worker.wake()
        [message] = await api.wait_for_messages(-1004, timeout=3)
        alert_japan(services, "graphite", 5, item_id=8, title="second item")
        worker.wake()
        await api.wait_for_messages(-1004, count=2, timeout=3)
    assert message["text"].startswith("🔴 <b>Tightened")
    assert api.messages_to(-4) == []
    assert [row["sector"] for row in subscriptions_of(services.db, -1004)] == ["autos"]
    assert subscriptions_of(services.db, -4) == []


async def test_bad_gateway_and_a_dropped_connection_are_retried_with_backoff(services: Services) -> None:
    subscribe_many(services.db, [5, 6, *HEALTHY], "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(5, BadGatewayFault())
        api.fail(6, DropConnectionFault(), DropConnectionFault())
        alert_japan(services)
        worker.wake()
        await api.wait_for_messages(5, timeout=4)
        await api.wait_for_messages(6, timeout=4)
    rows = {row[0]: row[1:] for row in services.db.execute("SELECT chat_id, state, attempts FROM deliveries")}
    assert rows[5] == ("sent", 1) and rows[6] == ("sent", 2)
    assert len([a for a in api.attempts if a["chat_id"] == 6]) == 3


async def test_after_the_last_attempt_the_delivery_fails_and_the_admins_hear_of_it(services: Services) -> None:
    subscribe_many(services.db, [7], "JP", "autos")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(7, BadGatewayFault(), BadGatewayFault(), BadGatewayFault())
        alert_japan(services)
        worker.wake()
        [notice] = await api.wait_for_messages(ADMIN, timeout=6)
    assert "could not be delivered to chat 7 after 3 attempt(s)" in notice["text"]
    [failed] = failed_deliveries(services.db)
    assert failed["chat_id"] == 7 and failed["attempts"] == 3
    assert api.messages_to(7) == []


async def test_every_fault_at_once_delays_no_healthy_chat(services: Services) -> None:
    troubled = [11, 12, 13, 15, 16]
    subscribe_many(services.db, [*troubled, *HEALTHY], "JP", "autos")
    subscribe(services.db, -14, "JP", sector="autos", chat_type="group")
    async with FakeBotAPI() as api, delivering(api, services) as worker:
        api.fail(11, RetryAfterFault(3))
        api.fail(12, ForbiddenFault())
        api.fail(13, CantParseFault())
        api.fail(-14, MigrateFault(-1014))
        api.fail(15, BadGatewayFault())
        api.fail(16, DropConnectionFault())
        started = time.time()
        alert_japan(services)
        worker.wake()
        for chat in HEALTHY:
            await api.wait_for_messages(chat, timeout=3)
        healthy_done = max(arrival(api, chat) for chat in HEALTHY) - started
        for chat in (11, 13, -1014, 15, 16):
            await api.wait_for_messages(chat, timeout=6)
    assert healthy_done < 1.5
    assert delivery_counts(services.db) == {"sent": len(HEALTHY) + 5, "dropped": 1}
    assert {m["chat_id"] for m in api.sent} == {*HEALTHY, 11, 13, -1014, 15, 16}
