"""Measures (the source of truth for statuses), the events of each, and the statuses derived from them.

Rows are plain: targets and materials are JSON lists; dates ISO text. The domain type lives in
bot/domain/measures.py; the jobs convert between the two.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from storage.rows import Row, placeholders, select

if TYPE_CHECKING:
    from storage.connections import Transactional
    from storage.database import Database

MEASURE_COLUMNS = (
    "id", "issuer", "instrument", "title", "source", "url", "targets", "materials", "end_use", "level",
    "provenance", "announced", "effective", "state", "until", "state_since", "origin", "sources",
)  # fmt: skip
STATUS_COLUMNS = (
    "issuer", "target", "material", "end_use", "level", "since", "title", "source", "url", "item_id", "until",
    "measure", "provenance", "effective", "lapsed", "instrument", "updated_at",
)  # fmt: skip
_JSON_COLUMNS = ("targets", "materials", "sources")


def all_measures(db: Database) -> list[Row]:
    """Every measure, oldest first, JSON columns decoded."""
    return [_decoded(row) for row in select(db, "SELECT * FROM measures ORDER BY announced, id")]


_ANNOUNCED_THEN_ID = operator.itemgetter(MEASURE_COLUMNS.index("announced"), MEASURE_COLUMNS.index("id"))


def measures_touching(
    db: Database, issuer: str, targets: Iterable[str], materials: Iterable[str]
) -> list[tuple[Any, ...]]:
    """The issuer's measures naming one of these targets and one of these materials, oldest first: each as the
    values of MEASURE_COLUMNS, JSON not decoded (`measure_row` decodes one), so that a reader that keeps what it
    decoded knows a row it has seen."""
    targets, materials = sorted(set(targets)), sorted(set(materials))
    if not targets or not materials:
        return []
    on_material, on_target = placeholders(materials), placeholders(targets)
    sql = f"""SELECT {", ".join(MEASURE_COLUMNS)} FROM measures WHERE id IN (
                  SELECT measure_id FROM measure_keys
                  WHERE issuer = ? AND material IN ({on_material}) AND target IN ({on_target}))"""
    # Sorted here, not by ORDER BY: SQLite copied the rows, sources and all, into a temporary b-tree to sort them,
    # and asked for every source's batch that took longer than the query (~0.2 ms a batch of fifteen measures).
    return sorted(db.conn.execute(sql, [issuer, *materials, *targets]).fetchall(), key=_ANNOUNCED_THEN_ID)


def measure_row(values: Sequence[Any]) -> Row:
    """One of `measures_touching`'s measures as a row, JSON decoded."""
    return _decoded(dict(zip(MEASURE_COLUMNS, values, strict=True)))


_RUN_OUT = "state = 'suspended' AND until IS NOT NULL AND until < ?"


def suspensions_run_out(db: Database, today: str) -> list[Row]:
    """Suspended measures whose suspension ended before `today` (ISO date)."""
    sql = f"SELECT * FROM measures WHERE {_RUN_OUT} ORDER BY until, id"
    return [_decoded(row) for row in select(db, sql, [today])]


def a_suspension_has_run_out(db: Transactional, today: str) -> bool:
    """Whether `suspensions_run_out` has any measure to give, asked without decoding one."""
    return db.conn.execute(f"SELECT 1 FROM measures WHERE {_RUN_OUT} LIMIT 1", [today]).fetchone() is not None


def get_measure(db: Database, measure_id: str) -> Row | None:
    """One measure, or None."""
    rows = select(db, "SELECT * FROM measures WHERE id = ?", [measure_id])
    return _decoded(rows[0]) if rows else None


def measure_issuers(db: Database) -> set[str]:
    """The countries that issue the stored measures."""
    return {row[0] for row in db.execute("SELECT DISTINCT issuer FROM measures").fetchall()}


def measure_ids(db: Database) -> set[str]:
    """The ids of every stored measure."""
    return {row[0] for row in db.execute("SELECT id FROM measures").fetchall()}


def save_measure(db: Database, row: Mapping[str, Any], now: str) -> None:
    """Insert or replace one measure. The caller holds the transaction."""
    values = [_encoded(row, column) for column in MEASURE_COLUMNS]
    marks = placeholders(MEASURE_COLUMNS)
    db.execute(
        f"INSERT OR REPLACE INTO measures ({', '.join(MEASURE_COLUMNS)}, updated_at) VALUES ({marks}, ?)",
        [*values, now],
    )
    db.execute("DELETE FROM measure_keys WHERE measure_id = ?", [row["id"]])
    db.conn.executemany(
        "INSERT INTO measure_keys (measure_id, issuer, target, material) VALUES (?, ?, ?, ?)",
        [(row["id"], row["issuer"], t, m) for t in row["targets"] for m in row["materials"]],
    )


def add_measure_source(db: Database, measure_id: str, source: str | None, now: str) -> None:
    """One more report of a stored measure: `source` appended to its sources (None: a source it has already),
    the row marked as written by a live item. Its keys stay as they are. The caller holds the transaction."""
    if source is None:
        db.execute("UPDATE measures SET origin = 'live', updated_at = ? WHERE id = ?", [now, measure_id])
        return
    db.execute(
        "UPDATE measures SET sources = json_insert(sources, '$[#]', ?), origin = 'live', updated_at = ? WHERE id = ?",
        [source, now, measure_id],
    )


def record_measure_event(db: Database, event: Mapping[str, Any]) -> int:
    """Append an event to a measure's history: announced, suspended, extended, lifted, lapsed, confirmed,
    evidence, withdrawn. The caller holds the transaction."""
    cursor = db.execute(
        """INSERT INTO measure_events (measure_id, at, kind, state, until, title, source, url, item_id, actor)
           VALUES (:measure_id, :at, :kind, :state, :until, :title, :source, :url, :item_id, :actor)""",
        {"until": None, "url": None, "item_id": None, "actor": None, "state": None, **event},
    )
    return int(cursor.lastrowid or 0)


def measure_events(db: Database, measure_ids: Iterable[str] | None = None, limit: int = 50) -> list[Row]:
    """Measure events, newest first, optionally of these measures only."""
    ids = list(measure_ids or [])
    where = f"WHERE e.measure_id IN ({', '.join('?' for _ in ids)})" if ids else ""
    sql = f"""SELECT e.*, m.instrument, m.targets, m.materials, m.level, m.end_use, m.provenance
              FROM measure_events e JOIN measures m ON m.id = e.measure_id {where}
              ORDER BY e.at DESC, e.id DESC LIMIT ?"""
    return [_decoded(row) for row in db.query(sql, [*ids, limit])]


def measure_item_ids(db: Database, measure_id: str) -> list[int]:
    """The items that reported a measure or moved it."""
    rows = db.execute(
        "SELECT DISTINCT item_id FROM measure_events WHERE measure_id = ? AND item_id IS NOT NULL", [measure_id]
    ).fetchall()
    return [row[0] for row in rows]


def replace_status(db: Database, row: Mapping[str, Any]) -> None:
    """Write one derived status (keyed by issuer, target, material, end use). The caller holds the transaction."""
    marks = placeholders(STATUS_COLUMNS)
    db.execute(
        f"INSERT OR REPLACE INTO statuses ({', '.join(STATUS_COLUMNS)}) VALUES ({marks})",
        [row.get(column) for column in STATUS_COLUMNS],
    )


def _decoded(row: Row) -> Row:
    for column in _JSON_COLUMNS:
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row


def _encoded(row: Mapping[str, Any], column: str) -> Any:
    value = row.get(column)
    if column in _JSON_COLUMNS:
        return json.dumps(list(value or []), ensure_ascii=False)
    return value


def all_measure_events(db: Database) -> list[Row]:
    """Every measure event (measure id, kind, at, until), oldest first: the past the charts are drawn from."""
    return list(db.query("SELECT id, measure_id, kind, at, until FROM measure_events ORDER BY at, id"))


def latest_change(db: Database) -> tuple[int, int]:
    """The ids of the latest measure event and the latest status change: what a drawn chart is current for."""
    events = db.execute("SELECT COALESCE(MAX(id), 0) FROM measure_events").fetchone()[0]
    changes = db.execute("SELECT COALESCE(MAX(id), 0) FROM status_changes").fetchone()[0]
    return int(events), int(changes)
