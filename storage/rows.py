"""A row as SQLite hands it back: column name to value. The one place the storage layer's values are untyped;
the domain types them as it reads them (`Status.from_row`, `measure_from_row`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from storage.connections import Transactional


Row: TypeAlias = dict[str, Any]


def select(db: Transactional, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """The rows a SELECT gives, read straight from the connection: sqlite-utils' `query` runs every statement
    inside a savepoint of its own (three statements for one), which the checker's hot reads need not pay."""
    cursor = db.conn.execute(sql, params)
    keys = [column[0] for column in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor]


def placeholders(values: Collection[Any]) -> str:
    """One `?` for each value, comma-separated: what `IN (…)` or `VALUES (…)` holds for them (only placeholders
    go into SQL text, never the values)."""
    return ", ".join("?" * len(values))
