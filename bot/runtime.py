"""What every run of the bot sets first: its log (secrets masked, a file in console mode), the garbage collector's
pace, and its database, created or migrated; and where its output goes once the reader has gone away. Opening the
services a command works with is bot/services.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import sys
from pathlib import Path

from bot.config import Settings
from bot.domain.clock import utc_now

logger = logging.getLogger(__name__)


def prepare_database(settings: Settings, now: dt.datetime | None = None) -> None:
    """Create or migrate the database before the bot starts: SchemaTooNew or sqlite3.Error stop it there."""
    from storage.db import open_database  # sqlite-utils, which a one-shot check imports only after its requests

    open_database(settings.chokepoint_db, now or utc_now()).close()


class Redactor(logging.Filter):
    """Masks secrets in every record a handler writes, whoever logged it (a rejected token is in PTB's error)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message, mask the secrets in it and in its traceback text; keep the record."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            message = message.replace(secret, "***")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        return True


def redact_secrets(secrets: list[str]) -> None:
    """Install the Redactor on every handler of the root logger."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)


def log_to_file(path: Path) -> None:
    """Send the log to a file instead of the terminal (console mode: the terminal is the chat)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        new = logging.FileHandler(path, encoding="utf-8")
        new.setFormatter(old.formatter)
        for kept in old.filters:
            new.addFilter(kept)
        root.removeHandler(old)
        root.addHandler(new)


# The cyclic collector's first generation runs after this many allocations (Python's default is 700): a check
# cycle allocates futures, responses and rows by the hundred thousand, nearly none of them in cycles, and the
# default spent a quarter of a warm cycle's CPU collecting them (make bench peer; docs/ARCHITECTURE.md, "Speed").
GC_FIRST_GENERATION = 20_000


def relax_garbage_collection() -> None:
    """Collect cycles less often: the first generation after GC_FIRST_GENERATION allocations; the older ones as
    often, relative to it, as by default."""
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION, second, third)


def quiet_noisy_loggers() -> None:
    """Keep the bot token out of the log: httpx logs request URLs, PTB's bot logs its API URL at DEBUG."""
    for name in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).setLevel(logging.INFO)


def discard_output() -> None:
    """Point standard output at the null device once it cannot be written: its reader went away (`chokepoint
    status | head -2`) or its disk is full. What is still buffered then goes nowhere at the exit, instead of
    failing again there (Python's documentation, "Note on SIGPIPE")."""
    with contextlib.suppress(OSError, ValueError):  # ValueError: a stream without a file descriptor
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
