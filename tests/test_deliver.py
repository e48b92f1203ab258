"""The delivery worker with a scripted Sender, one pass at a time at given moments: what each outcome does."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque

from sqlite_utils import Database

from jobs.alerts import admin_alert
from jobs.deliver import (
    BadMarkup,
    Blocked,
    DeliveryWorker,
    Migrated,
    Outcome,
    OutgoingMessage,
    Permanent,
    RetryLater,
    Sent,
    Transient,
)
from jobs.limits import RetryPolicy, SendLimits
from storage.outbox import delivery_counts, failed_deliveries, insert_alert, insert_delivery, stamp
from storage.subscribers import add_subscription, get_subscriber, save_subscriber, subscriptions_of

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
ADMIN = 900


class ScriptedSender:
    """Answers each chat's sends from a script (then Sent), and records every message it was given."""

    def __init__(self) -> None:
        self.script: dict[int, deque[Outcome | Exception]] = defaultdict(deque)
        self.messages: list[OutgoingMessage] = []

    def will(self, chat_id: int, *outcomes: Outcome | Exception) -> None:
        self.script[chat_id].extend(outcomes)

    async def send(self, message: OutgoingMessage) -> Outcome:
        self.messages.append(message)
        queue = self.script[message.chat_id]
        outcome = queue.popleft() if queue else Sent(len(self.messages))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def to(self, chat_id: int) -> list[OutgoingMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def subscriber(db: Database, chat_id: int, chat_type: str = "private") -> None:
    save_subscriber(db, chat_id, chat_type, None, "UTC", stamp(T0))
    add_subscription(db, chat_id, "JP", "autos", "", 0, stamp(T0))


def status_alert(db: Database, chats: list[int], title: str = "Rare earths <halted> for Japan") -> int:
    payload = {
        "issuer": "CN", "issuer_name": "China",
        "changes": [{"target": "JP", "target_name": "Japan", "material": "rare_earths",
                     "material_name": "rare earths", "old": 2, "new": 4}],
        "title": title, "url": "https://example.org/1", "source": "mofcom", "at": T0.isoformat(),
        "severity": "high", "exposure": {},
    }  # fmt: skip
    alert_id = insert_alert(db, f"status:{title}", "status", "high", payload, stamp(T0))
    assert alert_id is not None
    for chat in chats:
        insert_delivery(db, alert_id, chat, stamp(T0))
    return alert_id


def worker(db: Database, sender: ScriptedSender, attempts: int = 3) -> DeliveryWorker:
    retry = RetryPolicy(first=10, factor=2, cap=100, attempts=attempts)
    return DeliveryWorker(db, sender, limits=SendLimits(per_second=None), retry=retry, admins=frozenset({ADMIN}))


def states(db: Database) -> dict[int, tuple[str, int, str | None]]:
    rows = db.query("SELECT chat_id, state, attempts, last_error FROM deliveries WHERE alert_id = 1")
    return {row["chat_id"]: (row["state"], row["attempts"], row["last_error"]) for row in rows}


async def test_a_sent_delivery_is_marked_sent_only_after_the_sender_answers(db: Database) -> None:
    subscriber(db, 1)
    status_alert(db, [1])
    sender = ScriptedSender()
    assert await worker(db, sender).run_once(at(0)) == 1
    [message] = sender.messages
    assert message.html and message.text.startswith("🔴 <b>Tightened: China → Japan</b>")
    assert "Rare earths &lt;halted&gt; for Japan" in message.text
    row = db.execute("SELECT state, sent_at FROM deliveries").fetchone()
    assert row == ("sent", stamp(at(0)))
    assert await worker(db, sender).run_once(at(10)) == 0


async def test_retry_after_delays_that_chat_only(db: Database) -> None:
    for chat in (1, 2, 3):
        subscriber(db, chat)
    status_alert(db, [1, 2, 3])
    sender = ScriptedSender()
    sender.will(1, RetryLater(30))
    job = worker(db, sender)
    assert await job.run_once(at(0)) == 3
    assert [m.chat_id for m in sender.messages] == [1, 2, 3]
    assert states(db)[1] == ("pending", 0, "flood control: retry after 30s")
    assert await job.run_once(at(29)) == 0
    assert await job.run_once(at(30)) == 1
    assert states(db)[1][0] == "sent"


async def test_a_blocked_chat_is_deactivated_and_its_other_deliveries_dropped(db: Database) -> None:
    subscriber(db, 1)
    status_alert(db, [1])
    status_alert(db, [1], title="second")
    sender = ScriptedSender()
    sender.will(1, Blocked("Forbidden: bot was blocked by the user"))
    assert await worker(db, sender).run_once(at(0)) == 1
    assert get_subscriber(db, 1)["active"] == 0  # type: ignore[index]
    assert delivery_counts(db) == {"dropped": 2}
    assert len(sender.messages) == 1


async def test_a_migrated_group_is_followed_with_its_subscriptions(db: Database) -> None:
    subscriber(db, -5, "group")
    status_alert(db, [-5])
    sender = ScriptedSender()
    sender.will(-5, Migrated(-1005))
    job = worker(db, sender)
    await job.run_once(at(0))
    assert await job.run_once(at(0)) == 1
    assert [m.chat_id for m in sender.messages] == [-5, -1005]
    assert [s["country"] for s in subscriptions_of(db, -1005)] == ["JP"]
    assert subscriptions_of(db, -5) == []
    assert get_subscriber(db, -1005)["chat_type"] == "supergroup"  # type: ignore[index]
    assert db.execute("SELECT chat_id, state FROM deliveries").fetchall() == [(-1005, "sent")]


async def test_a_migrated_group_keeps_what_its_modes_hold_held(db: Database) -> None:
    subscriber(db, -5, "group")
    status_alert(db, [-5])
    digest_id = insert_alert(db, "held:digest", "admin", "info", {"text": "d"}, stamp(T0))
    quiet_id = insert_alert(db, "held:quiet", "admin", "info", {"text": "q"}, stamp(T0))
    assert digest_id is not None and quiet_id is not None
    insert_delivery(db, digest_id, -5, stamp(at(20 * 3600)), mode="digest", held_by="digest")
    insert_delivery(db, quiet_id, -5, stamp(at(8 * 3600)), held_by="quiet")
    sender = ScriptedSender()
    sender.will(-5, Migrated(-1005))
    job = worker(db, sender)
    await job.run_once(at(0))
    rows = db.execute(
        "SELECT alert_id, chat_id, next_attempt_at, mode, held_by FROM deliveries WHERE state = 'pending'"
        " ORDER BY alert_id"
    ).fetchall()
    assert rows[1:] == [
        (digest_id, -1005, stamp(at(20 * 3600)), "digest", "digest"),
        (quiet_id, -1005, stamp(at(8 * 3600)), "instant", "quiet"),
    ]
    assert rows[0][1:3] == (-1005, stamp(at(0)))  # the migrated delivery itself goes now
    assert await job.run_once(at(1)) == 1
    assert await job.run_once(at(3600)) == 0  # the held ones wait
    assert [m.chat_id for m in sender.messages] == [-5, -1005]


async def test_bad_markup_is_resent_once_as_plain_text_then_failed(db: Database) -> None:
    for chat in (1, 2):
        subscriber(db, chat)
    status_alert(db, [1, 2])
    sender = ScriptedSender()
    sender.will(1, BadMarkup("can't parse entities"))
    sender.will(2, BadMarkup("can't parse entities"), BadMarkup("can't parse entities"))
    job = worker(db, sender)
    await job.run_once(at(0))
    await job.run_once(at(1))
    plain = sender.to(1)[1]
    assert not plain.html and "<b>" not in plain.text and "Rare earths <halted> for Japan" in plain.text
    assert states(db)[1][0] == "sent"
    assert states(db)[2][0] == "failed"


async def test_network_errors_back_off_exponentially_then_fail_and_tell_the_admins(db: Database) -> None:
    subscriber(db, 1)
    status_alert(db, [1])
    sender = ScriptedSender()
    sender.will(1, Transient("Bad Gateway"), Transient("timed out"), ConnectionResetError("reset"))
    job = worker(db, sender, attempts=3)
    await job.run_once(at(0))
    assert states(db)[1] == ("pending", 1, "Bad Gateway")
    assert await job.run_once(at(9)) == 0
    await job.run_once(at(10))  # first retry after 10 s
    assert states(db)[1] == ("pending", 2, "timed out")
    assert await job.run_once(at(29)) == 0
    await job.run_once(at(30))  # second after 20 s more; the sender raising counts as a network error
    state, attempts, error = states(db)[1]
    assert (state, attempts) == ("failed", 3) and "reset" in (error or "")
    [failed] = failed_deliveries(db)
    assert (failed["chat_id"], failed["kind"]) == (1, "status")
    assert await job.run_once(at(30)) == 1  # the admin alert
    [notice] = sender.to(ADMIN)
    assert "Alert #1 could not be delivered to chat 1 after 3 attempt(s)" in notice.text


async def test_a_permanent_refusal_fails_at_once(db: Database) -> None:
    subscriber(db, 1)
    status_alert(db, [1])
    sender = ScriptedSender()
    sender.will(1, Permanent("Bad Request: message is too long"))
    await worker(db, sender).run_once(at(0))
    assert states(db)[1] == ("failed", 1, "Bad Request: message is too long")


async def test_a_failing_admin_alert_does_not_alert_the_admins_about_itself(db: Database) -> None:
    admin_alert(db, "source-down:x:1", "x is down", [ADMIN], T0)
    sender = ScriptedSender()
    sender.will(ADMIN, Permanent("chat not found"))
    job = worker(db, sender)
    await job.run_once(at(0))
    assert await job.run_once(at(1)) == 0
    assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1


async def test_a_long_message_goes_out_in_parts_a_second_apart(db: Database) -> None:
    admin_alert(db, "long", "\n".join(["x" * 3000, "y" * 3000]), [1], T0)
    sender = ScriptedSender()
    job = worker(db, sender)
    assert await job.run_once(at(0)) == 1
    assert await job.run_once(at(0.5)) == 0
    assert await job.run_once(at(1)) == 1
    assert await job.run_once(at(2)) == 0
    first, second = (m.text for m in sender.messages)
    assert first.endswith("x" * 3000) and second == "y" * 3000
    assert states(db)[1][0] == "sent"


async def test_an_alert_that_cannot_be_rendered_fails_without_stopping_the_others(db: Database) -> None:
    for chat in (1, 2):
        subscriber(db, chat)
    alert_id = status_alert(db, [1])
    db.execute("UPDATE alerts SET payload = '{}' WHERE id = ?", [alert_id])
    status_alert(db, [2], title="fine")
    sender = ScriptedSender()
    assert await worker(db, sender).run_once(at(0)) == 2
    assert [m.chat_id for m in sender.messages] == [2]
    rows = db.execute("SELECT chat_id, state FROM deliveries ORDER BY id").fetchall()
    assert rows[:2] == [(1, "failed"), (2, "sent")]
