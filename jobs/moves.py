"""Moving statuses: a measured item raises, lowers or leaves the status of each (issuer, target, material).

- A tightening raises a status to the level the item asserts, never lowers it (so `watch` never lowers a
  stronger status, and the same news from three sources makes one change, not three).
- An easing lowers a status to what stays in force: the level the item names, else the level before the
  measure that set the current one (from the history). A `grant` (licences granted, resumed, fast-tracked)
  eases within a licensing regime, so it leaves a status that is exactly `licensing` alone.
- Scope (jobs/measure.py): entity listings move a country's status to `watch` at most, and ease only statuses
  at `watch` or below — as the baseline records them; technology-only measures and legal frameworks are kept
  as signals and move no status (FACTS.md: "technology export ban (materials unaffected)").
- A measure on a group keeps the group as the status's material; a measure on ALL stays on ALL. An easing of a
  group also eases that target's existing statuses on the group's members, each as its own change; it never
  touches other targets' statuses (a suspension on ALL leaves measures on Japan alone).
- What counts is the effective level (DESIGN.md): a country's level for a material is the highest of the
  statuses on it, its bloc and ALL, on the material and every group covering it. A move of one key is a change
  — history, status and alert — when it moves the effective level of its target for its material (one that
  leaves that level alone leaves every member and member state alone too). A move that moves no effective
  level (licensing for Japan under its dual-use restriction) only sets the key's status, without history or
  alert, so that it is in force once the stronger measure goes.

Everything runs inside the caller's transaction: the caller wraps an item's work in `with db.atomic():` and
creates the alerts of the returned changes in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from bot.domain.ladder import Level
from bot.domain.measure import EASE, GRANT, TIGHTEN, Measurement
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from storage.signals import record_signals
from storage.statuses import (
    StatusChange,
    extend_suspension,
    get_status,
    latest_change,
    level_before_rise_to,
    record_change,
    set_status,
    statuses_among,
)

ORIGIN = "live"
ENTITY_CEILING = Level.WATCH
# An easing that names no remaining level, seen within this long of an easing to the current level, is the same
# news again: lifting once more would take away a measure still in force.
SAME_NEWS_WINDOW = dt.timedelta(days=7)
SIGNAL_ONLY_SCOPES = frozenset({"technology", "framework"})

Key = tuple[str, str, str]  # (issuer, target, material)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a measurement comes from: the item's title, link, source and stored id."""

    title: str
    url: str | None
    source: str  # who reported it, as people should read it: the source's name
    item_id: int | None = None


def signal_rows(measurement: Measurement) -> list[dict[str, Any]]:
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


def status_book(db: Database, vocabulary: Vocabulary, change: StatusChange) -> StatusBook:
    """The current statuses that bear on a change's target and material, to read its effective levels from."""
    known = change.target in vocabulary.countries and change.material in vocabulary.materials
    targets = vocabulary.destinations(change.target) if known else {change.target}
    materials = vocabulary.covering(change.material) if known else {change.material}
    rows = statuses_among(db, change.issuer, targets, materials)
    return StatusBook([Status.from_row(row) for row in rows], vocabulary, change.issuer)


def effective_move(book: StatusBook, change: StatusChange) -> tuple[int, int]:
    """The effective level of the change's target for its material before and after the change, where `book`
    holds the statuses of the change's issuer with the changed key at either level (or absent)."""
    if change.target not in book.vocabulary.countries:
        return change.old_level, change.new_level
    key = (change.target, change.material)
    others = (s.level for s in book.applicable(change.target, change.material) if (s.target, s.material) != key)
    rest = max(others, default=int(Level.NORMAL))
    return max(rest, change.old_level), max(rest, change.new_level)


def record_or_keep(db: Database, vocabulary: Vocabulary, change: StatusChange) -> int | None:
    """Record a change that moves an effective level (history and status) and return its id; only set the
    status of one that moves none, and return None."""
    before, after = effective_move(status_book(db, vocabulary, change), change)
    if before != after:
        return record_change(db, replace(change, effective_old=before, effective_new=after))
    set_status(db, change)
    return None


def prior_level(db: Database, key: Key, current: int) -> int:
    """The level before the measure that set the current one: the latest rise from below `current` to it or
    above; NORMAL where the history has none."""
    return level_before_rise_to(db, key, current)


def raised_level(measurement: Measurement, current: int) -> int | None:
    """The level a tightening moves a status to, or None where it stays."""
    wanted = min(measurement.level, ENTITY_CEILING) if measurement.scope == "entities" else measurement.level
    return wanted if wanted > current else None


def lowered_level(db: Database, measurement: Measurement, key: Key, current: int, now: dt.datetime) -> int | None:
    """The level an easing moves a status to, or None where it stays."""
    if current == Level.NORMAL or (measurement.scope == "entities" and current > ENTITY_CEILING):
        return None
    if measurement.effect == GRANT and current == Level.LICENSING:
        return None
    if measurement.level == Level.NORMAL and recently_eased_to(db, key, current, now):
        return None  # the same easing news again (another outlet, a repost): it was lifted once already
    wanted = measurement.level if measurement.level > Level.NORMAL else prior_level(db, key, current)
    return wanted if wanted < current else None


def recently_eased_to(db: Database, key: Key, current: int, now: dt.datetime) -> bool:
    """Whether the key's latest change was an easing to its current level, within the repeat window."""
    latest = latest_change(db, key)
    if latest is None or not latest["new_level"] < latest["old_level"] or latest["new_level"] != current:
        return False
    return now - dt.datetime.fromisoformat(latest["at"]) < SAME_NEWS_WINDOW


def new_level(db: Database, measurement: Measurement, key: Key, current: int, now: dt.datetime) -> int | None:
    """Where a measurement moves the status of one key, or None where it stays."""
    if measurement.direction == TIGHTEN:
        return raised_level(measurement, current)
    if measurement.direction == EASE:
        return lowered_level(db, measurement, key, current, now)
    return None


def _change(
    db: Database, measurement: Measurement, evidence: Evidence, key: Key, now: dt.datetime
) -> StatusChange | None:
    status = get_status(db, *key)
    if measurement.direction == EASE and measurement.until and status and status["until"]:
        # A suspension in force, named again with an end date: an extension, not a further easing.
        extend_suspension(db, key, until=measurement.until, title=evidence.title, url=evidence.url,
                          source=evidence.source, at=now.isoformat())  # fmt: skip
        return None
    current = int(status["level"]) if status else int(Level.NORMAL)
    level = new_level(db, measurement, key, current, now)
    if level is None:
        return None
    until = measurement.until if measurement.direction == EASE else None
    return StatusChange(
        *key, current, level, measurement.direction, now.isoformat(), evidence.title, evidence.source, ORIGIN,
        evidence.url, evidence.item_id, until,
    )  # fmt: skip


def moves_statuses(measurement: Measurement) -> bool:
    """Whether a measurement may move statuses at all."""
    return (
        measurement.relevant
        and measurement.issuer is not None
        and measurement.direction in (TIGHTEN, EASE)
        and measurement.scope not in SIGNAL_ONLY_SCOPES
    )


def keys_of(db: Database, vocabulary: Vocabulary, measurement: Measurement, key: Key) -> list[Key]:
    """The keys a measurement on one key bears on: the key itself and, for an easing of a group, the target's
    existing statuses on the group's members."""
    issuer, target, material = key
    if measurement.direction != EASE or material not in vocabulary.materials:
        return [key]
    members = vocabulary.members(material) - {material}
    covered = sorted(row["material"] for row in statuses_among(db, issuer, [target], members))
    return [key, *((issuer, target, member) for member in covered)]


def _moves_of(
    db: Database, vocabulary: Vocabulary, measurement: Measurement, evidence: Evidence, key: Key, now: dt.datetime
) -> list[tuple[int, StatusChange]]:
    moved = []
    for each in keys_of(db, vocabulary, measurement, key):
        change = _change(db, measurement, evidence, each, now)
        if change is not None and (change_id := record_or_keep(db, vocabulary, change)) is not None:
            moved.append((change_id, change))
    return moved


def apply_measurement(
    db: Database,
    measurement: Measurement,
    evidence: Evidence,
    now: dt.datetime,
    vocabulary: Vocabulary,
) -> list[tuple[int, StatusChange]]:
    """Record an item's signals and move the statuses it bears on; return each change with its id.

    Inside the caller's transaction; the caller creates the alerts of the returned changes. Effective levels
    are read with `vocabulary`.
    """
    if evidence.item_id is not None and measurement.relevant:
        record_signals(db, evidence.item_id, signal_rows(measurement), now.isoformat())
    if not moves_statuses(measurement) or measurement.issuer is None:
        return []
    changes = []
    for target in measurement.targets:
        for material in measurement.materials:
            changes += _moves_of(db, vocabulary, measurement, evidence, (measurement.issuer, target, material), now)
    return changes
