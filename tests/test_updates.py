"""Which updates run commands: new messages and a channel's posts by its admins, never an edit; and who is
refused in a group or channel, how often, at what cost in calls to Telegram."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from handlers.chat_admins import ChatAdmins
from handlers.context import command_for
from storage.db import open_database
from storage.subscribers import get_subscriber, subscriptions_of
from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
CHANNEL = -1001900
GROUP = -901
NOT_GROUP_ADMIN = "Only the group's admins can change its subscriptions."
NOT_CHANNEL_ADMIN = "Only the channel's admins can change its subscriptions."


def followed(path: Path, chat_id: int) -> list[tuple[str, str, str]]:
    db = open_database(path, NOW)
    try:
        return [(row["country"], row["sector"], row["material"]) for row in subscriptions_of(db, chat_id)]
    finally:
        db.close()


async def test_an_edited_command_runs_nothing_again(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/subscribe japan autos", chat_id=801)
        api.user_says("/subscribe all gallium", chat_id=801)
        removal = api.user_says("/unsubscribe 1", chat_id=801)
        api.user_edits(removal, "/unsubscribe 1")  # the user fixes a typo nobody sees: nothing must run
        api.user_edits(removal, "/subscribe china graphite")
        api.user_says("/subscriptions", chat_id=801)
        replies = [m["text"] for m in await api.wait_for_messages(801, count=4, timeout=10)]
    assert replies[2] == "Removed: Japan · autos."
    assert replies[3].startswith("<b>Subscriptions</b>\n1. all destinations · gallium\n")
    assert len(replies) == 4  # the edits were not answered either
    assert followed(tmp_path / "bot.db", 801) == [("ALL", "", "gallium")]


async def test_a_channel_subscribes_by_its_admins_posts_and_tells_anyone_else_once(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.set_admins(CHANNEL, [81])
        api.channel_post("/subscribe all gallium", chat_id=CHANNEL, author_id=82)
        api.channel_post("/subscribe all gallium", chat_id=CHANNEL, author_id=82)
        api.channel_post("/exposure japan", chat_id=CHANNEL, author_id=81)  # not a channel's command: silence
        api.channel_post("/frobnicate", chat_id=CHANNEL)  # no "Unknown command" in a channel
        api.channel_post("/subscribe japan autos", chat_id=CHANNEL, author_id=81, title="Minerals desk")
        api.channel_post("/subscriptions", chat_id=CHANNEL)  # posted as the channel: only its admins can
        replies = [m["text"] for m in await api.wait_for_messages(CHANNEL, count=3, timeout=10)]
    assert replies[0] == NOT_CHANNEL_ADMIN
    assert replies[1].startswith("✅ Subscribed to <b>Japan · autos</b>")
    assert replies[2].startswith("<b>Subscriptions</b>\n1. Japan · autos\n")
    assert len(replies) == 3
    assert followed(tmp_path / "bot.db", CHANNEL) == [("JP", "autos", "")]
    db = open_database(tmp_path / "bot.db", NOW)
    subscriber = get_subscriber(db, CHANNEL)
    db.close()
    assert subscriber is not None and (subscriber["chat_type"], subscriber["title"]) == ("channel", "Minerals desk")


async def test_a_groups_admins_are_asked_for_once_and_each_member_is_refused_once(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.set_admins(GROUP, [91])
        for member in (92, 93):
            for _ in range(3):
                api.user_says("/unsubscribe all", chat_id=GROUP, user_id=member, chat_type="supergroup")
        api.user_says("/subscribe japan autos", chat_id=GROUP, user_id=91, chat_type="supergroup")
        replies = [m["text"] for m in await api.wait_for_messages(GROUP, count=3, timeout=10)]
    assert replies[:2] == [NOT_GROUP_ADMIN, NOT_GROUP_ADMIN]
    assert replies[2].startswith("✅ Subscribed to <b>Japan · autos</b>")
    assert len(replies) == 3
    assert (api.count("getChatAdministrators"), api.count("getChatMember")) == (1, 0)


def test_an_admin_list_is_kept_a_minute_and_a_refusal_is_posted_once_an_hour() -> None:
    admins = ChatAdmins()
    assert admins.cached(GROUP, 0.0) is None
    admins.store(GROUP, frozenset({91}), 0.0)
    assert admins.cached(GROUP, 59.9) == frozenset({91})
    assert admins.cached(GROUP, 60.0) is None  # asked again after a minute
    assert [admins.first_refusal(GROUP, 92, t) for t in (0.0, 10.0, 3599.0, 3600.0)] == [True, False, False, True]
    assert admins.first_refusal(GROUP, 93, 10.0) and admins.first_refusal(-902, 92, 10.0)


def test_the_oldest_chats_are_forgotten_past_the_capacity() -> None:
    admins = ChatAdmins(capacity=2)
    for chat in (-1, -2, -3):
        admins.store(chat, frozenset({1}), 0.0)
        admins.first_refusal(chat, 5, 0.0)
    assert [admins.cached(chat, 1.0) for chat in (-1, -2, -3)] == [None, frozenset({1}), frozenset({1})]
    assert admins.first_refusal(-1, 5, 1.0) and not admins.first_refusal(-3, 5, 1.0)


def test_a_command_is_ours_unless_it_names_another_bot() -> None:
    assert command_for("/status gallium", "chokepoint_bot") == "status"
    assert command_for("/status@Chokepoint_Bot", "chokepoint_bot") == "status"
    assert command_for("/status@other_bot", "chokepoint_bot") is None
    assert command_for("status", "chokepoint_bot") is None
