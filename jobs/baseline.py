"""Loading the baseline timeline into statuses and history: on first start, and for events added later.

Each event sets the statuses it names. As for live moves (jobs/moves.py), only a setting that moves an effective
level goes into the history: one beneath a stronger measure (the US graphite review of Ann. 46/2024 under the
licensing of graphite for all destinations since 2023) sets its status, which stays in force once the stronger
measure goes, but records no change — so that /history lists only what changed for someone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlite_utils import Database

from bot.domain.knowledge import BaselineEvent, StatusSetting
from bot.domain.status import CHINA
from bot.domain.vocab import Vocabulary
from jobs.moves import record_or_keep
from storage.statuses import (
    StatusChange,
    baseline_event_keys,
    get_status,
    record_baseline_event,
)

logger = logging.getLogger(__name__)


def event_key(event: BaselineEvent) -> str:
    """A stable key for an event: its date and title."""
    digest = hashlib.sha256(f"{event.date.isoformat()}|{event.title}".encode()).hexdigest()
    return f"{event.date.isoformat()}-{digest[:12]}"


def event_time(event: BaselineEvent) -> str:
    """The moment an event is recorded at: midnight UTC of its date."""
    return dt.datetime.combine(event.date, dt.time(), tzinfo=dt.UTC).isoformat()


def _changes(db: Database, event: BaselineEvent, setting: StatusSetting) -> list[StatusChange]:
    at = event_time(event)
    changes = []
    for target in setting.targets:
        for material in setting.materials:
            current = get_status(db, CHINA, target, material)
            old = int(current["level"]) if current else 0
            if current and current["since"] > at:
                continue  # something newer (a live observation) already decided this status
            if old == setting.level and current:
                continue
            until = setting.until.isoformat() if setting.until else None
            changes.append(
                StatusChange(
                    CHINA, target, material, old, int(setting.level), setting.direction, at,
                    event.title, event.source, "baseline", event.url, None, until,
                )
            )  # fmt: skip
    return changes


def apply_event(db: Database, event: BaselineEvent, now: dt.datetime, vocabulary: Vocabulary) -> int:
    """Apply one event in one transaction; return how many changes moved an effective level (the history's)."""
    moved = 0
    with db.atomic():
        for setting in event.sets:
            for change in _changes(db, event, setting):
                moved += record_or_keep(db, vocabulary, change) is not None
        record_baseline_event(
            db,
            {
                "key": event_key(event),
                "date": event.date.isoformat(),
                "title": event.title,
                "source": event.source,
                "url": event.url,
                "applied_at": now.isoformat(),
            },
        )
    return moved


def apply_baseline(db: Database, events: list[BaselineEvent], now: dt.datetime, vocabulary: Vocabulary) -> int:
    """Apply the events not applied before, oldest first; return how many changes moved an effective level."""
    done = baseline_event_keys(db)
    pending = [event for event in events if event_key(event) not in done]
    moved = sum(apply_event(db, event, now, vocabulary) for event in pending)
    if pending:
        logger.info("baseline: %d events applied, %d statuses moved", len(pending), moved)
    return moved
