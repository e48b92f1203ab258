"""Alerts follow the subscriber's country (DESIGN.md: a country's effective level is the highest of its own, its
bloc's and ALL's status, on the material or a group covering it): a change reaches a subscriber to a country only
when that country's effective level moved, and each chat reads its own country's levels; a subscriber to ALL
reads the change's own."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlite_utils import Database

from bot.domain.alert_text import alert_message, digest_message
from bot.domain.knowledge import ExposureTable
from bot.domain.ladder import Level
from bot.domain.matching import Filter, Move, matching_filters
from bot.domain.measure import load_rules
from bot.domain.vocab import Vocabulary
from handlers.context import Services
from jobs.alerts import AlertContext, alerts_for_changes, compose_due_digests
from jobs.check import NewItem
from jobs.lapses import announce_lapses
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.items import insert_new_items
from storage.outbox import deliveries_of_alert, get_alert
from storage.subscribers import set_digest
from tests.alerting import NOW, live_change, subscribe

SOURCE = SourceSpec(id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN")
SUSPENSION = "China suspends rare earth export controls for one year"
ANN_70 = "MOFCOM + GAC Announcement 70/2025"


def context(services: Services) -> AlertContext:
    return AlertContext(services.vocabulary, services.table)


def check(services: Services, title: str, when: dt.datetime = NOW) -> list[int]:
    """One fresh item through the pipeline, in one transaction, as a check does it; the status alerts it raised."""
    db = services.db
    first = int(db.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()[0])
    row = {"guid": title, "title": title, "summary": "", "link": "https://example.org/n", "published_at": None}
    [stored] = insert_new_items(db, SOURCE.id, [row], when.isoformat())
    sink = MeasuringSink(load_rules(services.vocabulary), context(services))
    with db.atomic():
        sink(db, [NewItem(int(stored["id"]), SOURCE, title, "", row["link"], when, fresh=True)], when)
    return [r[0] for r in db.execute("SELECT id FROM alerts WHERE id > ? AND kind = 'status'", [first])]


def messages(db: Database, alert_id: int) -> dict[int, str]:
    """Each chat's message for an alert, rendered as the delivery worker renders it (with the row's detail)."""
    alert = get_alert(db, alert_id)
    assert alert is not None
    return {
        row["chat_id"]: alert_message(alert["kind"], alert["payload"], json.loads(row["detail"] or "[]"))
        for row in deliveries_of_alert(db, alert_id)
    }


# ---------------------------------------------------------------- status alerts


def test_a_suspension_on_all_reaches_no_one_whose_country_stays_restricted(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="dysprosium")  # Japan's dysprosium stays restricted (dual-use ban on Japan)
    subscribe(db, 2, "JP")  # and so do all seven elements eased, for Japan
    subscribe(db, 3, "ALL", material="dysprosium")
    subscribe(db, 4, "KR", material="dysprosium")  # no measure of its own: ALL's licensing was Korea's level
    subscribe(db, 5, "DE", material="dysprosium")  # nor on Germany or the EU
    subscribe(db, 6, "JP", sector="autos", min_level=Level.RESTRICTED)
    [alert_id] = check(services, SUSPENSION)
    sent = messages(db, alert_id)
    assert sorted(sent) == [3, 4, 5]
    assert sent[3].startswith("🟢 <b>Eased: China → all destinations</b>\n")
    assert "Dysprosium: licensing → <b>normal</b>" in sent[3]
    assert sent[4].startswith("🟢 <b>Eased: China → South Korea</b>\n")
    assert "Dysprosium: licensing → <b>normal</b>" in sent[4]
    assert sent[5].startswith("🟢 <b>Eased: China → Germany</b>\n")
    payload = get_alert(db, alert_id)["payload"]  # type: ignore[index]
    assert sorted(payload["countries"]) == ["DE", "KR"]
    assert {(c["material"], c["old"], c["new"]) for c in payload["countries"]["KR"]} >= {
        ("dysprosium", Level.LICENSING, Level.NORMAL)
    }


def test_a_tightening_on_all_reads_as_each_countrys_own_move(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="gallium")  # restricted for Japan (dual-use ban), licensing for all
    subscribe(db, 2, "ALL", material="gallium")
    subscribe(db, 3, "KR", material="gallium")
    subscribe(db, 4, "JP", material="gallium", min_level=Level.BANNED)
    subscribe(db, 5, "KR", sector="semiconductors")
    with db.atomic():
        change = live_change(db, "ALL", "gallium", Level.BANNED, title="China bans gallium exports")
        [alert_id] = alerts_for_changes(db, [change], context(services), NOW)
    sent = messages(db, alert_id)
    assert sorted(sent) == [1, 2, 3, 4, 5]
    assert sent[1].startswith("🚨 <b>Tightened: China → Japan</b>\n")
    assert "Gallium: restricted → <b>banned</b>" in sent[1] and "licensing" not in sent[1]
    assert "Gallium: licensing → <b>banned</b>" in sent[2] and "China → all destinations" in sent[2]
    assert "Gallium: licensing → <b>banned</b>" in sent[3] and "China → South Korea" in sent[3]
    assert "📊 <b>Your exposure</b>\n• South Korea · semiconductors:" in sent[5]


def test_a_tightening_on_japan_reaches_japan_with_japans_levels(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="gallium")
    subscribe(db, 2, "KR", material="gallium")
    subscribe(db, 3, "ALL", material="gallium")
    subscribe(db, 4, "JP", sector="semiconductors")
    with db.atomic():
        change = live_change(db, "JP", "gallium", Level.BANNED)
        [alert_id] = alerts_for_changes(db, [change], context(services), NOW)
    sent = messages(db, alert_id)
    assert sorted(sent) == [1, 3, 4]
    for chat in (1, 3, 4):
        assert sent[chat].startswith("🚨 <b>Tightened: China → Japan</b>\n⛔ Gallium: restricted → <b>banned</b>")
    assert "📊 <b>Your exposure</b>\n• Japan · semiconductors:" in sent[4]


def test_a_chat_subscribed_to_two_countries_reads_each_affected_one(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="gallium")
    subscribe(db, 1, "KR", material="gallium")
    subscribe(db, 1, "US", material="germanium")  # germanium did not move
    with db.atomic():
        change = live_change(db, "ALL", "gallium", Level.BANNED, title="China bans gallium exports")
        [alert_id] = alerts_for_changes(db, [change], context(services), NOW)
    message = messages(db, alert_id)[1]
    assert message.startswith("🚨 <b>Tightened: China → Japan, South Korea</b>\n")
    assert "Gallium → Japan: restricted → <b>banned</b>" in message
    assert "Gallium → South Korea: licensing → <b>banned</b>" in message
    assert "United States" not in message


def test_a_group_easing_on_all_reaches_a_member_subscriber_only_where_its_member_moved(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    levels = {("JP", "dysprosium"): (4, 4), ("JP", "neodymium"): (3, 0), ("KR", "dysprosium"): (3, 0)}
    filters = [Filter("JP", material="dysprosium"), Filter("JP", material="neodymium"), Filter("KR", "", "dysprosium")]
    moves = [Move("ALL", "rare_earths", 3, 0)]
    matched = matching_filters(filters, moves, vocabulary, table, lambda c, m: levels.get((c, m), (0, 0)))
    assert matched == filters[1:]


def test_a_digest_chat_reads_its_countrys_levels(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="gallium")
    set_digest(db, 1, "10:00", None)
    with db.atomic():
        change = live_change(db, "ALL", "gallium", Level.BANNED, title="China bans gallium exports")
        alerts_for_changes(db, [change], context(services), NOW)
    [digest_id] = compose_due_digests(db, NOW + dt.timedelta(hours=1))
    message = digest_message(get_alert(db, digest_id)["payload"])  # type: ignore[index]
    assert "Gallium: restricted → <b>banned</b>" in message and "licensing" not in message


def test_ten_thousand_subscribers_are_matched_per_country_and_material(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = services.db
    countries = ["JP", "KR", "US", "DE", "FR", "IN", "TW", "GB", "ALL"]
    sectors = ["autos", "semiconductors", "defense", "evs", ""]
    with db.atomic():
        for chat in range(1, 10_001):
            subscribe(db, chat, countries[chat % len(countries)], sector=sectors[chat % len(sectors)])
    calls: list[Any] = []
    from bot.domain.status import StatusBook

    level = StatusBook.level
    monkeypatch.setattr(StatusBook, "level", lambda self, *a: calls.append(a) or level(self, *a))
    [alert_id] = check(services, SUSPENSION)
    distinct = set(calls)
    assert len(calls) <= 2 * len(distinct) + 50  # each (country, material) before and after, once
    assert len(deliveries_of_alert(db, alert_id)) > 0


# ---------------------------------------------------------------- lapses


def test_the_ann_70_lapse_reaches_all_and_korea_but_not_japan_whose_holmium_stays_restricted(
    services: Services,
) -> None:
    db = services.db
    subscribe(db, 1, "ALL", material="holmium")
    subscribe(db, 2, "JP", material="holmium")  # /status japan: holmium restricted, through the dual-use ban
    subscribe(db, 3, "KR", material="holmium")
    announce_lapses(db, context(services), NOW)
    [alert_id] = [
        row[0] for row in db.execute("SELECT id FROM alerts WHERE kind = 'lapse'")
        if get_alert(db, row[0])["payload"]["source"] == ANN_70  # type: ignore[index]
    ]  # fmt: skip
    sent = messages(db, alert_id)
    assert sorted(sent) == [1, 3]
    assert sent[1].startswith("⏰ <b>A suspension has run out: China → all destinations</b>\n")
    assert sent[3].startswith("⏰ <b>A suspension has run out: China → South Korea</b>\n")
    assert "exports are back to <b>licensing</b>; for now the bot still shows normal" in sent[3]
    payload = get_alert(db, alert_id)["payload"]  # type: ignore[index]
    assert list(payload["countries"]) == ["KR"]
    korea = {e["material"]: (e["level"], e["lifted"]) for e in payload["countries"]["KR"]}
    assert korea["holmium"] == (Level.NORMAL, Level.LICENSING)


def test_a_lapse_that_moves_no_ones_effective_level_raises_no_alert(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="graphite")
    earlier = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with db.atomic():
        # Japan's graphite: restricted through the dual-use ban on Japan; a Japan-only licensing suspended beneath it
        live_change(db, "JP", "graphite", Level.LICENSING, earlier, title="licensing", item_id=None)
        live_change(
            db, "JP", "graphite", Level.NORMAL, earlier + dt.timedelta(days=1), title="licensing suspended",
            item_id=None, source="wire", until="2026-11-20",
        )  # fmt: skip
    created = announce_lapses(db, context(services), NOW)
    sources = [get_alert(db, alert_id)["payload"]["source"] for alert_id in created]  # type: ignore[index]
    assert "wire" not in sources
