"""Claims on one file database shared by two workers (e.g. `chokepoint console` beside `chokepoint run`): a claim
names its worker and holds for a lease, so nothing is stuck in `sending` and no live claim is taken over."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from jobs.alerts import admin_alert
from jobs.deliver import DeliveryWorker, Outcome, OutgoingMessage, RetryLater, Sent, claim_owner
from jobs.limits import SendLimits
from storage.db import connect, open_database
from storage.outbox import claim, delivery_counts, due_deliveries, stamp

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
NO_GLOBAL = SendLimits(per_second=None)
SENT = Sent()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


class RecordingSender:
    """Accepts everything; optionally waits for a gate, or runs a side effect, before answering."""

    def __init__(
        self, gate: asyncio.Event | None = None, before: Callable[[], None] | None = None, answer: Outcome = SENT
    ) -> None:
        self.messages: list[OutgoingMessage] = []
        self.arrived = asyncio.Event()
        self.gate = gate
        self.before = before
        self.answer = answer

    async def send(self, message: OutgoingMessage) -> Outcome:
        self.messages.append(message)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.before is not None:
            self.before()
        return self.answer


def ids_by_chat(db: Database) -> dict[int, int]:
    return {int(chat): int(row_id) for row_id, chat in db.execute("SELECT id, chat_id FROM deliveries")}


def states(db: Database) -> dict[int, str]:
    return {int(chat): str(state) for chat, state in db.execute("SELECT chat_id, state FROM deliveries")}


async def run_briefly(worker: DeliveryWorker) -> None:
    """Start the worker's loop (as a second process would), let it make a few passes, stop it."""
    worker.start()
    await asyncio.sleep(0.3)
    await worker.stop(grace=1)


async def test_a_second_worker_starting_on_the_same_file_leaves_the_first_ones_claims_alone(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    first_db, second_db = open_database(path, T0), connect(path)
    admin_alert(first_db, "a", "alert a", [1, 2, 3], T0)
    gate = asyncio.Event()
    slow, other = RecordingSender(gate), RecordingSender()
    first = DeliveryWorker(first_db, slow, limits=NO_GLOBAL, clock=lambda: T0)
    sends = asyncio.create_task(first.run_once(T0))
    await asyncio.wait_for(slow.arrived.wait(), 5)
    await asyncio.sleep(0.05)  # the three sends of the pass have all started
    assert len(slow.messages) == 3
    second = DeliveryWorker(second_db, other, limits=NO_GLOBAL, clock=lambda: at(1), idle_poll=0.05)
    await run_briefly(second)
    assert other.messages == []  # the first worker's sends are in flight: not the second's to repeat
    assert delivery_counts(second_db) == {"sending": 3}
    gate.set()
    await sends
    assert delivery_counts(second_db) == {"sent": 3}
    assert len(slow.messages) == 3
    first_db.close()
    second_db.close()


async def test_an_outcome_that_could_not_be_recorded_is_taken_back_when_the_lease_runs_out(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    db, other_process = open_database(path, T0), connect(path)
    db.execute("PRAGMA busy_timeout = 0")
    admin_alert(db, "a", "alert a", [1], T0)
    sender = RecordingSender(before=lambda: other_process.execute("BEGIN IMMEDIATE"))  # holds the write lock
    worker = DeliveryWorker(db, sender, limits=NO_GLOBAL, lease=120)
    assert await worker.run_once(T0) == 1  # sent, but settling hit SQLITE_BUSY
    other_process.conn.rollback()
    sender.before = None
    assert delivery_counts(db) == {"sending": 1}
    assert await worker.run_once(at(60)) == 0  # the claim still holds
    assert await worker.run_once(at(121)) == 1  # its lease ran out: taken back, not stuck until a restart
    assert delivery_counts(db) == {"sent": 1}
    assert len(sender.messages) == 2  # one repeat, as for a crash between Telegram's answer and the commit
    db.close()
    other_process.close()


def test_of_two_workers_reading_the_same_due_rows_only_one_claims_each(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    one, two = open_database(path, T0), connect(path)
    admin_alert(one, "a", "alert a", [1, 2], T0)
    seen_by_one = [row["id"] for row in due_deliveries(one, stamp(T0), 10)]
    seen_by_two = [row["id"] for row in due_deliveries(two, stamp(T0), 10)]
    assert seen_by_one == seen_by_two and len(seen_by_one) == 2
    assert set(claim(one, seen_by_one[:1], stamp(T0), "one")) == set(seen_by_one[:1])
    assert set(claim(two, seen_by_two, stamp(T0), "two")) == set(seen_by_two[1:])  # the rowcount decides
    one.close()
    two.close()


async def test_a_stale_claim_taken_back_is_settled_by_its_new_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "late.db"
    one_db, two_db = open_database(path, T0), connect(path)
    admin_alert(one_db, "a", "alert a", [1], T0)
    gate = asyncio.Event()
    slow, fast = RecordingSender(gate, answer=RetryLater(30)), RecordingSender()
    one = DeliveryWorker(one_db, slow, limits=NO_GLOBAL, lease=120)
    two = DeliveryWorker(two_db, fast, limits=NO_GLOBAL, lease=120)
    late = asyncio.create_task(one.run_once(T0))
    await asyncio.wait_for(slow.arrived.wait(), 5)
    assert await two.run_once(at(200)) == 1  # the first send hangs past its lease: the second worker takes it
    assert delivery_counts(two_db) == {"sent": 1}
    gate.set()
    await late  # the first worker's late answer (a 429) is not recorded over the second's success
    assert delivery_counts(one_db) == {"sent": 1}
    assert await one.run_once(at(300)) == 0 and len(fast.messages) == 1
    one_db.close()
    two_db.close()


async def test_at_start_only_stale_claims_and_those_of_a_process_that_is_gone_come_back(tmp_path: Path) -> None:
    path = tmp_path / "start.db"
    db = open_database(path, T0)
    admin_alert(db, "a", "alert a", [1, 2, 3], T0)
    ids = ids_by_chat(db)
    finished = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await finished.wait()
    gone_pid = finished.pid
    claim(db, [ids[1]], stamp(T0), f"{socket.gethostname()}:{gone_pid}:dead")  # a killed process
    claim(db, [ids[2]], stamp(T0), claim_owner())  # a worker of this live process
    claim(db, [ids[3]], stamp(T0), "elsewhere:1:old")
    db.execute("UPDATE deliveries SET claimed_at = ? WHERE id = ?", [stamp(T0 - dt.timedelta(minutes=10)), ids[3]])
    sender = RecordingSender()
    await run_briefly(DeliveryWorker(db, sender, limits=NO_GLOBAL, clock=lambda: at(5), idle_poll=0.05))
    assert sorted(m.chat_id for m in sender.messages) == [1, 3]
    assert states(db) == {1: "sent", 2: "sending", 3: "sent"}
    db.close()
