"""The desk: readings held for a person to confirm or dismiss, and who decided."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from storage.rows import Row

if TYPE_CHECKING:
    from storage.database import Database

PENDING = "pending"


def add_desk_item(db: Database, item: Mapping[str, Any], now: str) -> int:
    """Hold one reading for the desk; return its id. The caller holds the transaction."""
    cursor = db.execute(
        """INSERT INTO desk_items (kind, measure_id, measurement, title, source, url, item_id, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [item["kind"], item.get("measure_id"), json.dumps(item.get("measurement", {}), ensure_ascii=False),
         item["title"], item["source"], item.get("url"), item.get("item_id"), now],
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def get_desk_item(db: Database, item_id: int) -> Row | None:
    """One desk item, its measurement decoded, or None."""
    row = next(iter(db.query("SELECT * FROM desk_items WHERE id = ?", [item_id])), None)
    return None if row is None else _decoded(row)


def pending_desk_items(db: Database, limit: int = 50) -> list[Row]:
    """What waits for the desk, oldest first."""
    rows = db.query("SELECT * FROM desk_items WHERE state = ? ORDER BY created_at, id LIMIT ?", [PENDING, limit])
    return [_decoded(row) for row in rows]


def pending_for_measure(db: Database, measure_id: str, kind: str) -> list[Row]:
    """The pending desk items of this kind about one measure, oldest first, decoded."""
    rows = db.query(
        "SELECT * FROM desk_items WHERE measure_id = ? AND state = ? AND kind = ? ORDER BY id",
        [measure_id, PENDING, kind],
    )
    return [_decoded(row) for row in rows]


def measures_in_doubt(db: Database, measure_ids: Iterable[str]) -> set[str]:
    """Which of these measures have a pending doubt at the desk (an unconfirmed report waiting for a person)."""
    ids = list(measure_ids)
    if not ids:
        return set()
    rows = db.execute(
        "SELECT DISTINCT measure_id FROM desk_items WHERE state = ? AND kind = 'unconfirmed'"
        " AND measure_id IN (SELECT value FROM json_each(?))",
        [PENDING, json.dumps(ids)],
    )
    return {row[0] for row in rows.fetchall()}


def add_desk_report(db: Database, item_id: int, source: str) -> None:
    """One more source reporting what a pending item holds. The caller holds the transaction."""
    db.execute(
        "UPDATE desk_items SET also_reported_by = json_insert(also_reported_by, '$[#]', ?) WHERE id = ?",
        [source, item_id],
    )


def decide_desk_item(db: Database, item_id: int, state: str, by: str, now: str) -> bool:
    """Record a decision on a pending item; False where it was decided before (the first decision wins)."""
    cursor = db.execute(
        "UPDATE desk_items SET state = ?, decided_by = ?, decided_at = ? WHERE id = ? AND state = ?",
        [state, by, now, item_id, PENDING],
    )
    return cursor.rowcount == 1


def _decoded(row: Row) -> Row:
    """A desk item with its measurement and its further reports decoded."""
    decoded = {"measurement": json.loads(row["measurement"]), "also_reported_by": json.loads(row["also_reported_by"])}
    return {**row, **decoded}
