"""Opening and closing what a command works with: settings → database, knowledge, baseline → Services.

The knowledge and the measuring behind it take ~50 ms to import and ~20 ms to load: a check of every source
imports this module once its first requests are under way (bot/watching.py, `check_every_source`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.config import Settings, desk_chats
from bot.domain.clock import utc_now
from bot.domain.datafiles import bundle_digest
from bot.domain.knowledge import ExposureTable, load_exposure_table
from bot.domain.measure_file import load_measures
from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary, load_vocabulary
from handlers.context import Services
from jobs.alerts import AlertContext
from jobs.baseline import apply_baseline
from jobs.lapses import announce_lapses
from storage.db import open_database
from storage.meta import BUNDLE_KEY, write_meta

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)

Knowledge = tuple[Vocabulary, ExposureTable, list[Measure]]


def open_services(settings: Settings, now: dt.datetime | None = None) -> Services:
    """Load and check the knowledge, open the database and bring the baseline in."""
    now = now or utc_now()
    knowledge = load_knowledge()  # a broken data file stops the command before the database is touched
    return _bring_in(settings, open_database(settings.chokepoint_db, now), knowledge, now)


def load_services(settings: Settings, db: Database, now: dt.datetime | None = None) -> Services:
    """The services over a database already open: a check opens it first, to start fetching sooner."""
    now = now or utc_now()
    return _bring_in(settings, db, load_knowledge(), now)


def load_knowledge() -> Knowledge:
    """The vocabulary, the exposure table and the bundled measures, each checked."""
    vocabulary = load_vocabulary()
    return vocabulary, load_exposure_table(vocabulary), load_measures(vocabulary)


def _bring_in(settings: Settings, db: Database, knowledge: Knowledge, now: dt.datetime) -> Services:
    """Store the baseline, raise the alerts of suspensions that ran out while the bot was off: the Services."""
    vocabulary, table, measures = knowledge
    bundle = bundle_digest()
    apply_baseline(db, measures, now, vocabulary)
    write_meta(db, BUNDLE_KEY, bundle)  # a check that finds nothing new loads no knowledge while it is the same
    desk = desk_chats(settings)
    announce_lapses(db, AlertContext(vocabulary, table, desk), now)
    return Services(
        db=db,
        vocabulary=vocabulary,
        table=table,
        admins=settings.chokepoint_admins,
        timezone=settings.chokepoint_timezone,
        desk=desk,
    )


def alert_context(services: Services) -> AlertContext:
    """What the jobs need to build alerts, from the opened services."""
    return AlertContext(services.vocabulary, services.table, services.desk)


def announce_lapses_now(services: Services) -> list[int]:
    """Raise the alerts of suspensions that ran out, then wake delivery; a failure is logged, never raised."""
    try:
        created = announce_lapses(services.db, alert_context(services), services.clock())
    except Exception:
        logger.exception("announcing lapsed suspensions failed")
        return []
    services.wake_delivery()
    return created


def close_services(services: Services) -> None:
    """Close the database."""
    services.db.close()
