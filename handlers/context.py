"""What handlers share: the typed `bot_data` object, opened by the wiring, and argument helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.domain.clock import utc_now
from bot.domain.i18n import N_, Language, Words, known_language, language_of, words
from bot.domain.knowledge import ExposureTable
from bot.domain.status import Status, StatusBook
from bot.domain.values import DeskChoice
from bot.domain.vocab import Kind, Vocabulary
from handlers.chart_book import ChartBook
from handlers.chat_admins import ChatAdmins
from storage.statuses import current_statuses
from storage.subscribers import chosen_language, note_language

if TYPE_CHECKING:  # the Telegram library takes ~0.2 s to import: one-shot commands such as `check` never need it
    from telegram import Update
    from telegram.ext import CallbackContext, ExtBot

    from bot.domain.desk import DeskDecision
    from storage.database import Database

CheckNow = Callable[[Sequence[str] | None], Awaitable[list[str]]]  # source ids (None: all) → summary lines
MAX_ARGUMENT_CHARS = 64
MAX_ARGUMENTS = 6


@dataclass
class Services:
    """Everything a handler or job needs, opened in post_init and closed in post_shutdown."""

    db: Database
    vocabulary: Vocabulary
    table: ExposureTable
    admins: frozenset[int] = frozenset()
    timezone: str = "UTC"
    clock: Callable[[], dt.datetime] = utc_now
    # Hooks the wiring sets once delivery and checking run; handlers call them, never the jobs themselves.
    wake_delivery: Callable[[], None] = lambda: None
    check_now: CheckNow | None = None
    desk: tuple[int, ...] = ()  # the chats that confirm or dismiss unsure readings
    # (desk item id, the choice, who) → what became of it; set by the wiring
    decide_desk: Callable[[int, DeskChoice, str], DeskDecision] | None = None
    watched: frozenset[str] | None = None  # ids of the sources this process checks; None: every known one
    charts: ChartBook = field(default_factory=ChartBook)  # drawn off the event loop, kept until a status changes
    chat_admins: ChatAdmins = field(default_factory=ChatAdmins)  # groups' and channels' admins, cached

    def status_book(self) -> StatusBook:
        """The current statuses, indexed for the exposure model."""
        return StatusBook([Status.from_row(row) for row in current_statuses(self.db)], self.vocabulary)

    def today(self) -> dt.date:
        """Today's date, UTC."""
        return self.clock().date()


class BotData:
    """The application's `bot_data`: empty when PTB builds it, given its Services in post_init."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def attach(self, services: Services) -> None:
        """Hand the opened services to the handlers."""
        self._services = services

    def detach(self) -> Services | None:
        """Take the services back for closing."""
        services, self._services = self._services, None
        return services

    @property
    def services(self) -> Services:
        """The services; only between post_init and post_shutdown."""
        if self._services is None:
            raise RuntimeError("services are not open: post_init has not run")
        return self._services


Context: TypeAlias = "CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]"


class UsageError(ValueError):
    """Arguments that do not fit the command; the message shows the usage."""


def check_arguments(args: Sequence[str], usage: str, *, at_least: int = 0) -> list[str]:
    """Refuse missing, too many or overlong arguments with the usage."""
    if len(args) < at_least or len(args) > MAX_ARGUMENTS:
        raise UsageError(usage)
    if any(len(arg) > MAX_ARGUMENT_CHARS for arg in args):
        raise UsageError(f"{N_('That is longer than any name I know.')}\n{usage}")
    return list(args)


def sender_of(update: Update) -> int | None:
    """Who sent an update: a signed channel post's author, else the chat a message was sent as (an anonymous
    admin's group, a channel), else the user; a button press is its presser's."""
    from telegram.constants import ChatType  # here, where the bot runs, rather than at import (see above)

    message = update.effective_message
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        author = message.from_user if message.chat.type == ChatType.CHANNEL else None
        return author.id if author is not None else message.sender_chat.id
    user = update.effective_user
    return user.id if user is not None else None


def command_for(text: str, username: str) -> str | None:
    """The command a message starting '/name' or '/name@bot' runs, when it is for this bot; else None."""
    if not text.startswith("/"):
        return None
    name, _, addressee = text.split(maxsplit=1)[0].lstrip("/").partition("@")
    if addressee and addressee.lower() != username.lower():
        return None
    return name


def split_leading(vocabulary: Vocabulary, kind: Kind, words: Sequence[str]) -> tuple[str, list[str]]:
    """Match the longest run of leading words as a term of `kind` ('south korea autos' → KR, ['autos'])."""
    for end in range(len(words), 0, -1):
        code = vocabulary.lookup(kind, " ".join(words[:end]))
        if code is not None:
            return code, list(words[end:])
    first = words[0] if words else ""
    raise vocabulary.unknown(kind, first, [(kind, code) for code in vocabulary.suggest(kind, first)])


def chat_language(update: Update, services: Services) -> Language:
    """The language a chat reads: its choice, else (private chats) its user's Telegram language, else English."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return known_language(None)
    chosen = chosen_language(services.db, chat.id)
    if chosen is not None:
        return known_language(chosen)
    if chat.type == "private" and user is not None:
        language = language_of(user.language_code)
        note_language(services.db, chat.id, language)  # so the chat's alerts follow it too
        return language
    return known_language(None)


def chat_words(update: Update, services: Services) -> Words:
    """The messages of the chat's language."""
    return words(chat_language(update, services))
