"""Wiring: the PTB Application, its handlers, and the scheduler started in post_init, stopped in post_shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.domain.desk import DeskDecision
from bot.domain.i18n import DEFAULT_LANGUAGE, LANGUAGES, words
from bot.domain.values import DeskChoice
from bot.heartbeat import POLL_BEAT_EVERY, PollingRequest, heartbeat
from bot.pacing import SharedPacing
from bot.runtime import quiet_noisy_loggers
from bot.services import alert_context, announce_lapses_now, close_services, open_services
from bot.telegram_sender import start_delivery, stop_delivery
from bot.updates import ChatOrderedUpdates
from bot.watching import Watch, check_now, open_watch, start_checks
from handlers.context import BotData, Services
from handlers.errors import on_error, plain_text, unknown_command_handler
from handlers.registry import button_handlers, commands
from handlers.replies import slow_down
from jobs.deliver import DeliveryWorker
from jobs.desk import decide
from jobs.limits import CommandBudget, RateLimiter, SendLimits
from jobs.sources import SourceSpec
from storage.heartbeats import POLL, START

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)

ChokepointApp: TypeAlias = Application[Any, Any, Any, Any, BotData, Any]
LAPSES_AT = {"hour": 0, "minute": 5}  # UTC, daily: suspensions run out at the end of their day
NEW_MESSAGES = filters.UpdateType.MESSAGE
CHANNEL_POSTS = filters.UpdateType.CHANNEL_POST


@dataclass
class Running:
    """What post_init opens and post_stop and post_shutdown close: each None until opened, and again once closed."""

    delivery: DeliveryWorker | None = None
    watch: Watch | None = None
    scheduler: AsyncIOScheduler | None = None

    async def stop_delivery(self, db: Database) -> None:
        """Stop the delivery worker, once (sends in flight finish first)."""
        worker, self.delivery = self.delivery, None
        if worker is not None:
            await stop_delivery(worker, db)

    async def close(self) -> None:
        """Stop the scheduler and close the checker (after delivery)."""
        scheduler, watch, self.scheduler, self.watch = self.scheduler, self.watch, None, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        if watch is not None:
            await watch.close()


def build_application(
    settings: Settings,
    sources: list[SourceSpec],
    *,
    token: str,
    request: BaseRequest | None = None,
    open_: Callable[[Settings], Services] = open_services,
    budget: CommandBudget | None = None,
    pace_replies: bool = True,
) -> ChokepointApp:
    """The Application with every handler registered; nothing is opened until post_init.

    Updates run concurrently, each chat's in order, within each sender's command `budget`; with `pace_replies`
    (not in the console, which has no limits to keep) replies share the delivery worker's send limiter."""
    quiet_noisy_loggers()
    polling, running = PollingRequest(), Running()
    limits = SendLimits(per_second=settings.chokepoint_send_rate)
    builder = (
        ApplicationBuilder()
        .token(token)
        .concurrent_updates(ChatOrderedUpdates(budget or CommandBudget(), limits.group_budget(), slow_down))
        .rate_limiter(SharedPacing())
        .base_url(settings.telegram_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .context_types(ContextTypes(bot_data=BotData))
        .job_queue(None)  # scheduling is ours (APScheduler, started in post_init), not PTB's JobQueue
        .post_init(_post_init(running, settings, sources, open_, polling, limits if pace_replies else None))
        .post_stop(_post_stop(running))
        .post_shutdown(_post_shutdown(running))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.get_updates_request(polling)
    app = builder.build()
    register_handlers(app)
    return app


def register_handlers(app: ChokepointApp) -> None:
    """Every command, the unknown-command answer, the pointer for plain words and the error handler.

    Commands run from new messages only: an edited message never runs one again. A channel's posts run the
    commands that change the channel's own settings, and nothing else is answered there."""
    known = commands()
    for command in known:
        kinds = NEW_MESSAGES | CHANNEL_POSTS if command.channels else NEW_MESSAGES
        app.add_handler(CommandHandler(command.name, command.callback, filters=kinds))
    for pattern, callback in button_handlers():
        app.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    app.add_handler(MessageHandler(filters.COMMAND & NEW_MESSAGES, unknown_command_handler([c.name for c in known])))
    # Plain words get a pointer to the commands in a private chat only: a group's talk is not for the bot.
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & NEW_MESSAGES, plain_text)
    )
    app.add_error_handler(on_error)


def _post_init(
    running: Running,
    settings: Settings,
    sources: list[SourceSpec],
    open_: Callable[[Settings], Services],
    polling: PollingRequest,
    limits: SendLimits | None,
) -> Callable[[ChokepointApp], Coroutine[Any, Any, None]]:
    """Open the services, then start delivery, checks and lapses; `limits` shared by replies and alerts (None:
    replies are not paced, alerts keep the rate alone)."""

    async def post_init(app: ChokepointApp) -> None:
        services = open_(settings)
        app.bot_data.attach(services)
        heartbeat(services, START)()
        polling.beat = heartbeat(services, POLL, every=POLL_BEAT_EVERY)
        services.charts.warm_up()  # matplotlib and the fonts load in a worker thread, not on the first /chart
        limiter = RateLimiter(limits or SendLimits(per_second=settings.chokepoint_send_rate))
        if limits is not None and isinstance(app.bot.rate_limiter, SharedPacing):
            app.bot.rate_limiter.attach(limiter, time.monotonic, lambda: not app.running)
        delivery = running.delivery = start_delivery(app.bot, services, limiter, time.monotonic)  # real seconds
        watch = running.watch = open_watch(services, sources, notify=delivery.wake)
        services.check_now = lambda ids: check_now(watch, ids)
        services.watched = frozenset(source.id for source in sources)
        services.decide_desk = desk_decider(services)
        announce_lapses_now(services)
        scheduler = running.scheduler = AsyncIOScheduler(timezone="UTC")
        start_checks(watch, scheduler, services)
        scheduler.add_job(_lapses_job(services), "cron", id="lapses", coalesce=True, **LAPSES_AT)
        scheduler.start()
        await publish_command_menu(app)

    return post_init


def desk_decider(services: Services) -> Callable[[int, DeskChoice, str], DeskDecision]:
    """The hook handlers call on a Confirm or Dismiss: decide, then wake delivery for what it raised."""

    def decide_now(desk_id: int, choice: DeskChoice, by: str) -> DeskDecision:
        decision = decide(services.db, desk_id, choice, by, alert_context(services), services.clock())
        services.wake_delivery()
        return decision

    return decide_now


def _lapses_job(services: Services) -> Callable[[], Coroutine[Any, Any, None]]:
    async def job() -> None:  # a coroutine, so that it runs on the loop that owns the database
        announce_lapses_now(services)

    return job


def _post_stop(running: Running) -> Callable[[ChokepointApp], Coroutine[Any, Any, None]]:
    async def post_stop(app: ChokepointApp) -> None:
        """Stop delivering while the bot's connection is still open (sends in flight finish first)."""
        try:
            services = app.bot_data.services
        except RuntimeError:  # post_init did not run
            return
        await running.stop_delivery(services.db)

    return post_stop


def _post_shutdown(running: Running) -> Callable[[ChokepointApp], Coroutine[Any, Any, None]]:
    async def post_shutdown(app: ChokepointApp) -> None:
        """Close what post_init opened, delivery first, then the services."""
        services = app.bot_data.detach()
        if services is None:
            return
        await running.stop_delivery(services.db)
        await running.close()
        close_services(services)

    return post_shutdown


async def publish_command_menu(app: ChokepointApp) -> None:
    """Set the command menu: the default one in English, and one for Japanese and for Chinese users; a server that
    refuses it is logged, never fatal."""
    for language in sorted(LANGUAGES, key=lambda code: code == DEFAULT_LANGUAGE):  # the default one last
        w = words(language)
        menu = [BotCommand(c.name, w._(c.description)) for c in commands() if not c.admin]
        try:
            await app.bot.set_my_commands(menu, language_code=None if language == DEFAULT_LANGUAGE else language)
        except TelegramError as error:
            logger.warning("could not set the command menu: %s (%s)", error, language)
