"""Alerts follow the subscriber's country (docs/ARCHITECTURE.md: a country's effective level is the max of its own, its
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
from bot.domain.matching import Move, matching_filters
from bot.domain.measures import Measure
from bot.domain.rules import load_rules
from bot.domain.subscription import Subscription
from bot.domain.vocab import Vocabulary
from handlers.context import Services
from jobs.alerts import AlertContext, alerts_for_changes, compose_due_digests
from jobs.baseline import apply_baseline
from jobs.check import NewItem
from jobs.lapses import announce_lapses
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.items import insert_new_items
from storage.outbox import get_alert
from storage.subscribers import set_digest
from tests.alerting import NOW, live_change, subscribe
from tests.storage_reads import deliveries_of_alert

SOURCE = SourceSpec(
    id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN", trust="official"
)
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


def test_a_suspension_acts_on_the_latest_measures_and_leaves_april_2025_licensing(services: Services) -> None:
    db = services.db
    subscribe(db, 1, "JP", material="dysprosium")
    subscribe(db, 2, "JP")  # holmium comes under it
    subscribe(db, 3, "ALL", material="dysprosium")
    subscribe(db, 4, "KR", material="holmium")
    subscribe(db, 5, "DE", material="dysprosium")
    [alert_id] = check(services, SUSPENSION)
    sent = messages(db, alert_id)
    # "suspends rare earth export controls" acts on the latest rare-earth measures (October 2025: Ho, Er, Tm, Eu,
    # Yb); Announcement 18/2025 (Dy and six more, April 2025) was never suspended: Dy stays licensing everywhere.
    assert sorted(sent) == [2, 4]
    assert "Holmium: licensing → <b>normal</b>" in sent[4]
    assert "Dysprosium" not in sent[2]


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
    assert "Gallium: licensing → <b>banned</b>" in sent[1] and "restricted" not in sent[1]
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
        assert sent[chat].startswith("🚨 <b>Tightened: China → Japan</b>\n⛔ Gallium: licensing → <b>banned</b>")
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
    assert "Gallium → Japan: licensing → <b>banned</b>" in message
    assert "Gallium → South Korea: licensing → <b>banned</b>" in message
    assert "United States" not in message


def test_a_group_easing_on_all_reaches_a_member_subscriber_only_where_its_member_moved(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    levels = {("JP", "dysprosium"): (4, 4), ("JP", "neodymium"): (3, 0), ("KR", "dysprosium"): (3, 0)}
    filters = [
        Subscription("JP", material="dysprosium"),
        Subscription("JP", material="neodymium"),
        Subscription("KR", "", "dysprosium"),
    ]
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
    assert "Gallium: licensing → <b>banned</b>" in message and "restricted" not in message


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
    monkeypatch.setattr(StatusBook, "level", lambda self, *a, **k: calls.append(a) or level(self, *a, **k))
    [alert_id] = check(services, SUSPENSION)
    distinct = set(calls)
    assert len(calls) <= 2 * len(distinct) + 50  # each (country, material) before and after, once
    assert len(deliveries_of_alert(db, alert_id)) > 0


# ---------------------------------------------------------------- lapses


def test_the_ann_70_lapse_puts_the_october_measures_back_in_force_and_says_so(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    before = dt.datetime(2026, 11, 9, 9, 0, tzinfo=dt.UTC)
    db = open_database(":memory:", before)
    apply_baseline(db, baseline, before, vocabulary)
    subscribe(db, 1, "ALL", material="holmium")
    subscribe(db, 2, "JP", material="holmium")  # military-only measures do not hold Japan's civilian holmium
    subscribe(db, 3, "KR", material="gallium")  # nothing of what it follows was suspended
    after = dt.datetime(2026, 11, 11, 0, 5, tzinfo=dt.UTC)
    created = announce_lapses(db, AlertContext(vocabulary, table), after)
    assert announce_lapses(db, AlertContext(vocabulary, table), after) == []  # once
    sent = {chat: text for alert_id in created for chat, text in messages(db, alert_id).items()}
    assert sorted(sent) == [1, 2]
    assert "Holmium: normal → <b>licensing</b>" in sent[1]
    assert (
        "In force again: the suspension of MOFCOM Announcement 57/2025 ran out on 2026-11-10 and no extension "
        "was seen" in sent[1]
    )
