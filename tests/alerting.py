"""Helpers shared by the alert, delivery, crash and end-to-end tests: subscribing chats and raising alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlite_utils import Database

from bot.domain.knowledge import ExposureTable
from bot.domain.vocab import Vocabulary
from jobs.alerts import AlertContext, alerts_for_changes
from storage.measures import replace_status
from storage.outbox import stamp
from storage.statuses import StatusChange, record_change
from storage.subscribers import add_subscription, save_subscriber
from tests.storage_reads import get_status

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def subscribe(
    db: Database,
    chat_id: int,
    country: str,
    sector: str = "",
    material: str = "",
    min_level: int = 0,
    chat_type: str = "private",
) -> None:
    """Make a chat a subscriber with one subscription."""
    save_subscriber(db, chat_id, chat_type, None, "UTC", stamp(NOW))
    add_subscription(db, chat_id, country, sector, material, min_level, stamp(NOW))


def subscribe_many(db: Database, chat_ids: Iterable[int], country: str, sector: str = "") -> None:
    """Many private chats with the same subscription, in one transaction."""
    with db.atomic():
        for chat_id in chat_ids:
            subscribe(db, chat_id, country, sector)


def live_change(
    db: Database, target: str, material: str, new: int, at: dt.datetime = NOW, **overrides: object
) -> tuple[int, StatusChange]:
    """Record a live change from the current level of (CN, target, material) to `new`; return (id, change)."""
    current = get_status(db, "CN", target, material)
    old = int(current["level"]) if current else 0
    fields: dict[str, object] = {
        "issuer": "CN", "target": target, "material": material, "old_level": old, "new_level": new,
        "direction": "tighten" if new > old else "ease", "at": at.isoformat(),
        "title": "MOFCOM halts rare-earth export licences for Japan", "source": "mofcom-press",
        "origin": "live", "url": "https://example.org/news/1", "item_id": 7, "until": None,
    }  # fmt: skip
    fields.update(overrides)
    change = StatusChange(**fields)  # type: ignore[arg-type]
    replace_status(db, {"issuer": "CN", "target": target, "material": material, "end_use": change.end_use,
                        "level": new, "since": change.at, "title": change.title, "source": change.source,
                        "url": change.url, "item_id": change.item_id, "updated_at": change.at})  # fmt: skip
    return record_change(db, change), change


def raise_alert(
    db: Database,
    vocabulary: Vocabulary,
    table: ExposureTable,
    target: str,
    material: str,
    new: int,
    now: dt.datetime = NOW,
    **overrides: object,
) -> list[int]:
    """A status change and its alerts in one transaction, as the checker does it."""
    with db.atomic():
        change = live_change(db, target, material, new, now, **overrides)
        return alerts_for_changes(db, [change], AlertContext(vocabulary, table), now)
