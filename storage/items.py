"""Items: what sources published, each stored once per source and guid."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING

from storage.rows import Row

if TYPE_CHECKING:
    from storage.database import Database

COLUMNS = ("guid", "title", "summary", "link", "published_at")
_BATCH = 500  # rows per INSERT: 3,500 parameters, well under SQLite's limit of 32,766


def insert_new_items(db: Database, source_id: str, items: Iterable[Row], now: str) -> list[Row]:
    """Store the items not seen before from this source; return them with their ids, in the given order.

    One statement per batch of rows: the ones already stored are skipped, and the ids of the others returned.
    """
    given = list(items)
    new = []
    for start in range(0, len(given), _BATCH):
        new += _insert_batch(db, source_id, given[start : start + _BATCH], now)
    return new


def _insert_batch(db: Database, source_id: str, batch: list[Row], now: str) -> list[Row]:
    """One multi-row INSERT; the rows it stored, in the given order."""
    if not batch:
        return []
    rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(batch))  # only placeholders go into the SQL text
    columns = operator.itemgetter(*COLUMNS)
    values: list[object] = []
    for item in batch:
        values += (source_id, *columns(item), now)
    cursor = db.execute(
        f"""INSERT INTO items (source_id, guid, title, summary, link, published_at, fetched_at)
            VALUES {rows} ON CONFLICT (source_id, guid) DO NOTHING RETURNING guid, id""",
        values,
    )
    ids = dict(cursor.fetchall())
    new = []
    for item in batch:
        if item["guid"] in ids:  # pop: a guid given twice in one batch is stored once
            new.append({"id": ids.pop(item["guid"]), "source_id": source_id, **item, "fetched_at": now})
    return new


def latest_items(db: Database, limit: int) -> list[Row]:
    """The newest items of every source, newest first (by publication, else by arrival)."""
    sql = """SELECT items.*, sources.name AS source_name FROM items LEFT JOIN sources ON sources.id = items.source_id
             ORDER BY COALESCE(published_at, fetched_at) DESC, items.id DESC LIMIT ?"""
    return list(db.query(sql, [limit]))


def count_items(db: Database) -> dict[str, int]:
    """How many items each source has stored."""
    return {row[0]: row[1] for row in db.execute("SELECT source_id, count(*) FROM items GROUP BY source_id")}
