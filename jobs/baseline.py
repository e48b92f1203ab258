"""Loading the baseline timeline into statuses and history: on first start, and for events added later."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlite_utils import Database

from bot.knowledge import BaselineEvent, StatusSetting
from bot.status import CHINA
from storage.statuses import (
    StatusChange,
    baseline_event_keys,
    get_status,
    record_baseline_event,
    record_change,
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


def apply_event(db: Database, event: BaselineEvent, now: dt.datetime) -> int:
    """Apply one event in one transaction; return how many statuses moved."""
    moved = 0
    with db.atomic():
        for setting in event.sets:
            for change in _changes(db, event, setting):
                record_change(db, change)
                moved += 1
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


def apply_baseline(db: Database, events: list[BaselineEvent], now: dt.datetime) -> int:
    """Apply the events not applied before, oldest first; return how many statuses moved."""
    done = baseline_event_keys(db)
    pending = [event for event in events if event_key(event) not in done]
    moved = sum(apply_event(db, event, now) for event in pending)
    if pending:
        logger.info("baseline: %d events applied, %d statuses moved", len(pending), moved)
    return moved
