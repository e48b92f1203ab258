"""Signals: what measuring found in an item — one row per (target, material), with the evidence."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from storage.rows import Row

if TYPE_CHECKING:
    from storage.database import Database

SIGNAL_KEYS = ("issuer", "target", "material", "level", "direction", "evidence")


def record_signals(db: Database, signals: Iterable[tuple[int, Mapping[str, Any]]], now: str) -> int:
    """Store items' signals, each an (item id, row) pair; return how many. Each row holds SIGNAL_KEYS,
    `evidence` a list of phrases.

    Runs inside the caller's transaction (the items' work commits together).
    """
    rows = [
        [item_id, row["issuer"], row["target"], row["material"], int(row["level"]), row["direction"],
         json.dumps(list(row["evidence"]), ensure_ascii=False), now]
        for item_id, row in signals
    ]  # fmt: skip
    db.conn.executemany(
        """INSERT INTO signals (item_id, issuer, target, material, level, direction, evidence, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        rows,
    )
    return len(rows)


def signals_of(db: Database, item_id: int) -> list[Row]:
    """An item's signals in the order stored, evidence decoded."""
    rows = db.query("SELECT * FROM signals WHERE item_id = ? ORDER BY id", [item_id])
    return [{**row, "evidence": json.loads(row["evidence"])} for row in rows]
