"""Alerts: who a change reaches, the payload and message, stable keys, the transaction, holds and digests."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlite_utils import Database

from bot.domain.alert_text import alert_message, move_severity, severity
from bot.domain.html import TELEGRAM_LIMIT, split_message
from bot.domain.ladder import Level
from handlers.context import Services
from jobs.alerts import AlertContext, admin_alert, alerts_for_changes, compose_due_digests
from storage.outbox import get_alert, stamp
from storage.subscribers import deactivate_subscriber, set_digest, set_muted_until, set_quiet
from tests.alerting import NOW, live_change, subscribe
from tests.storage_reads import deliveries_of_alert, get_status


def context(services: Services) -> AlertContext:
    return AlertContext(services.vocabulary, services.table)


def chats_of(db: Database, alert_id: int) -> set[int]:
    return {row["chat_id"] for row in deliveries_of_alert(db, alert_id)}


@pytest.fixture
def subscribed(services: Services) -> Database:
    db = services.db
    subscribe(db, 1, "JP", sector="autos")
    subscribe(db, 2, "US", material="gallium")
    subscribe(db, 3, "ALL", material="gallium")
    subscribe(db, 4, "JP", min_level=Level.RESTRICTED)
    subscribe(db, 5, "JP", min_level=Level.BANNED)
    subscribe(db, 6, "DE", sector="autos")
    subscribe(db, 7, "ALL", sector="autos")
    subscribe(db, 8, "JP", material="dysprosium")
    subscribe(db, -100, "JP", sector="autos", chat_type="supergroup")
    return db


def test_a_rare_earth_tightening_on_japan_reaches_exactly_the_matching_chats(
    services: Services, subscribed: Database
) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    # not chat 8 (Japan, dysprosium): Japan's dysprosium was restricted already, under the dual-use ban on Japan.
    assert chats_of(subscribed, alert_id) == {1, 4, 7, -100}
    rows = {row["chat_id"]: row for row in deliveries_of_alert(subscribed, alert_id)}
    assert rows[1]["state"] == "pending" and rows[1]["next_attempt_at"] == stamp(NOW)
    assert json.loads(rows[1]["detail"]) == ["JP:autos"]
    assert json.loads(rows[7]["detail"]) == ["ALL:autos"]
    assert json.loads(rows[4]["detail"]) == ["JP:"]


def test_a_measure_on_all_destinations_reaches_every_country_subscriber_of_the_material(
    services: Services, subscribed: Database
) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "ALL", "gallium", Level.BANNED)]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    # chat 2 follows the United States, whose gallium is banned already (Ann. 46 clause 2, in force again since
    # its suspension ran out on 2026-11-27): nothing moved for it.
    assert chats_of(subscribed, alert_id) == {3, 4, 5}


def test_an_easing_reaches_those_whose_minimum_the_status_was_at(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earth_magnets", Level.LICENSING, title="licences resume")]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    # chat 4 asked for restricted and up: magnets were restricted for Japan, so their easing matters; chat 5
    # (banned) not; chat 8 (dysprosium) not: a measure on magnets is not one on the oxides.
    assert chats_of(subscribed, alert_id) == {1, 4, 7, -100}
    assert get_alert(subscribed, alert_id)["severity"] == "info"  # type: ignore[index]


def test_an_easing_under_a_measure_still_in_force_raises_no_alert(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        # Japan's gallium stays under licence: Ann. 23/2023 covers every destination.
        changes = [live_change(subscribed, "JP", "gallium", Level.NORMAL, title="licences resume")]
        assert alerts_for_changes(subscribed, changes, context(services), NOW) == []
    assert subscribed.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0


def test_an_alert_states_the_effective_levels_of_the_target(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        # the US ban on gallium goes, the licensing for all destinations stays; then the ban comes back.
        lifted = [live_change(subscribed, "US", "gallium", Level.NORMAL, title="lifted", item_id=1)]
        [lifted_id] = alerts_for_changes(subscribed, lifted, context(services), NOW)
        banned = [live_change(subscribed, "US", "gallium", Level.BANNED, title="banned", item_id=2)]
        [alert_id] = alerts_for_changes(subscribed, banned, context(services), NOW)
    lifted_payload = get_alert(subscribed, lifted_id)["payload"]  # type: ignore[index]
    assert [(c["old"], c["new"]) for c in lifted_payload["changes"]] == [(Level.BANNED, Level.LICENSING)]
    payload = get_alert(subscribed, alert_id)["payload"]  # type: ignore[index]
    assert [(c["old"], c["new"]) for c in payload["changes"]] == [(Level.LICENSING, Level.BANNED)]
    assert "Gallium: licensing → <b>banned</b>" in alert_message("status", payload)


def test_the_payload_and_message_say_what_moved_where_and_the_exposure_before_and_after(
    services: Services, subscribed: Database
) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    alert = get_alert(subscribed, alert_id)
    assert alert is not None and alert["kind"] == "status" and alert["severity"] == "high"
    payload = alert["payload"]
    effect = payload["exposure"]["JP:autos"]
    assert effect["after"] > effect["before"]
    message = alert_message("status", payload, ["JP:autos"])
    assert message.startswith("🔴 <b>Tightened: China → Japan</b>\n")
    assert "Rare earths: normal → <b>restricted</b>" in message
    assert '📰 <a href="https://example.org/news/1">MOFCOM halts rare-earth export licences for Japan</a>' in message
    assert f"Japan · autos: {effect['before']} → {effect['after']}/100" in message
    assert "🕒 2026-11-29 09:00 UTC" in message


def test_a_subscriber_to_all_reads_the_exposure_of_the_country_hit(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    payload = get_alert(subscribed, alert_id)["payload"]  # type: ignore[index]
    assert "📊 <b>Your exposure</b>\n• Japan · autos:" in alert_message("status", payload, ["ALL:autos"])
    assert "Your exposure" not in alert_message("status", payload, [])


def test_outside_text_is_escaped_and_a_hostile_link_is_not_a_link(services: Services, subscribed: Database) -> None:
    title = '<script>alert("x")</script> & <b>bold</b>'
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED, title=title, url="javascript:x")]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    message = alert_message("status", get_alert(subscribed, alert_id)["payload"], ["JP:autos"])  # type: ignore[index]
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;' in message
    assert "<script>" not in message and "javascript:" not in message


def test_the_same_changes_never_make_two_alerts(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        first = alerts_for_changes(subscribed, changes, context(services), NOW)
    second = alerts_for_changes(subscribed, changes, context(services), NOW + dt.timedelta(minutes=1))
    assert len(first) == 1 and second == []
    assert subscribed.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1
    assert subscribed.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 4


def test_the_changes_of_one_item_make_one_alert_and_of_two_items_two(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        changes = [
            live_change(subscribed, "JP", "gallium", Level.BANNED, item_id=1),
            live_change(subscribed, "JP", "germanium", Level.BANNED, item_id=1),
            live_change(subscribed, "JP", "graphite", Level.BANNED, item_id=2, title="graphite ban"),
        ]
        alert_ids = alerts_for_changes(subscribed, changes, context(services), NOW)
    assert len(alert_ids) == 2
    first = get_alert(subscribed, alert_ids[0])
    assert first is not None and [c["material"] for c in first["payload"]["changes"]] == ["gallium", "germanium"]
    assert first["severity"] == "critical"


def test_a_change_and_its_alerts_commit_together_or_not_at_all(services: Services, subscribed: Database) -> None:
    with pytest.raises(RuntimeError), subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        alerts_for_changes(subscribed, changes, context(services), NOW)
        raise RuntimeError("the check failed after measuring")
    assert subscribed.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
    assert subscribed.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    assert get_status(subscribed, "CN", "JP", "rare_earths") is None


def test_inactive_chats_get_nothing(services: Services, subscribed: Database) -> None:
    deactivate_subscriber(subscribed, 1, "blocked")
    with subscribed.atomic():
        changes = [live_change(subscribed, "JP", "rare_earths", Level.RESTRICTED)]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    assert 1 not in chats_of(subscribed, alert_id)


def test_digest_quiet_and_mute_hold_deliveries_until_they_allow(services: Services) -> None:
    db = services.db
    for chat in (11, 12, 13, 14, 15):
        subscribe(db, chat, "JP")
    set_digest(db, 11, "08:00", "Asia/Tokyo")  # 08:00 in Tokyo is 23:00 UTC
    set_quiet(db, 12, "08:00", "10:00", allow_banned=False)  # NOW is 09:00 UTC: quiet until 10:00
    set_quiet(db, 13, "08:00", "10:00", allow_banned=True)
    set_muted_until(db, 14, stamp(NOW + dt.timedelta(hours=4)))
    set_quiet(db, 15, "22:00", "07:00", allow_banned=False)  # not quiet now
    with db.atomic():
        changes = [live_change(db, "JP", "gallium", Level.BANNED)]
        [alert_id] = alerts_for_changes(db, changes, context(services), NOW)
    rows = {row["chat_id"]: (row["mode"], row["next_attempt_at"]) for row in deliveries_of_alert(db, alert_id)}
    assert rows == {
        11: ("digest", stamp(dt.datetime(2026, 11, 29, 23, 0, tzinfo=dt.UTC))),
        12: ("instant", stamp(dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC))),
        13: ("instant", stamp(NOW)),  # a ban goes through quiet hours for a chat that opted in
        14: ("instant", stamp(NOW + dt.timedelta(hours=4))),
        15: ("instant", stamp(NOW)),
    }


def test_a_digest_folds_the_days_alerts_into_one_message(services: Services) -> None:
    db = services.db
    subscribe(db, 21, "JP", sector="autos")
    set_digest(db, 21, "10:00", None)
    with db.atomic():
        first = [live_change(db, "JP", "rare_earths", Level.RESTRICTED, item_id=1)]
        second = [live_change(db, "JP", "graphite", Level.BANNED, item_id=2, title="graphite <ban>")]
        alerts_for_changes(db, first, context(services), NOW)
        alerts_for_changes(db, second, context(services), NOW)
    assert compose_due_digests(db, NOW) == []  # not 10:00 yet
    [digest_id] = compose_due_digests(db, NOW + dt.timedelta(hours=1))
    digest = get_alert(db, digest_id)
    assert digest is not None and digest["kind"] == "digest" and digest["severity"] == "critical"
    assert [row["chat_id"] for row in deliveries_of_alert(db, digest_id)] == [21]
    states = db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state").fetchall()
    assert states == [("digested", 2), ("pending", 1)]
    message = alert_message("digest", digest["payload"])
    assert message.startswith("🗞 <b>Daily digest — 2026-11-29</b>: 2 status changes")
    assert "graphite &lt;ban&gt;" in message and message.count("Japan · autos:") == 2
    assert compose_due_digests(db, NOW + dt.timedelta(hours=2)) == []


def test_admin_alerts_go_to_each_admin_once_per_key(services: Services) -> None:
    db = services.db
    key = "source-down:mofcom:2026-11-29T08:00:00+00:00"
    alert_id = admin_alert(db, key, "mofcom is down <timeout>", [7, 8, 7], NOW)
    assert alert_id is not None and chats_of(db, alert_id) == {7, 8}
    assert admin_alert(db, key, "mofcom is down", [7, 8], NOW) is None
    message = alert_message("admin", get_alert(db, alert_id)["payload"])  # type: ignore[index]
    assert message == "🛠 <b>Chokepoint admin</b>\nmofcom is down &lt;timeout&gt;"


def test_a_huge_alert_is_shortened_to_stay_readable(services: Services, subscribed: Database) -> None:
    with subscribed.atomic():
        changes = [
            live_change(subscribed, target, material, Level.BANNED, title="x" * 3000)
            for target in ("JP", "KR", "TW", "US", "DE", "FR", "GB", "IN")
            for material in ("gallium", "germanium", "graphite", "antimony", "tungsten")
        ]
        [alert_id] = alerts_for_changes(subscribed, changes, context(services), NOW)
    payload = get_alert(subscribed, alert_id)["payload"]  # type: ignore[index]
    message = alert_message("status", payload, ["ALL:autos"])
    assert "… and 12 more" in message and "x" * 399 + "…</a>" in message
    assert len(message) <= TELEGRAM_LIMIT
    japan = alert_message("status", payload, ["JP:autos"])  # Japan's own five, no other country's
    assert japan.startswith("🚨 <b>Tightened: China → Japan</b>\n") and "more" not in japan


def test_a_long_digest_is_split_between_lines_never_inside_a_tag(services: Services) -> None:
    db = services.db
    subscribe(db, 31, "ALL")
    set_digest(db, 31, "10:00", None)
    with db.atomic():
        for number, material in enumerate(("gallium", "germanium", "graphite", "antimony", "tungsten") * 4):
            target = ("JP", "KR", "TW", "US")[number // 5]
            change = live_change(db, target, material, Level.BANNED, item_id=number, title=f"{number} " + "y" * 380)
            alerts_for_changes(db, [change], context(services), NOW)
    [digest_id] = compose_due_digests(db, NOW + dt.timedelta(hours=1))
    parts = split_message(alert_message("digest", get_alert(db, digest_id)["payload"]))  # type: ignore[index]
    assert len(parts) >= 2
    for part in parts:
        assert len(part) <= TELEGRAM_LIMIT
        assert part.count("<a ") == part.count("</a>") and part.count("<b>") == part.count("</b>")


def test_severity_follows_level_and_direction() -> None:
    assert move_severity(0, Level.BANNED) == "critical"
    assert move_severity(Level.REVIEW, Level.RESTRICTED) == "high"
    assert move_severity(Level.NORMAL, Level.WATCH) == "low"
    assert move_severity(Level.BANNED, Level.NORMAL) == "info"
    assert severity([(0, 1), (2, 3)]) == "medium"
    assert severity([]) == "info"
