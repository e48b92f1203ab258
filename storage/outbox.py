"""The outbox: alerts (one per unique key) and deliveries (one per alert and chat), and their states.

A delivery moves pending → sending (claimed by the delivery job) → sent, or back to pending with a later
`next_attempt_at` (rate limits, retries, quiet hours), or ends failed, dropped (the chat is gone) or digested
(folded into a daily digest, itself an alert with its own delivery).

A delivery that waits for one of the chat's modes says which in `held_by` ('digest', or 'mute' and/or 'quiet',
comma-separated), so that turning a mode off releases only what that mode held; claiming or deferring a due
delivery clears it, so a delay from rate limits or retries is never mistaken for a hold.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from storage.rows import Row, placeholders

if TYPE_CHECKING:
    from storage.database import Database

DeliveryState: TypeAlias = Literal["pending", "sending", "sent", "failed", "dropped", "digested"]
DeliveryMode: TypeAlias = Literal["instant", "digest"]
HoldReason: TypeAlias = Literal["digest", "mute", "quiet"]

PENDING: DeliveryState = "pending"
SENDING: DeliveryState = "sending"
SENT: DeliveryState = "sent"
FAILED: DeliveryState = "failed"
DROPPED: DeliveryState = "dropped"
DIGESTED: DeliveryState = "digested"
INSTANT: DeliveryMode = "instant"
DIGEST: DeliveryMode = "digest"
MUTE: HoldReason = "mute"
QUIET: HoldReason = "quiet"
HOLD_REASONS: tuple[HoldReason, ...] = ("digest", MUTE, QUIET)

_MATCHING = """FROM subscriptions s
    JOIN temp.matched_filters m ON m.country = s.country AND m.sector = s.sector AND m.material = s.material
        AND m.min_level = s.min_level
    JOIN subscribers c ON c.chat_id = s.chat_id"""
_DETAIL = "json_group_array(DISTINCT s.country || ':' || s.sector)"  # 'JP:autos', or 'JP:' without a sector
_UNHELD = "c.digest_at IS NULL AND c.quiet_start IS NULL AND (c.muted_until IS NULL OR c.muted_until <= ?)"


def stamp(moment: dt.datetime) -> str:
    """The outbox's time format: UTC, microseconds, so that text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def insert_alert(
    db: Database, key: str, kind: str, severity: str, payload: Mapping[str, object], now: str
) -> int | None:
    """Record an alert; None when an alert with this key exists already (a change never alerts twice)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO alerts (key, kind, severity, created_at, payload) VALUES (?, ?, ?, ?, ?)",
        [key, kind, severity, now, json.dumps(payload, ensure_ascii=False)],
    )
    return int(cursor.lastrowid) if cursor.rowcount > 0 and cursor.lastrowid else None


def get_alert(db: Database, alert_id: int) -> Row | None:
    """An alert with its payload decoded, or None."""
    row = next(iter(db.query("SELECT * FROM alerts WHERE id = ?", [alert_id])), None)
    if row is not None:
        row["payload"] = json.loads(row["payload"])
    return row


def fan_out_unheld(db: Database, alert_id: int, due: str) -> int:
    """One delivery, due now, per active chat without digest, quiet hours or mute that matches a loaded filter.

    The filters are those in `temp.matched_filters` (see storage.subscribers.load_filters); `detail` lists
    the chat's matching 'COUNTRY:sector' pairs ('COUNTRY:' for a subscription without a sector).
    """
    cursor = db.execute(
        f"""INSERT OR IGNORE INTO deliveries (alert_id, chat_id, next_attempt_at, mode, detail)
            SELECT ?, s.chat_id, ?, '{INSTANT}', {_DETAIL} {_MATCHING}
            WHERE c.active = 1 AND {_UNHELD} GROUP BY s.chat_id""",
        [alert_id, due, due],
    )
    return cursor.rowcount


def held_matching_chats(db: Database, now: str) -> list[Row]:
    """The active chats with a digest, quiet hours or mute that match a loaded filter, with their detail."""
    return list(
        db.query(
            f"""SELECT c.*, {_DETAIL} AS detail {_MATCHING}
                WHERE c.active = 1 AND NOT ({_UNHELD}) GROUP BY s.chat_id""",
            [now],
        )
    )


def insert_delivery(
    db: Database,
    alert_id: int,
    chat_id: int,
    due: str,
    mode: DeliveryMode = INSTANT,
    detail: str = "[]",
    held_by: str | None = None,
) -> bool:
    """One delivery row; False when this alert already has one for this chat."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO deliveries (alert_id, chat_id, next_attempt_at, mode, detail, held_by)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [alert_id, chat_id, due, mode, detail, held_by],
    )
    return cursor.rowcount > 0


_DUE = """SELECT d.id, d.alert_id, d.chat_id, d.attempts, d.plain, d.parts_sent, d.detail, d.next_attempt_at,
        COALESCE(c.chat_type, CASE WHEN d.chat_id < 0 THEN 'group' ELSE 'private' END) AS chat_type,
        COALESCE(c.timezone, 'UTC') AS timezone, COALESCE(c.language, 'en') AS language
    FROM deliveries d LEFT JOIN subscribers c ON c.chat_id = d.chat_id
    WHERE {where} ORDER BY d.next_attempt_at, d.id LIMIT ?"""


def due_deliveries(db: Database, now: str, limit: int, stale_before: str | None = None) -> list[Row]:
    """Pending instant deliveries due at `now`, and deliveries claimed before `stale_before` and never settled
    (their claim's lease ran out), oldest due first, with the chat's type."""
    # Two queries, each on its index: one OR across both would scan every pending row on every pass.
    due = list(db.query(_DUE.format(where=f"d.state = '{PENDING}' AND d.next_attempt_at <= ? AND d.mode = '{INSTANT}'"),
                        [now, limit]))  # fmt: skip
    if stale_before:
        due += db.query(_DUE.format(where=f"d.state = '{SENDING}' AND d.claimed_at <= ?"), [stale_before, limit])
    return sorted(due, key=lambda row: (row["next_attempt_at"], row["id"]))[:limit]


_CLAIMABLE = f"""((state = '{PENDING}' AND next_attempt_at <= ? AND mode = '{INSTANT}')
    OR (state = '{SENDING}' AND claimed_at <= ?))"""


def claim(
    db: Database, delivery_ids: Sequence[int], now: str, owner: str, stale_before: str | None = None
) -> dict[int, Row]:
    """Mark deliveries as being sent by `owner`, each only if it is still due and unclaimed (or its claim is
    stale); return the rows claimed, by id, as they are now (another worker may have moved them meanwhile)."""
    if not delivery_ids:
        return {}
    columns = ("id", "alert_id", "chat_id", "attempts", "plain", "parts_sent", "detail")
    marks = placeholders(delivery_ids)
    with db.atomic():
        rows = db.execute(
            f"""UPDATE deliveries SET state = '{SENDING}', claimed_at = ?, claimed_by = ?, held_by = NULL
                WHERE id IN ({marks}) AND {_CLAIMABLE}
                RETURNING {", ".join(columns)}""",
            [now, owner, *delivery_ids, now, stale_before or ""],
        ).fetchall()
    return {int(row[0]): dict(zip(columns, row, strict=True)) for row in rows}


def owns_claim(db: Database, delivery_id: int, owner: str) -> bool:
    """Whether the delivery is still being sent under `owner`'s claim (no other worker took it back)."""
    row = db.execute(
        f"SELECT 1 FROM deliveries WHERE id = ? AND state = '{SENDING}' AND claimed_by = ?", [delivery_id, owner]
    ).fetchone()
    return row is not None


def defer(db: Database, deferrals: Iterable[tuple[int, str]]) -> None:
    """Push due pending deliveries to a later time (a chat's rate limit): (id, next attempt at)."""
    with db.atomic():
        db.conn.executemany(
            f"UPDATE deliveries SET next_attempt_at = ?, held_by = NULL WHERE id = ? AND state = '{PENDING}'",
            [(due, delivery_id) for delivery_id, due in deferrals],
        )


def release_own_claims(db: Database, owner: str) -> int:
    """Put back the deliveries `owner` claimed and never settled (a stop: their send may or may not have happened)."""
    return db.execute(
        f"UPDATE deliveries SET state = '{PENDING}' WHERE state = '{SENDING}' AND claimed_by = ?", [owner]
    ).rowcount


def claim_owners(db: Database) -> list[str]:
    """Who holds the claims of the deliveries being sent."""
    rows = db.execute(
        f"SELECT DISTINCT claimed_by FROM deliveries WHERE state = '{SENDING}' AND claimed_by IS NOT NULL"
    ).fetchall()
    return [str(row[0]) for row in rows]


def release_stale_claims(db: Database, stale_before: str, gone_owners: Sequence[str] = ()) -> int:
    """Put back the claims older than the lease, and those of owners known to be gone (a crashed process); the
    fresh claims of a worker still running (another process on the same file) stay with it."""
    marks = placeholders(gone_owners)
    gone = f" OR claimed_by IN ({marks})" if gone_owners else ""
    return db.execute(
        f"""UPDATE deliveries SET state = '{PENDING}'
            WHERE state = '{SENDING}' AND (claimed_at IS NULL OR claimed_at <= ?{gone})""",
        [stale_before, *gone_owners],
    ).rowcount


def next_due(db: Database, mode: DeliveryMode = INSTANT) -> str | None:
    """When the earliest pending delivery of this mode is due, or None."""
    row = db.execute(
        f"SELECT MIN(next_attempt_at) FROM deliveries WHERE state = '{PENDING}' AND mode = ?", [mode]
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def mark_sent(db: Database, delivery_id: int, now: str) -> None:
    """Telegram accepted the (last part of the) message."""
    db.execute(
        f"UPDATE deliveries SET state = '{SENT}', sent_at = ?, last_error = NULL WHERE id = ?", [now, delivery_id]
    )


def mark_part_sent(db: Database, delivery_id: int, parts_sent: int, due: str) -> None:
    """One part of a long message went out; the next part is due at `due`."""
    db.execute(
        f"UPDATE deliveries SET state = '{PENDING}', parts_sent = ?, next_attempt_at = ? WHERE id = ?",
        [parts_sent, due, delivery_id],
    )


def reschedule(
    db: Database, delivery_id: int, due: str, error: str, *, attempts: int | None = None, plain: bool = False
) -> None:
    """Back to pending for a later attempt, with the reason; optionally count an attempt or switch to plain text."""
    db.execute(
        f"""UPDATE deliveries SET state = '{PENDING}', next_attempt_at = ?, last_error = ?,
                attempts = COALESCE(?, attempts), plain = MAX(plain, ?) WHERE id = ?""",
        [due, error[:300], attempts, int(plain), delivery_id],
    )


def mark_failed(db: Database, delivery_id: int, error: str, attempts: int | None = None) -> None:
    """Given up on: admins see it in /failed."""
    db.execute(
        f"UPDATE deliveries SET state = '{FAILED}', last_error = ?, attempts = COALESCE(?, attempts) WHERE id = ?",
        [error[:300], attempts, delivery_id],
    )


def drop_delivery(db: Database, delivery_id: int, reason: str) -> None:
    """This delivery will not be sent (its chat is gone)."""
    db.execute(f"UPDATE deliveries SET state = '{DROPPED}', last_error = ? WHERE id = ?", [reason[:300], delivery_id])


def drop_pending_of_chat(db: Database, chat_id: int, reason: str) -> int:
    """Every pending delivery of a chat that is gone; return how many."""
    return db.execute(
        f"UPDATE deliveries SET state = '{DROPPED}', last_error = ? WHERE chat_id = ? AND state = '{PENDING}'",
        [reason[:300], chat_id],
    ).rowcount


def move_deliveries(db: Database, delivery_id: int, old_chat_id: int, new_chat_id: int, due: str) -> None:
    """A migrated group: this delivery and the chat's pending ones go to the new id; this one is due at `due`,
    the others keep their due times (a digest or a quiet hour still holds them)."""
    with db.atomic():
        db.execute(
            f"""UPDATE OR IGNORE deliveries SET chat_id = ?, state = '{PENDING}',
                    next_attempt_at = CASE WHEN id = ? THEN ? ELSE next_attempt_at END
                WHERE chat_id = ? AND (id = ? OR state = '{PENDING}')""",
            [new_chat_id, delivery_id, due, old_chat_id, delivery_id],
        )
        drop_delivery_if_still(db, delivery_id, old_chat_id, f"duplicate: chat migrated to {new_chat_id}")
        drop_pending_of_chat(db, old_chat_id, f"duplicate: chat migrated to {new_chat_id}")


def drop_delivery_if_still(db: Database, delivery_id: int, chat_id: int, reason: str) -> None:
    """Drop a delivery that still belongs to `chat_id` (the new chat had this alert already)."""
    db.execute(
        f"UPDATE deliveries SET state = '{DROPPED}', last_error = ? WHERE id = ? AND chat_id = ?",
        [reason, delivery_id, chat_id],
    )


def held_deliveries(db: Database, chat_id: int, reason: str) -> list[Row]:
    """A chat's pending deliveries held for `reason` (digest, mute or quiet), with their alerts' payloads decoded."""
    rows = list(
        db.query(
            f"""SELECT d.id, a.payload FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                WHERE d.chat_id = ? AND d.state = '{PENDING}'
                    AND instr(',' || d.held_by || ',', ',' || ? || ',') > 0
                ORDER BY d.id""",
            [chat_id, reason],
        )
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


class Placed(Protocol):
    """Which of a chat's modes hold a delivery (the domain's timing decides; the outbox writes it down)."""

    @property
    def digest(self) -> bool: ...
    @property
    def muted(self) -> bool: ...
    @property
    def quiet(self) -> bool: ...


def held_by(placed: Placed) -> str | None:
    """A delivery's `held_by`: 'digest', or 'mute' and/or 'quiet' comma-separated; None when nothing holds it."""
    if placed.digest:
        return DIGEST
    return ",".join(reason for reason, holds in ((MUTE, placed.muted), (QUIET, placed.quiet)) if holds) or None


def mode_of(placed: Placed) -> DeliveryMode:
    """A delivery's mode: it waits for the chat's digest, or goes on its own."""
    return DIGEST if placed.digest else INSTANT


def rehold(db: Database, placements: Iterable[tuple[int, str, DeliveryMode, str | None]]) -> None:
    """Give pending deliveries a new due time, mode and hold: (id, next attempt at, mode, held by)."""
    with db.atomic():
        db.conn.executemany(
            f"""UPDATE deliveries SET next_attempt_at = ?, mode = ?, held_by = ?
                WHERE id = ? AND state = '{PENDING}'""",
            [(due, mode, held_by, delivery_id) for delivery_id, due, mode, held_by in placements],
        )


def due_digest_chats(db: Database, now: str) -> list[int]:
    """Chats with digest deliveries due."""
    rows = db.execute(
        f"""SELECT DISTINCT chat_id FROM deliveries INDEXED BY deliveries_digest_due
            WHERE state = '{PENDING}' AND mode = '{DIGEST}' AND next_attempt_at <= ?""",
        [now],
    ).fetchall()
    return [int(row[0]) for row in rows]


def due_digest_rows(db: Database, chat_id: int, now: str) -> list[Row]:
    """A chat's due digest deliveries with their alerts' payloads (decoded), oldest alert first."""
    rows = list(
        db.query(
            f"""SELECT d.id, d.detail, a.payload, a.created_at FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                WHERE d.chat_id = ? AND d.state = '{PENDING}' AND d.mode = '{DIGEST}' AND d.next_attempt_at <= ?
                ORDER BY a.created_at, a.id""",
            [chat_id, now],
        )
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def mark_digested(db: Database, delivery_ids: Sequence[int], now: str) -> None:
    """These deliveries went into a digest."""
    with db.atomic():
        db.conn.executemany(
            f"UPDATE deliveries SET state = '{DIGESTED}', sent_at = ? WHERE id = ?",
            [(now, delivery_id) for delivery_id in delivery_ids],
        )


def failed_deliveries(db: Database, limit: int = 20) -> list[Row]:
    """The latest failed deliveries with their alert's key and kind, newest first."""
    return list(
        db.query(
            f"""SELECT d.id, d.alert_id, d.chat_id, d.attempts, d.last_error, d.next_attempt_at, a.key, a.kind
                FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                WHERE d.state = '{FAILED}' ORDER BY d.id DESC LIMIT ?""",
            [limit],
        )
    )


def delivery_counts(db: Database) -> dict[str, int]:
    """How many deliveries are in each state."""
    rows = db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
    return {str(state): int(count) for state, count in rows}


def database_file(db: Database) -> str | None:
    """The file behind a connection, or None for an in-memory database."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return str(row[2]) or None
    return None


def chats_alerted_for_items(db: Database, item_ids: Iterable[int]) -> list[int]:
    """The chats that got (or are due) a status alert raised by one of these items."""
    ids = sorted(set(item_ids))
    if not ids:
        return []
    marks = placeholders(ids)
    sql = f"""SELECT DISTINCT d.chat_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
              WHERE a.kind = 'status' AND json_extract(a.payload, '$.item_id') IN ({marks})
              ORDER BY d.chat_id"""
    return [row[0] for row in db.execute(sql, ids).fetchall()]
