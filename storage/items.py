"""Items: what sources published, each stored once per source and guid."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from storage.rows import Row

COLUMNS = ("guid", "title", "summary", "link", "published_at")


def insert_new_items(db: Database, source_id: str, items: Iterable[Row], now: str) -> list[Row]:
    """Store the items not seen before from this source; return them with their ids, in the given order."""
    new = []
    for item in items:
        cursor = db.execute(
            """INSERT INTO items (source_id, guid, title, summary, link, published_at, fetched_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, guid) DO NOTHING""",
            [source_id, *(item[key] for key in COLUMNS), now],
        )
        if cursor.rowcount:
            new.append({"id": cursor.lastrowid, "source_id": source_id, **item, "fetched_at": now})
    return new


def latest_items(db: Database, limit: int) -> list[Row]:
    """The newest items of every source, newest first (by publication, else by arrival)."""
    sql = """SELECT items.*, sources.name AS source_name FROM items LEFT JOIN sources ON sources.id = items.source_id
             ORDER BY COALESCE(published_at, fetched_at) DESC, items.id DESC LIMIT ?"""
    return list(db.query(sql, [limit]))


def count_items(db: Database) -> dict[str, int]:
    """How many items each source has stored."""
    return {row[0]: row[1] for row in db.execute("SELECT source_id, count(*) FROM items GROUP BY source_id")}
