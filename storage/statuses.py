"""Statuses (the current level per issuer, target and material) and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from storage.rows import Row, placeholders, select

if TYPE_CHECKING:
    from storage.database import Database


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
    end_use: str = "any"  # "any" | "military"
    measure: str | None = None  # the measure whose level the key now has (or had, where it fell to normal)
    provenance: str = "official"  # "official" | "reported"


def current_statuses(db: Database, issuer: str | None = None) -> list[Row]:
    """Every current status (of one issuer, if given), strongest first."""
    where, params = ("WHERE issuer = ?", [issuer]) if issuer else ("", [])
    sql = f"SELECT * FROM statuses {where} ORDER BY level DESC, since DESC, target, material"
    return select(db, sql, params)


def statuses_among(db: Database, issuer: str, targets: Iterable[str], materials: Iterable[str]) -> list[Row]:
    """The current statuses of one issuer on these targets and materials."""
    targets, materials = list(targets), list(materials)
    marks = placeholders(targets), placeholders(materials)
    sql = f"SELECT * FROM statuses WHERE issuer = ? AND target IN ({marks[0]}) AND material IN ({marks[1]})"
    return select(db, sql, [issuer, *targets, *materials])


def record_change(db: Database, change: StatusChange) -> int:
    """Write a change to the history; return the change id (statuses are derived from measures: jobs/measures.py).

    The caller holds the transaction (`with db.atomic():`) so that a change and its alerts commit together.
    """
    cursor = db.execute(
        """INSERT INTO status_changes (issuer, target, material, old_level, new_level, direction, at, title,
               source, origin, url, item_id, until, effective_old, effective_new, end_use, measure, provenance)
           VALUES (:issuer, :target, :material, :old_level, :new_level, :direction, :at, :title,
               :source, :origin, :url, :item_id, :until, :effective_old, :effective_new, :end_use, :measure,
               :provenance)""",
        asdict(change),
    )
    return int(cursor.lastrowid or 0)
