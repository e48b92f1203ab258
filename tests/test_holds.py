"""Held deliveries: each row records why it waits (digest, quiet, mute), and turning a mode off releases only the
rows that mode held, at the time the chat's remaining modes allow; rows delayed by retries are never touched."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlite_utils import Database
from telegram import Chat

from bot.domain.ladder import Level
from handlers.context import Services
from handlers.modes import digest_answer, mute_answer, quiet_answer
from jobs.deliver import DeliveryWorker, Outcome, OutgoingMessage, RetryLater, Sent
from jobs.limits import SendLimits
from storage.outbox import insert_alert, stamp
from storage.schema import migrate
from storage.subscribers import set_digest, set_muted_until, set_quiet
from tests.alerting import NOW, raise_alert, subscribe
from tests.storage_reads import database_at_version

CHAT_ID = 501
CHAT = Chat(CHAT_ID, Chat.PRIVATE)


def at(hours: float) -> dt.datetime:
    return NOW + dt.timedelta(hours=hours)


def held(db: Database, chat_id: int = CHAT_ID) -> list[tuple[str, str, str | None]]:
    """The chat's pending deliveries: (mode, due, held by), by alert."""
    rows = db.execute(
        "SELECT mode, next_attempt_at, held_by FROM deliveries WHERE chat_id = ? AND state = 'pending'"
        " ORDER BY alert_id",
        [chat_id],
    ).fetchall()
    return [tuple(row) for row in rows]


def alert(services: Services, item_id: int, level: Level = Level.RESTRICTED, now: dt.datetime = NOW) -> None:
    """A status change on Japan that reaches the chat (subscribed to JP)."""
    material = "gallium" if level == Level.BANNED else "rare_earths"
    raise_alert(services.db, services.vocabulary, services.table, "JP", material, level, now,
                item_id=item_id, title=f"measure {item_id}")  # fmt: skip


def at_clock(services: Services, moment: dt.datetime) -> Services:
    return dataclasses.replace(services, clock=lambda: moment)


class OnceRetryLater:
    """A Sender that answers the first send with a 429 (retry after `seconds`), then accepts."""

    def __init__(self, seconds: float) -> None:
        self.outcomes: list[Outcome] = [RetryLater(seconds)]

    async def send(self, message: OutgoingMessage) -> Outcome:
        return self.outcomes.pop(0) if self.outcomes else Sent()


def test_each_held_delivery_records_why_it_waits(services: Services) -> None:
    db = services.db
    for chat in (11, 12, 13, 14, 15):
        subscribe(db, chat, "JP")
    set_digest(db, 11, "08:00", "UTC")
    set_quiet(db, 12, "08:00", "10:00", allow_banned=False)  # NOW is 09:00: quiet
    set_muted_until(db, 13, stamp(at(4)))
    set_muted_until(db, 14, stamp(at(4)))
    set_quiet(db, 14, "12:00", "14:00", allow_banned=False)  # the mute ends inside quiet hours
    set_quiet(db, 15, "22:00", "07:00", allow_banned=False)  # not quiet now
    alert(services, 1)
    assert [held(db, chat)[0] for chat in (11, 12, 13, 14, 15)] == [
        ("digest", stamp(dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)), "digest"),
        ("instant", stamp(at(1)), "quiet"),
        ("instant", stamp(at(4)), "mute"),
        ("instant", stamp(at(5)), "mute,quiet"),
        ("instant", stamp(NOW), None),
    ]


def test_mute_off_and_quiet_off_leave_a_digest_chats_alerts_in_its_digest(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    digest_answer(services, CHAT, ["08:00"])
    alert(services, 1)
    before = held(services.db)
    assert before == [("digest", stamp(dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)), "digest")]
    assert mute_answer(services, CHAT, ["off"]) == "Unmuted."
    assert quiet_answer(services, CHAT, ["off"]) == "No quiet hours."
    assert held(services.db) == before


async def test_mute_off_never_pulls_forward_a_delivery_delayed_by_a_retry(services: Services) -> None:
    db = services.db
    subscribe(db, CHAT_ID, "JP")
    mute_answer(services, CHAT, ["1h"])
    alert(services, 1)
    assert held(db) == [("instant", stamp(at(1)), "mute")]
    worker = DeliveryWorker(db, OnceRetryLater(600), limits=SendLimits(per_second=None))
    assert await worker.run_once(at(1)) == 1  # the mute is over: sent, and told to wait ten minutes
    retry = ("instant", stamp(at(1) + dt.timedelta(minutes=10)), None)
    assert held(db) == [retry]
    later = at_clock(services, at(1) + dt.timedelta(minutes=1))
    assert mute_answer(later, CHAT, ["off"]) == "Unmuted."
    assert held(db) == [retry]


def test_mute_off_releases_the_muted_alerts_into_the_quiet_hours_still_in_force(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["08:00-10:00", "banned"])  # NOW is 09:00: quiet, but bans come through
    mute_answer(services, CHAT, ["4h"])
    alert(services, 1)
    alert(services, 2, Level.BANNED)
    assert held(services.db) == [("instant", stamp(at(4)), "mute")] * 2
    assert mute_answer(services, CHAT, ["off"]) == "Unmuted. 1 held alert is on its way."
    assert held(services.db) == [("instant", stamp(at(1)), "quiet"), ("instant", stamp(NOW), None)]


def test_quiet_off_keeps_what_the_mute_still_holds(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["12:00-14:00"])
    mute_answer(services, CHAT, ["4h"])  # until 13:00, inside the quiet hours
    alert(services, 1)
    assert held(services.db) == [("instant", stamp(at(5)), "mute,quiet")]
    assert quiet_answer(services, CHAT, ["off"]) == "No quiet hours."
    assert held(services.db) == [("instant", stamp(at(4)), "mute")]
    assert mute_answer(services, CHAT, ["off"]) == "Unmuted. 1 held alert is on its way."
    assert held(services.db) == [("instant", stamp(NOW), None)]


def test_digest_off_turns_the_digest_into_alerts_as_the_other_modes_allow(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    digest_answer(services, CHAT, ["08:00"])
    alert(services, 1)
    mute_answer(services, CHAT, ["2h"])  # a digest chat's alerts wait for the digest, whatever the mute
    assert held(services.db)[0][2] == "digest"
    assert digest_answer(services, CHAT, ["off"]) == "Instant alerts again."
    assert held(services.db) == [("instant", stamp(at(2)), "mute")]
    mute_answer(services, CHAT, ["off"])
    assert held(services.db) == [("instant", stamp(NOW), None)]


def test_the_migration_records_pending_digest_rows_as_held_by_the_digest() -> None:
    db = database_at_version(2, NOW.isoformat())
    alert_id = insert_alert(db, "k", "status", "high", {"changes": []}, stamp(NOW))
    assert alert_id is not None
    db.execute("INSERT INTO subscribers (chat_id, created_at) VALUES (1, ?), (2, ?)", [stamp(NOW)] * 2)
    db.execute(
        "INSERT INTO deliveries (alert_id, chat_id, next_attempt_at, mode) VALUES (?, 1, ?, 'digest'), (?, 2, ?, ?)",
        [alert_id, stamp(at(10)), alert_id, stamp(at(1)), "instant"],  # chat 2: a retry, or a hold, nobody knows
    )
    assert 3 in migrate(db, NOW)
    rows = db.execute("SELECT chat_id, held_by FROM deliveries ORDER BY chat_id").fetchall()
    assert rows == [(1, "digest"), (2, None)]


def test_quiet_hours_hold_alerts_by_the_clock_of_the_zone_given(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["22:00-07:00", "Asia/Tokyo"])
    alert(services, 1, now=at(5))  # 14:00 UTC is 23:00 in Tokyo: quiet until 07:00 there, 22:00 UTC
    assert held(services.db) == [("instant", stamp(at(13)), "quiet")]


def test_a_second_mute_re_times_what_the_first_one_held(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    mute_answer(services, CHAT, ["1h"])
    alert(services, 1)
    assert held(services.db) == [("instant", stamp(at(1)), "mute")]
    mute_answer(services, CHAT, ["8h"])
    assert held(services.db) == [("instant", stamp(at(8)), "mute")]
    mute_answer(at_clock(services, at(2)), CHAT, ["30m"])  # a shorter mute, later: ends sooner
    assert held(services.db) == [("instant", stamp(at(2.5)), "mute")]


def test_a_new_digest_time_moves_what_the_old_one_held_into_one_digest(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    digest_answer(services, CHAT, ["08:00"])
    alert(services, 1)
    digest_answer(services, CHAT, ["20:00"])
    alert(services, 2, Level.BANNED)
    evening = stamp(dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.UTC))
    assert held(services.db) == [("digest", evening, "digest")] * 2


def test_a_new_quiet_window_or_time_zone_re_times_what_quiet_hours_hold(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["08:00-10:00"])  # NOW is 09:00 UTC
    alert(services, 1)
    assert held(services.db) == [("instant", stamp(at(1)), "quiet")]
    quiet_answer(services, CHAT, ["08:00-12:00"])
    assert held(services.db) == [("instant", stamp(at(3)), "quiet")]
    quiet_answer(services, CHAT, ["08:00-12:00", "Asia/Tokyo"])  # 18:00 in Tokyo: not quiet there
    assert held(services.db) == [("instant", stamp(NOW), None)]


def test_a_new_quiet_window_that_no_longer_covers_now_releases_at_once(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["08:00-10:00"])
    alert(services, 1)
    reply = quiet_answer(services, CHAT, ["22:00-07:00"])
    assert reply.endswith("1 held alert is on its way.")
    assert held(services.db) == [("instant", stamp(NOW), None)]


def test_changing_a_mode_never_touches_a_delivery_delayed_by_a_retry(services: Services) -> None:
    db = services.db
    subscribe(db, CHAT_ID, "JP")
    alert(services, 1)
    db.execute("UPDATE deliveries SET next_attempt_at = ?, held_by = NULL", [stamp(at(0.5))])  # a 429's delay
    mute_answer(services, CHAT, ["4h"])
    digest_answer(services, CHAT, ["08:00"])
    assert held(db) == [("instant", stamp(at(0.5)), None)]


def test_a_new_time_zone_for_the_digest_says_the_quiet_hours_move_with_it(services: Services) -> None:
    subscribe(services.db, CHAT_ID, "JP")
    quiet_answer(services, CHAT, ["22:00-07:00", "banned"])
    answer = digest_answer(services, CHAT, ["08:00", "Asia/Tokyo"])
    assert answer.endswith(" Quiet hours 22:00–07:00 now follow Asia/Tokyo too.")
    assert "now follow" not in digest_answer(services, CHAT, ["09:00"])  # the same zone: nothing moved
    answer = quiet_answer(services, CHAT, ["23:00-06:00", "Europe/Berlin"])
    assert " The digest at 09:00 now follows Europe/Berlin too." in answer
