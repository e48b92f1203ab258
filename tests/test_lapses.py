"""Suspensions that run out: one alert per suspending event, to the chats the returning measure would reach, once;
no status moves; the message says what comes back unless the suspension was extended."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.app import announce_lapses_now, build_application
from bot.config import load_settings
from bot.domain.alert_text import alert_message, digest_message
from bot.domain.measure import load_rules, measure
from bot.lifecycle import running
from bot.runtime import open_services
from handlers.context import Services
from jobs.alerts import AlertContext, compose_due_digests
from jobs.deliver import DeliveryWorker, OutgoingMessage, Sent
from jobs.lapses import announce_lapses
from jobs.limits import SendLimits
from jobs.moves import Evidence, apply_measurement
from storage.db import open_database
from storage.outbox import get_alert
from storage.statuses import current_statuses, get_status
from storage.subscribers import set_digest
from tests.alerting import NOW, live_change, subscribe
from tests.bot_harness import TOKEN
from tests.fake_bot_api import FakeBotAPI

US_GALLIUM, JAPAN_AUTOS, ALL_HOLMIUM, JAPAN_DEFENSE, US_CHIPS = 1, 2, 3, 4, 5
ANN_72 = "MOFCOM Announcement 72/2025"
ANN_70 = "MOFCOM + GAC Announcement 70/2025"


def context(services: Services) -> AlertContext:
    return AlertContext(services.vocabulary, services.table)


def subscribers(db: Database) -> None:
    subscribe(db, US_GALLIUM, "US", material="gallium")
    subscribe(db, JAPAN_AUTOS, "JP", sector="autos")
    subscribe(db, ALL_HOLMIUM, "ALL", material="holmium")
    subscribe(db, JAPAN_DEFENSE, "JP", sector="defense")
    subscribe(db, US_CHIPS, "US", sector="semiconductors")


def alerts(db: Database) -> dict[str, dict[str, Any]]:
    """The lapse alerts by their payload's source, with their deliveries' chats."""
    found = {}
    for (alert_id,) in db.execute("SELECT id FROM alerts WHERE kind = 'lapse'").fetchall():
        alert = get_alert(db, alert_id)
        assert alert is not None
        chats = db.execute("SELECT chat_id FROM deliveries WHERE alert_id = ? ORDER BY chat_id", [alert_id])
        alert["chats"] = [row[0] for row in chats]
        found[alert["payload"]["source"]] = alert
    return found


def snapshot(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    statuses = [tuple(row) for row in db.execute("SELECT * FROM statuses ORDER BY issuer, target, material")]
    changes = [tuple(row) for row in db.execute("SELECT * FROM status_changes ORDER BY id")]
    return statuses, changes


def test_the_two_lapsed_suspensions_raise_two_alerts_once(services: Services) -> None:
    created = announce_lapses(services.db, context(services), NOW)
    assert len(created) == 2
    assert announce_lapses(services.db, context(services), NOW + dt.timedelta(days=1)) == []
    raised = alerts(services.db)
    assert set(raised) == {ANN_72, ANN_70}
    ann72, ann70 = raised[ANN_72], raised[ANN_70]
    assert ann72["key"].startswith("lapse:CN:2026-11-27:") and ann70["key"].startswith("lapse:CN:2026-11-10:")
    assert (ann72["severity"], ann70["severity"]) == ("critical", "medium")
    payload = ann72["payload"]
    assert {key: payload[key] for key in ("issuer", "until", "targets", "materials", "level", "lifted")} == {
        "issuer": "CN", "until": "2026-11-27", "targets": ["US"],
        "materials": ["gallium", "germanium", "antimony", "superhard_materials"], "level": 3, "lifted": 5,
    }  # fmt: skip
    assert payload["title"].startswith("MOFCOM Announcement 72/2025 suspends clause 2 of Announcement 46")
    assert "url" in payload
    assert (ann70["payload"]["targets"], ann70["payload"]["level"], ann70["payload"]["lifted"]) == (["ALL"], 0, 3)
    assert ann70["payload"]["materials"] == ["europium", "holmium", "erbium", "thulium", "ytterbium",
                                             "lithium_batteries"]  # fmt: skip


def test_each_alert_reaches_the_chats_the_returning_measure_would_reach(services: Services) -> None:
    subscribers(services.db)
    announce_lapses(services.db, context(services), NOW)
    raised = alerts(services.db)
    assert raised[ANN_72]["chats"] == [US_GALLIUM, US_CHIPS]
    # Japan's defence needs holmium, but Japan's holmium stays restricted under the dual-use ban on Japan
    assert raised[ANN_70]["chats"] == [ALL_HOLMIUM]


def test_nothing_runs_out_before_the_day_after_the_date(services: Services) -> None:
    last_day = dt.datetime(2026, 11, 10, 23, 59, tzinfo=dt.UTC)
    assert announce_lapses(services.db, context(services), last_day) == []
    next_day = dt.datetime(2026, 11, 11, 0, 5, tzinfo=dt.UTC)
    assert len(announce_lapses(services.db, context(services), next_day)) == 1
    assert set(alerts(services.db)) == {ANN_70}


def test_no_status_moves(services: Services) -> None:
    subscribers(services.db)
    before = snapshot(services.db)
    announce_lapses(services.db, context(services), NOW)
    assert snapshot(services.db) == before


def test_the_message_names_both_levels_and_what_to_watch(services: Services) -> None:
    subscribers(services.db)
    announce_lapses(services.db, context(services), NOW)
    alert = alerts(services.db)[ANN_72]
    message = alert_message("lapse", alert["payload"], ["US:semiconductors"])
    assert message.startswith(
        "⏰ <b>A suspension has run out: China → United States</b>\n"
        "⛔ Gallium, germanium, antimony, superhard materials: the ban was suspended until 2026-11-27. Unless the "
        "suspension was extended, exports are back to <b>banned</b>; for now the bot still shows licensing, as no "
        "announcement of either has reached its sources.\n\n📰 MOFCOM Announcement 72/2025 suspends clause 2"
    )
    assert "📊 <b>Your exposure, unless it was extended</b>\n• United States · semiconductors: " in message
    assert "/status gallium" in message
    assert "🕒 2026-11-29 09:00 UTC · severity critical" in message


def test_outside_text_is_escaped(services: Services) -> None:
    db = services.db
    subscribe(db, 9, "KR", material="tungsten")
    earlier = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with db.atomic():
        live_change(db, "KR", "tungsten", 5, earlier, title="ban", item_id=None)
        live_change(
            db, "KR", "tungsten", 3, earlier + dt.timedelta(days=1), title="Ban <suspended> & reviewed", item_id=None,
            url='https://example.org/a?b=1&c="2"', source="wire <3>", until="2026-11-20",
        )  # fmt: skip
    [alert_id] = [i for i in announce_lapses(db, context(services), NOW) if alerts_of(db, i)["source"] == "wire <3>"]
    message = alert_message("lapse", alerts_of(db, alert_id))
    assert '<a href="https://example.org/a?b=1&amp;c=&quot;2&quot;">Ban &lt;suspended&gt; &amp; reviewed</a>' in message
    assert "— wire &lt;3&gt;" in message
    assert "<suspended>" not in message and "<3>" not in message
    assert "exports are back to <b>banned</b>; for now the bot still shows licensing" in message
    assert db.execute("SELECT chat_id FROM deliveries WHERE alert_id = ?", [alert_id]).fetchall() == [(9,)]


def alerts_of(db: Database, alert_id: int) -> dict[str, Any]:
    alert = get_alert(db, alert_id)
    assert alert is not None
    return dict(alert["payload"])


def test_a_digest_chat_reads_the_lapse_in_its_digest(services: Services) -> None:
    subscribe(services.db, US_GALLIUM, "US", material="gallium")
    set_digest(services.db, US_GALLIUM, "08:00", None)
    announce_lapses(services.db, context(services), NOW)
    [digest_id] = compose_due_digests(services.db, NOW + dt.timedelta(days=1))
    digest = get_alert(services.db, digest_id)
    assert digest is not None and digest["severity"] == "critical"
    message = digest_message(digest["payload"])
    assert message.startswith("🗞 <b>Daily digest — 2026-11-30</b>: 1 suspension run out\n\n")
    assert (
        "• ⏰ Gallium, germanium, antimony, superhard materials → United States: suspension ran out after "
        "2026-11-27; <b>banned</b> unless extended (the bot still shows licensing)"
    ) in message


def test_a_failing_run_is_logged_and_never_raised(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    broken = dataclasses.replace(services, db=open_database(":memory:", NOW))
    broken.db.execute("DROP TABLE statuses")
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        assert announce_lapses_now(broken) == []
    broken.db.close()
    assert "announcing lapsed suspensions failed" in caplog.text


class Recorder:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> Sent:
        self.messages.append(message)
        return Sent(len(self.messages))


async def test_the_alert_goes_out_through_the_delivery_worker(services: Services) -> None:
    subscribers(services.db)
    announce_lapses(services.db, context(services), NOW)
    sender = Recorder()
    worker = DeliveryWorker(services.db, sender, limits=SendLimits(per_second=None), clock=lambda: NOW)
    await worker.run_once(NOW)
    sent = {message.chat_id: message.text for message in sender.messages}
    assert sorted(sent) == [US_GALLIUM, ALL_HOLMIUM, US_CHIPS]
    assert sent[US_GALLIUM].startswith("⏰ <b>A suspension has run out: China → United States</b>")
    assert sent[ALL_HOLMIUM].startswith("⏰ <b>A suspension has run out: China → all destinations</b>")
    assert "• United States · semiconductors: " in sent[US_CHIPS]


async def test_the_bot_announces_lapses_at_start_and_schedules_them_daily(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = open_database(path, NOW)
    subscribe(db, US_GALLIUM, "US", material="gallium")
    subscribe(db, JAPAN_AUTOS, "JP", sector="autos")
    db.close()

    def opened(settings: Any) -> Services:
        return dataclasses.replace(open_services(settings, NOW), clock=lambda: NOW)

    async with FakeBotAPI() as api:
        settings = load_settings(None, telegram_base_url=api.base_url, chokepoint_db=path)
        app = build_application(settings, [], token=TOKEN, open_=opened)
        async with running(app):
            [alert] = await api.wait_for_messages(US_GALLIUM, timeout=10)
            job = app.bot_data.services.extras["scheduler"].get_job("lapses")
            trigger = str(job.trigger)
    assert alert["parse_mode"] == "HTML"
    assert alert["text"].startswith("⏰ <b>A suspension has run out: China → United States</b>\n⛔ Gallium")
    assert api.messages_to(JAPAN_AUTOS) == []
    assert "hour='0'" in trigger and "minute='5'" in trigger
    db = open_database(path, NOW)
    rows = db.execute("SELECT a.kind, d.chat_id FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id ORDER BY 2")
    assert [tuple(row) for row in rows] == [("lapse", None), ("lapse", US_GALLIUM)]  # Ann. 70 reaches no one here
    db.close()


def test_an_extension_moves_the_end_date_and_no_lapse_is_announced(services: Services) -> None:
    rules = load_rules(services.vocabulary)
    headline = (
        "China extends suspension of export controls on holmium, erbium, thulium, europium and ytterbium "
        "until November 10, 2027"
    )
    before = {row["material"]: row["level"] for row in current_statuses(services.db) if row["target"] == "ALL"}
    with services.db.atomic():
        moved = apply_measurement(
            services.db, measure(headline, "", rules, default_issuer="CN"), Evidence(headline, None, "wire"),
            NOW - dt.timedelta(days=25), services.vocabulary,
        )  # fmt: skip
    assert moved == []
    holmium = get_status(services.db, "CN", "ALL", "holmium")
    assert holmium is not None and holmium["until"] == "2027-11-10" and holmium["title"] == headline
    assert holmium["level"] == before["holmium"] == 0
    keys = [row[0] for row in services.db.execute("SELECT key FROM alerts WHERE kind = 'lapse'")]
    announce_lapses(services.db, AlertContext(services.vocabulary, services.table), NOW)
    lapses = [row[0] for row in services.db.execute("SELECT payload FROM alerts WHERE kind = 'lapse'")]
    assert keys == [] and any("72/2025" in lapse for lapse in lapses)
    assert not any("holmium" in lapse for lapse in lapses)  # extended: only what the extension left out lapses
