"""The Sender over a PTB Bot, and starting/stopping the delivery worker with the Application.

Telegram's errors become the delivery job's outcomes: RetryAfter → RetryLater, Forbidden → Blocked,
ChatMigrated → Migrated, BadRequest "can't parse entities" → BadMarkup, NetworkError/TimedOut → Transient.
In console mode the Bot talks to ConsoleRequest, so the same path prints alerts in the terminal.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.domain.datafiles import JsonObject
from bot.pacing import PACED
from handlers.context import Services
from jobs.deliver import (
    BadMarkup,
    Blocked,
    DeliveryWorker,
    Migrated,
    Outcome,
    OutgoingMessage,
    Permanent,
    RetryLater,
    Sent,
    Transient,
)
from jobs.limits import RateLimiter
from storage.db import connect
from storage.outbox import database_file

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)

GONE_CHAT = ("chat not found", "user not found", "bot was kicked", "have no rights to send", "not enough rights")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter's wait in seconds (PTB 22 warns on the int form; both forms are read here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def classify_bad_request(error: BadRequest) -> Outcome:
    """A 400: bad markup is retried as plain text; a chat that is gone is dropped; anything else is final."""
    text = error.message.lower()
    if "can't parse entities" in text or "can't find end of the entity" in text:
        return BadMarkup(error.message)
    if any(reason in text for reason in GONE_CHAT):
        return Blocked(error.message)
    return Permanent(error.message)


def keyboard(buttons: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """One row of inline buttons, or none."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


class TelegramSender:
    """Sends through a PTB Bot and says what happened; never raises for Telegram or the network."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # the delivery worker paces alerts itself: the Application's shared limiter lets them straight through
        paced = isinstance(bot, ExtBot) and bot.rate_limiter is not None
        self._limit_args: JsonObject = {"rate_limit_args": PACED} if paced else {}

    async def send(self, message: OutgoingMessage) -> Outcome:
        """One sendMessage."""
        try:
            sent = await self.bot.send_message(
                message.chat_id,
                message.text,
                parse_mode=ParseMode.HTML if message.html else None,
                link_preview_options=NO_PREVIEW,
                reply_markup=keyboard(message.buttons),
                **self._limit_args,
            )
        except RetryAfter as error:
            return RetryLater(retry_seconds(error))
        except Forbidden as error:
            return Blocked(error.message)
        except ChatMigrated as error:
            return Migrated(error.new_chat_id)
        except BadRequest as error:
            return classify_bad_request(error)
        except NetworkError as error:  # includes TimedOut
            return Transient(error.message)
        except TelegramError as error:
            return Transient(f"{type(error).__name__}: {error.message}")
        return Sent(sent.message_id)


def start_delivery(bot: Bot, services: Services, limiter: RateLimiter, pace: Callable[[], float]) -> DeliveryWorker:
    """Start the delivery worker on its own connection (file databases), waking it on `services.wake_delivery`, keeping
    Telegram's limits on `limiter`, in `pace`'s seconds (both shared with the replies)."""
    path = database_file(services.db)
    db = connect(path) if path else services.db
    worker = DeliveryWorker(
        db,
        TelegramSender(bot),
        limiter=limiter,
        pace=pace,
        admins=services.admins,
        clock=services.clock,
        vocabulary=services.vocabulary,
    )
    worker.start()
    services.wake_delivery = worker.wake
    return worker


async def stop_delivery(worker: DeliveryWorker, db: Database) -> None:
    """Stop the worker and close its connection, where it is not the services' `db`."""
    await worker.stop()
    if worker.db is not db:
        worker.db.close()
