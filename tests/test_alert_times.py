"""Alert times read in the chat's own time zone."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from bot.domain.alert_text import alert_message, moment
from storage.outbox import due_deliveries, insert_alert, insert_delivery, stamp
from storage.subscribers import save_subscriber

NOW = dt.datetime(2026, 11, 29, 3, 28, tzinfo=dt.UTC)


def test_a_moment_is_shown_in_the_chats_zone() -> None:
    assert moment(NOW.isoformat()) == "2026-11-29 03:28 UTC"
    assert moment(NOW.isoformat(), "Asia/Tokyo") == "2026-11-29 12:28 JST"
    assert moment(NOW.isoformat(), "Europe/Berlin") == "2026-11-29 04:28 CET"
    assert moment("not a time", "Asia/Tokyo") == "not a time"


def test_an_admin_alert_is_unchanged_and_a_status_alert_carries_local_time() -> None:
    payload = {
        "at": NOW.isoformat(),
        "severity": "high",
        "changes": [],
        "title": "t",
        "source": "s",
        "issuer_name": "China",
    }
    assert "🕒 2026-11-29 12:28 JST" in alert_message("status", payload, (), "Asia/Tokyo")
    assert alert_message("admin", {"text": "x"}, (), "Asia/Tokyo") == alert_message("admin", {"text": "x"})


def test_due_deliveries_carry_the_chats_time_zone(db: Database) -> None:
    save_subscriber(db, 7, "private", None, "Asia/Tokyo", stamp(NOW))
    alert = insert_alert(db, "k", "admin", "admin", {"text": "x"}, stamp(NOW))
    assert alert is not None
    insert_delivery(db, alert, 7, stamp(NOW))
    insert_delivery(db, alert, 8, stamp(NOW))  # an admin with no subscriber row
    zones = {row["chat_id"]: row["timezone"] for row in due_deliveries(db, stamp(NOW), 10)}
    assert zones == {7: "Asia/Tokyo", 8: "UTC"}
