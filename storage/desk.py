"""The desk: readings held for a person to confirm or dismiss, and who decided."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from storage.rows import Row, placeholders

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
    items = [_decoded(row) for row in rows]
    others = _further_reports(db, [item["id"] for item in items])
    return [{**item, "also_reported_by": others.get(item["id"], [])} for item in items]


def _further_reports(db: Database, item_ids: list[int]) -> dict[int, list[str]]:
    """The sources that reported each of these items after the first, in the order they came."""
    if not item_ids:
        return {}
    marks = placeholders(item_ids)
    sql = f"SELECT desk_item_id, source FROM desk_reports WHERE desk_item_id IN ({marks}) ORDER BY at, source"
    others: dict[int, list[str]] = {}
    for item_id, source in db.execute(sql, item_ids).fetchall():
        others.setdefault(item_id, []).append(source)
    return others


def pending_about(db: Database, measure_ids: Iterable[str]) -> list[Row]:
    """The pending desk items about any of these measures, oldest first, decoded."""
    ids = sorted(set(measure_ids))
    if not ids:
        return []
    marks = placeholders(ids)
    # Asked for every source's batch: no ORDER BY (SQLite sorted in a temporary b-tree, 3× the query), the rows
    # sorted here; the state written out, as the partial index of pending items is (desk_items_pending).
    sql = f"SELECT * FROM desk_items WHERE state = '{PENDING}' AND measure_id IN ({marks})"
    return sorted((_decoded(row) for row in db.query(sql, ids)), key=lambda row: int(row["id"]))


def add_desk_report(db: Database, item_id: int, source: str, now: str) -> None:
    """One more source reporting what a pending item holds (a source already counted adds nothing). The caller
    holds the transaction."""
    db.execute("INSERT OR IGNORE INTO desk_reports (desk_item_id, source, at) VALUES (?, ?, ?)", [item_id, source, now])


def decide_desk_item(db: Database, item_id: int, state: str, by: str, now: str) -> bool:
    """Record a decision on a pending item; False where it was decided before (the first decision wins)."""
    cursor = db.execute(
        "UPDATE desk_items SET state = ?, decided_by = ?, decided_at = ? WHERE id = ? AND state = ?",
        [state, by, now, item_id, PENDING],
    )
    return cursor.rowcount == 1


def _decoded(row: Row) -> Row:
    """A desk item with its measurement decoded."""
    return {**row, "measurement": json.loads(row["measurement"])}
