"""What a measured item leaves behind besides measures: its signals, and where its evidence comes from; and the
effective level a status change moves (docs/ARCHITECTURE.md, "Effective levels")."""

from __future__ import annotations

from bot.domain.ladder import Level
from bot.domain.measure import Measurement
from bot.domain.status import StatusBook
from storage.rows import Row
from storage.statuses import StatusChange


def signal_rows(measurement: Measurement) -> list[Row]:
    """The signals of a relevant measurement: one row per (target, material)."""
    if not measurement.relevant:
        return []
    return [
        {
            "issuer": measurement.issuer,
            "target": target,
            "material": material,
            "level": measurement.level,
            "direction": measurement.direction,
            "evidence": list(measurement.evidence),
        }
        for target in measurement.targets
        for material in measurement.materials
    ]


def effective_move(book: StatusBook, change: StatusChange) -> tuple[int, int]:
    """The effective level of the change's target for its material (at its end use) before and after the change,
    where `book` holds the statuses of the change's issuer with the changed key at either level (or absent)."""
    if change.target not in book.vocabulary.countries:
        return change.old_level, change.new_level
    key = (change.target, change.material, change.end_use)
    military = change.end_use == "military"
    others = (
        s.level
        for s in book.applicable(change.target, change.material, military=military)
        if (s.target, s.material, s.end_use) != key
    )
    rest = max(others, default=int(Level.NORMAL))
    return max(rest, change.old_level), max(rest, change.new_level)
