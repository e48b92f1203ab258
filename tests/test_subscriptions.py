"""Subscriptions and delivery modes: parsing and answers, then the commands in private chats and groups."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from telegram import Chat

from bot.domain.ladder import Level
from bot.domain.subscription import Subscription
from bot.domain.timing import hold_of, parse_duration, parse_window, release_time
from bot.domain.vocab import UnknownTerm, Vocabulary
from handlers.context import Services, UsageError
from handlers.modes import digest_answer, mute_answer, quiet_answer
from handlers.subscriptions import (
    callback_data,
    parse_callback,
    parse_subscribe,
    subscribe_chat,
    subscriptions_answer,
    unsubscribe_answer,
)
from storage.db import open_database
from storage.outbox import delivery_counts, stamp
from storage.subscribers import get_subscriber, subscriptions_of
from tests.alerting import raise_alert
from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
PRIVATE = Chat(501, Chat.PRIVATE)


# ---- parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        ("japan autos", Subscription("JP", sector="autos")),
        ("all gallium", Subscription("ALL", material="gallium")),
        ("japan min restricted", Subscription("JP", min_level=Level.RESTRICTED)),
        ("south korea chips min 3", Subscription("KR", sector="semiconductors", min_level=3)),
        ("日本 レアアース", Subscription("JP", material="rare_earths")),
        ("usa Ga", Subscription("US", material="gallium")),
        ("japan", Subscription("JP")),
    ],
)
def test_subscribe_reads_country_then_sector_or_material_then_minimum(
    vocabulary: Vocabulary, args: str, wanted: Subscription
) -> None:
    assert parse_subscribe(vocabulary, args.split()) == wanted


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("", "Usage: /subscribe COUNTRY"),
        ("narnia autos", "unknown country 'narnia'"),
        ("japan spaceships", "unknown sector or material 'spaceships'. Closest:"),
        ("japan autos min", "'min' takes one level at the end"),
        ("japan min extreme", "unknown level 'extreme'. Known levels: normal, watch"),
        ("japan " + "x" * 100, "longer than any name I know"),
    ],
)
def test_subscribe_refuses_what_does_not_fit_with_a_clear_answer(
    vocabulary: Vocabulary, args: str, problem: str
) -> None:
    with pytest.raises((UsageError, UnknownTerm, ValueError)) as caught:
        parse_subscribe(vocabulary, args.split())
    assert problem in str(caught.value)


def test_buttons_carry_the_subscription_and_unknown_data_is_refused(vocabulary: Vocabulary) -> None:
    wanted = Subscription("JP", sector="semiconductors")
    assert len(callback_data(wanted).encode()) <= 64
    assert parse_callback(vocabulary, callback_data(wanted)) == wanted
    for data in ("sub:XX:autos::0", "sub:JP:autos::9", "sub:JP", "other:JP:autos::0", "sub:JP:<b>::0"):
        with pytest.raises(ValueError):
            parse_callback(vocabulary, data)
    with pytest.raises(ValueError, match="not a subscription button"):
        parse_callback(vocabulary, "sub:JP:autos::²")


@pytest.mark.parametrize("number", ["²", "١", "３", "1²", "-1"])
def test_unsubscribe_reads_only_ascii_digits_and_answers_others_with_the_usage(services: Services, number: str) -> None:
    subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    with pytest.raises(UsageError, match=r"N must be a number from /subscriptions \(1 to 1\)\.\nUsage: /unsub"):
        unsubscribe_answer(services, 501, [number])
    assert len(subscriptions_of(services.db, 501)) == 1


# ---- answers ------------------------------------------------------------------------------------------------


def test_subscriptions_are_listed_numbered_and_removed_by_number_or_all(services: Services) -> None:
    assert subscriptions_answer(services, 501).startswith("No subscriptions yet.")
    subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    subscribe_chat(services, 501, "private", None, Subscription("ALL", material="gallium", min_level=4))
    again = subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    assert again.startswith("You are already subscribed to Japan · autos.")
    assert subscriptions_answer(services, 501).splitlines()[:4] == [
        "<b>Subscriptions</b>",
        "1. Japan · autos",
        "2. all destinations · gallium · restricted and up",
        "",
    ]
    assert unsubscribe_answer(services, 501, ["2"]) == "Removed: all destinations · gallium · restricted and up."
    with pytest.raises(UsageError, match="N must be a number from /subscriptions"):
        unsubscribe_answer(services, 501, ["5"])
    assert unsubscribe_answer(services, 501, ["all"]) == "Removed 1 subscription."
    assert subscriptions_of(services.db, 501) == []


def test_digest_quiet_and_mute_are_stored_and_shown(services: Services) -> None:
    subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    assert digest_answer(services, PRIVATE, ["8:00", "Asia/Tokyo"]).startswith("🗞 Daily digest at 08:00 (Asia/Tokyo)")
    assert quiet_answer(services, PRIVATE, ["22:00-07:00", "banned"]).startswith("🌙 Quiet hours 22:00–07:00")
    assert mute_answer(services, PRIVATE, ["4h"]).startswith("🔕 Muted until 2026-11-29 13:00 UTC")
    row = get_subscriber(services.db, 501)
    assert row is not None
    assert (row["digest_at"], row["timezone"], row["quiet_start"], row["quiet_end"], row["quiet_allows_banned"]) == (
        "08:00", "Asia/Tokyo", "22:00", "07:00", 1,
    )  # fmt: skip
    assert row["muted_until"] == stamp(NOW + dt.timedelta(hours=4))
    assert "Delivery: daily digest at 08:00 (Asia/Tokyo); quiet 22:00–07:00" in subscriptions_answer(services, 501)
    with pytest.raises(ValueError, match="not a time of day"):
        digest_answer(services, PRIVATE, ["25:00"])
    with pytest.raises(ValueError, match="unknown time zone"):
        digest_answer(services, PRIVATE, ["08:00", "Mars/Olympus"])
    with pytest.raises(ValueError, match="not a duration"):
        mute_answer(services, PRIVATE, ["forever"])


def test_subscriptions_show_a_mute_only_while_it_is_in_force(services: Services) -> None:
    subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    mute_answer(services, PRIVATE, ["1h"])
    assert "Delivery: instant; muted until 2026-11-29 10:00 UTC." in subscriptions_answer(services, 501)
    later = dataclasses.replace(services, clock=lambda: NOW + dt.timedelta(hours=1))
    assert "Delivery: instant.\n" in subscriptions_answer(later, 501)


def test_quiet_hours_take_a_time_zone_as_the_digest_does(services: Services) -> None:
    subscribe_chat(services, 501, "private", None, Subscription("JP", sector="autos"))
    assert quiet_answer(services, PRIVATE, ["22:00-07:00", "Asia/Tokyo"]) == (
        "🌙 Quiet hours 22:00–07:00 (Asia/Tokyo): alerts wait until 07:00. Add 'banned' to let bans through."
    )
    assert quiet_answer(services, PRIVATE, ["23:00-06:00", "america/new_york", "banned"]).startswith(
        "🌙 Quiet hours 23:00–06:00 (America/New_York): alerts wait until 06:00. Bans still come through."
    )
    row = get_subscriber(services.db, 501)
    assert row is not None
    assert (row["quiet_start"], row["quiet_end"], row["quiet_allows_banned"], row["timezone"]) == (
        "23:00", "06:00", 1, "America/New_York",
    )  # fmt: skip
    assert quiet_answer(services, PRIVATE, ["22:00-07:00"]).startswith("🌙 Quiet hours 22:00–07:00 (America/New_York)")
    with pytest.raises(ValueError, match=r"^unknown time zone 'Asia/Tokio'\. Closest: Asia/Tokyo"):
        quiet_answer(services, PRIVATE, ["22:00-07:00", "Asia/Tokio"])
    with pytest.raises(ValueError, match=r"^unknown time zone 'Europe/Berln'\. Closest: Europe/Berlin"):
        digest_answer(services, PRIVATE, ["08:00", "Europe/Berln"])
    for extra in (["banned", "banned"], ["UTC", "Asia/Tokyo"], ["UTC", "banned", "x"]):
        with pytest.raises(UsageError, match=r"Usage: /quiet HH:MM-HH:MM \[banned\] \[TIMEZONE\] \| off"):
            quiet_answer(services, PRIVATE, ["22:00-07:00", *extra])


def test_turning_a_mode_off_releases_what_it_held(services: Services) -> None:
    subscribe_chat(services, 501, "private", None, Subscription("JP"))
    mute_answer(services, PRIVATE, ["3h"])
    raise_alert(services.db, services.vocabulary, services.table, "JP", "rare_earths", Level.RESTRICTED)
    row = services.db.execute("SELECT next_attempt_at, held_by FROM deliveries").fetchone()
    assert row == (stamp(NOW + dt.timedelta(hours=3)), "mute")
    assert mute_answer(services, PRIVATE, ["off"]) == "Unmuted. 1 held alert is on its way."
    row = services.db.execute("SELECT next_attempt_at, held_by FROM deliveries").fetchone()
    assert row == (stamp(NOW), None)


def test_hold_rules_in_the_chats_time_zone() -> None:
    row = {
        "chat_id": 1, "timezone": "Asia/Tokyo", "digest_at": None, "quiet_start": "22:00", "quiet_end": "07:00",
        "quiet_allows_banned": 0, "muted_until": None,
    }  # fmt: skip
    hold = hold_of(row)
    tokyo_23h = dt.datetime(2026, 11, 29, 14, 0, tzinfo=dt.UTC)  # 23:00 in Tokyo
    assert release_time(hold, tokyo_23h, banned=False) == (dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.UTC), False)
    assert release_time(hold, NOW, banned=False) == (NOW, False)  # 18:00 in Tokyo
    assert parse_window("22:00-07:00") == (dt.time(22), dt.time(7))
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    with pytest.raises(ValueError):
        parse_duration("31d")


# ---- in chat ------------------------------------------------------------------------------------------------


async def test_a_user_subscribes_lists_and_unsubscribes_in_a_private_chat(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/subscribe japan autos", chat_id=601)
        api.user_says("/subscribe all gallium min restricted", chat_id=601)
        api.user_says("/subscriptions", chat_id=601)
        api.user_says("/unsubscribe 1", chat_id=601)
        api.user_says("/subscribe narnia autos", chat_id=601)
        replies = [m["text"] for m in await api.wait_for_messages(601, count=5, timeout=10)]
    assert replies[0].startswith("✅ Subscribed to <b>Japan · autos</b>")
    assert "2. all destinations · gallium · restricted and up" in replies[2]
    assert replies[3] == "Removed: Japan · autos."
    assert replies[4].startswith("Unknown country 'narnia'. Closest:")
    db = open_database(tmp_path / "bot.db", NOW)
    assert [(s["country"], s["material"], s["min_level"]) for s in subscriptions_of(db, 601)] == [("ALL", "gallium", 4)]
    db.close()


async def test_subscribe_with_a_country_only_offers_a_keyboard_of_sectors(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/subscribe japan", chat_id=602)
        [question] = await api.wait_for_messages(602, timeout=10)
        keyboard = question["reply_markup"]["inline_keyboard"]
        buttons = {button["text"]: button["callback_data"] for row in keyboard for button in row}
        assert question["text"] == "Which sectors of Japan? (or every material)"
        assert buttons["autos"] == "sub:JP:autos::0" and buttons["Every material"] == "sub:JP:::0"
        api.press_button(buttons["semiconductors"], chat_id=602, message_id=1)
        api.press_button(buttons["semiconductors"], chat_id=602, message_id=1)
        await api.wait_for(lambda: len(api.edited) == 2, timeout=10)
    assert api.edited[0]["text"].startswith("✅ Subscribed to <b>Japan · semiconductors</b>")
    assert api.edited[1]["text"].startswith("You are already subscribed to Japan · semiconductors.")
    assert [answer["text"] for answer in api.callback_answers] == ["Subscribed", "Already subscribed"]


async def test_in_a_group_only_admins_change_subscriptions_and_commands_may_name_the_bot(tmp_path: Path) -> None:
    group = -700
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.set_admins(group, [71])
        api.user_says("/subscribe japan autos", chat_id=group, user_id=72, chat_type="supergroup", chat_title="Ops")
        api.user_says("/subscribe@chokepoint_test_bot japan autos", chat_id=group, user_id=71, chat_type="supergroup")
        api.user_says("/subscriptions@chokepoint_test_bot", chat_id=group, user_id=72, chat_type="supergroup")
        api.user_says("/digest 08:00", chat_id=group, user_id=72, chat_type="supergroup")
        api.user_says("/subscriptions", chat_id=group, user_id=71, chat_type="supergroup")
        replies = [m["text"] for m in await api.wait_for_messages(group, count=4, timeout=10)]
    assert replies[0] == "Only the group's admins can change its subscriptions."
    assert replies[1].startswith("✅ Subscribed to <b>Japan · autos</b>")
    assert "1. Japan · autos" in replies[2]
    assert "1. Japan · autos" in replies[3]  # the second refusal to the same member is not posted again
    db = open_database(tmp_path / "bot.db", NOW)
    subscriber = get_subscriber(db, group)
    assert subscriber is not None and subscriber["chat_type"] == "supergroup" and subscriber["digest_at"] is None
    db.close()


async def test_admins_see_failed_deliveries_and_others_are_refused(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/failed", chat_id=7)
        api.user_says("/failed", chat_id=8)
        [admin_view] = await api.wait_for_messages(7, timeout=10)
        [refusal] = await api.wait_for_messages(8, timeout=10)
    assert admin_view["text"].startswith("<b>Outbox</b>: empty")
    assert "No failed deliveries." in admin_view["text"]
    assert refusal["text"] == "Only the bot's admins can use /failed."
    db = open_database(tmp_path / "bot.db", NOW)
    assert delivery_counts(db) == {}
    db.close()


def test_unsubscribing_with_no_subscriptions_says_so(services: Services) -> None:
    from handlers.subscriptions import unsubscribe_answer

    assert unsubscribe_answer(services, 555, ["1"]).startswith("There are no subscriptions to remove.")


def test_a_new_minimum_level_replaces_the_old_one_rather_than_adding_a_line(services: Services) -> None:
    first = subscribe_chat(services, 601, "private", None, Subscription("JP", sector="autos", min_level=5))
    again = subscribe_chat(services, 601, "private", None, Subscription("JP", sector="autos", min_level=5))
    lowered = subscribe_chat(services, 601, "private", None, Subscription("JP", sector="autos"))
    assert first.startswith("✅ Subscribed") and again.startswith("You are already subscribed")
    assert lowered.startswith("✏️ Updated: <b>Japan · autos</b>")
    rows = services.db.execute("SELECT min_level FROM subscriptions WHERE chat_id = 601").fetchall()
    assert rows == [(0,)]


def test_subscribing_names_a_suspension_that_already_ran_out_on_what_it_follows(services: Services) -> None:
    us_chips = subscribe_chat(services, 701, "private", None, Subscription("US", sector="semiconductors"))
    assert "⏰ In force again since the suspension ran out on 2026-11-27" in us_chips and "46/2024" in us_chips
    assert "57/2025" not in us_chips  # holmium and the rest are not what US chips need
    all_holmium = subscribe_chat(services, 702, "private", None, Subscription("ALL", material="holmium"))
    assert "ran out on 2026-11-10" in all_holmium and "57/2025" in all_holmium
    japan_gallium = subscribe_chat(services, 703, "private", None, Subscription("JP", material="gallium"))
    assert "⏰" not in japan_gallium  # Japan's gallium was never suspended: nothing came back
    restricted_up = subscribe_chat(services, 704, "private", None, Subscription("ALL", material="holmium", min_level=4))
    assert "⏰" not in restricted_up  # 57/2025 is licensing (2): below the minimum, no news to this subscription
    banned_us = subscribe_chat(services, 705, "private", None, Subscription("US", sector="semiconductors", min_level=5))
    assert "46/2024" in banned_us  # its ban is at the minimum
