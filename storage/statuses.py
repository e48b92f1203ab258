"""Statuses (the current level per issuer, target and material) and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of one status, with its evidence; written to the history and to the current status."""

    issuer: str
    target: str
    material: str
    old_level: int
    new_level: int
    direction: str
    at: str
    title: str
    source: str
    origin: str  # "baseline" or "live"
    url: str | None = None
    item_id: int | None = None
    until: str | None = None
    effective_old: int | None = None  # the target's effective level for the material, before and after
    effective_new: int | None = None


def get_status(db: Database, issuer: str, target: str, material: str) -> dict[str, Any] | None:
    """The current status of one key, or None."""
    rows = db.query(
        "SELECT * FROM statuses WHERE issuer = ? AND target = ? AND material = ?", [issuer, target, material]
    )
    return next(iter(rows), None)


def current_statuses(db: Database, issuer: str | None = None) -> list[dict[str, Any]]:
    """Every current status (of one issuer, if given), strongest first."""
    where, params = ("WHERE issuer = ?", [issuer]) if issuer else ("", [])
    sql = f"SELECT * FROM statuses {where} ORDER BY level DESC, since DESC, target, material"
    return list(db.query(sql, params))


def statuses_among(db: Database, issuer: str, targets: Iterable[str], materials: Iterable[str]) -> list[dict[str, Any]]:
    """The current statuses of one issuer on these targets and materials."""
    targets, materials = list(targets), list(materials)
    marks = ", ".join("?" for _ in targets), ", ".join("?" for _ in materials)
    sql = f"SELECT * FROM statuses WHERE issuer = ? AND target IN ({marks[0]}) AND material IN ({marks[1]})"
    return list(db.query(sql, [issuer, *targets, *materials]))


def record_change(db: Database, change: StatusChange) -> int:
    """Write a change to the history and make it the current status; return the change id.

    The caller holds the transaction (`with db.atomic():`) so that a change and its alerts commit together.
    """
    cursor = db.execute(
        """INSERT INTO status_changes (issuer, target, material, old_level, new_level, direction, at, title,
               source, origin, url, item_id, until, effective_old, effective_new)
           VALUES (:issuer, :target, :material, :old_level, :new_level, :direction, :at, :title,
               :source, :origin, :url, :item_id, :until, :effective_old, :effective_new)""",
        asdict(change),
    )
    set_status(db, change)
    return int(cursor.lastrowid or 0)


def set_status(db: Database, change: StatusChange) -> None:
    """Make a change the current status without writing it to the history: for a move of one key that moves
    no effective level (a measure beneath a stronger one on ALL, a bloc or a group), kept so that it is in force
    once the stronger one goes. The caller holds the transaction."""
    db.execute(
        """INSERT INTO statuses (issuer, target, material, level, since, title, source, url, item_id, until,
               updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (issuer, target, material) DO UPDATE SET level = excluded.level,
               since = excluded.since, title = excluded.title, source = excluded.source, url = excluded.url,
               item_id = excluded.item_id, until = excluded.until, updated_at = excluded.updated_at""",
        [
            change.issuer, change.target, change.material, change.new_level, change.at, change.title,
            change.source, change.url, change.item_id, change.until, change.at,
        ],
    )  # fmt: skip


def extend_suspension(
    db: Database,
    key: tuple[str, str, str],
    *,
    until: str,
    title: str,
    url: str | None,
    source: str,
    at: str,
) -> None:
    """Move the end date of the suspension on (issuer, target, material), citing the extension; the level it
    holds and its since-when stay."""
    db.execute(
        """UPDATE statuses SET until = ?, title = ?, url = ?, source = ?, updated_at = ?
           WHERE issuer = ? AND target = ? AND material = ? AND until IS NOT NULL""",
        [until, title, url, source, at, *key],
    )


def status_history(
    db: Database,
    *,
    targets: Iterable[str] = (),
    materials: Iterable[str] = (),
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Status changes, newest first, optionally only those on these targets or materials."""
    clauses, params = [], []
    for column, values in (("target", list(targets)), ("material", list(materials))):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT * FROM status_changes {where} ORDER BY at DESC, id DESC LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def latest_change(db: Database, key: tuple[str, str, str], at_most: str | None = None) -> dict[str, Any] | None:
    """The latest recorded change of (issuer, target, material), at or before `at_most` if given, or None."""
    sql = """SELECT * FROM status_changes WHERE issuer = ? AND target = ? AND material = ? AND at <= ?
             ORDER BY at DESC, id DESC LIMIT 1"""
    return next(iter(db.query(sql, [*key, at_most or "9999"])), None)


def level_before_rise_to(db: Database, key: tuple[str, str, str], level: int) -> int:
    """The level before the latest rise of (issuer, target, material) from below `level` to it or above: what
    remains when the measure that set `level` is lifted; 0 where the history has none."""
    row = db.execute(
        """SELECT old_level FROM status_changes
           WHERE issuer = ? AND target = ? AND material = ? AND old_level < ? AND new_level >= ?
           ORDER BY at DESC, id DESC LIMIT 1""",
        [*key, level, level],
    ).fetchone()
    return 0 if row is None else int(row[0])


def baseline_event_keys(db: Database) -> set[str]:
    """Keys of the baseline events already applied."""
    return {row[0] for row in db.execute("SELECT key FROM baseline_events").fetchall()}


def record_baseline_event(db: Database, event: dict[str, Any]) -> None:
    """Remember that a baseline event was applied."""
    db.table("baseline_events").insert(event, pk="key", replace=True)
