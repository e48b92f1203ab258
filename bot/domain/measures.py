"""Measures: each control as its instrument states it, and the statuses derived from those in force.

A status is never set by hand (docs/ARCHITECTURE.md, "Measures, not levels"): the effective level of
(country, material, end use) is the highest level among the measures in force that cover it — target the
country, its bloc or ALL; material itself or a group the measure names whole; end use `any`, plus `military`
for the defence sector. A suspension that runs out with no extension seen puts its measure back in force.

Pure: measures and `today` in, states and statuses out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from bot.domain.ladder import Level
from bot.domain.measure import Measurement
from bot.domain.status import Status
from bot.domain.values import ALL, EXTEND, GRANT, LIFT, SUSPEND, EasingAction, EndUse, MeasureState, Provenance
from bot.domain.vocab import Vocabulary


@dataclass(frozen=True, slots=True)
class Measure:
    """One control as its instrument states it, with its current state."""

    id: str
    issuer: str
    instrument: str | None
    title: str
    source: str
    url: str | None
    targets: tuple[str, ...]
    materials: tuple[str, ...]
    end_use: EndUse
    level: Level
    provenance: Provenance
    announced: dt.date
    effective: dt.date
    state: MeasureState = "in_force"
    until: dt.date | None = None  # while suspended: the day the suspension runs to (inclusive)
    state_since: dt.date | None = None  # when the state was entered (None: at `effective`)
    sources: tuple[str, ...] = field(default=())  # names of every source that reported it

    def state_on(self, today: dt.date) -> MeasureState:
        """The state on a day: a suspension past its end is in force again; an announced measure whose date
        has come is in force."""
        if self.state == "suspended" and self.until is not None and self.until < today:
            return "in_force"
        if self.state in ("announced", "in_force") and self.effective > today:
            return "announced"
        if self.state == "announced":
            return "in_force"
        return self.state

    def lapsed_on(self, today: dt.date) -> dt.date | None:
        """The day a suspension ran out, where it has and no extension was seen (the measure is in force again,
        whether or not that was recorded yet); else None."""
        if self.state in ("suspended", "in_force") and self.until is not None and self.until < today:
            return self.until
        return None

    def lapse_due(self, today: dt.date) -> bool:
        """Whether a suspension ran out and the measure's return to force is not recorded yet."""
        return self.state == "suspended" and self.lapsed_on(today) is not None

    def in_force(self, today: dt.date) -> bool:
        """Whether the measure binds on a day."""
        return self.state_on(today) == "in_force"

    @property
    def label(self) -> str:
        """How people name it: the instrument, else what reports say."""
        return self.instrument or f"reported: {self.title}"


def measure_from_row(row: Mapping[str, Any]) -> Measure:
    """A row of the measures table (JSON lists decoded) as a Measure."""
    return Measure(
        id=row["id"], issuer=row["issuer"], instrument=row["instrument"], title=row["title"],
        source=row["source"], url=row["url"], targets=tuple(row["targets"]), materials=tuple(row["materials"]),
        end_use=cast(EndUse, row["end_use"]), level=Level(row["level"]), provenance=cast(Provenance, row["provenance"]),
        announced=dt.date.fromisoformat(row["announced"]), effective=dt.date.fromisoformat(row["effective"]),
        state=cast(MeasureState, row["state"]), until=_date(row["until"]), state_since=_date(row["state_since"]),
        sources=tuple(row["sources"]),
    )  # fmt: skip


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def covers_target(measure: Measure, destinations: Iterable[str]) -> bool:
    """Whether a measure names one of these destinations (a country, its bloc, ALL)."""
    return bool(set(measure.targets) & set(destinations))


def covered_materials(vocabulary: Vocabulary, materials: Iterable[str]) -> frozenset[str]:
    """What naming these materials reaches: each one and, for a group, its members (never the other way)."""
    reached: set[str] = set()
    for material in materials:
        reached |= vocabulary.members(material) if material in vocabulary.materials else {material}
    return frozenset(reached)


def statuses_of(measures: Iterable[Measure], today: dt.date, *, recorded_only: bool = False) -> list[Status]:
    """One status per (issuer, target, material, end use) named by a measure in force: the strongest such
    measure's level (of equals, the oldest, so that 'since' says how long it has held).

    `recorded_only`: a suspension that ran out counts only once its return to force is recorded, so that the
    status change it causes is attributed to it (jobs/measures.py records lapses one measure at a time)."""
    best: dict[tuple[str, str, str, str], Status] = {}
    for measure in measures:
        if not measure.in_force(today) or (recorded_only and measure.lapse_due(today)):
            continue
        for status in statuses_of_measure(measure, today):
            key = (status.issuer, status.target, status.material, status.end_use)
            held = best.get(key)
            if held is None or (status.level, -status.since.timestamp()) > (held.level, -held.since.timestamp()):
                best[key] = status
    return sorted(best.values(), key=lambda s: (s.issuer, s.target, s.material, s.end_use))


def statuses_of_measure(measure: Measure, today: dt.date) -> Iterable[Status]:
    """The statuses one measure states, whatever its state (a suspended one's carry the day it runs to)."""
    since = dt.datetime.combine(measure.state_since or measure.effective, dt.time(), tzinfo=dt.UTC)
    lapsed = measure.lapsed_on(today)
    if lapsed is not None:
        since = dt.datetime.combine(lapsed + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    until = measure.until if measure.state_on(today) == "suspended" else None
    for target in measure.targets:
        for material in measure.materials:
            yield Status(
                issuer=measure.issuer, target=target, material=material, level=measure.level, since=since,
                title=measure.title, source=measure.source, url=measure.url, until=until,
                end_use=measure.end_use, measure=measure.id, provenance=measure.provenance,
                effective=measure.effective, lapsed=lapsed, instrument=measure.instrument,
            )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Easing:
    """What an easing says: who eases what for whom, to which level at most, and how."""

    issuer: str
    targets: tuple[str, ...]
    materials: tuple[str, ...]
    end_use: EndUse
    remains: Level  # the level the text says stays in force (NORMAL: it says none)
    action: EasingAction
    until: dt.date | None = None
    extend_by_years: int = 0
    instrument: str | None = None
    month: int | None = None  # the month of the measure named ("the October curbs"), where the text says


def eased_measures(
    measures: Sequence[Measure], easing: Easing, vocabulary: Vocabulary, today: dt.date
) -> list[Measure]:
    """The measures an easing acts on: the issuer's, on the named targets and materials (a member named never
    reaches a measure on its whole group), at the end use named, above the level said to remain; of those,
    the ones the text points at — by instrument, by month, else the latest announced. The pointing looks at every
    measure not lifted, so that news of a suspension already recorded (a repeat of Announcement 70/2025) points at
    the suspended measures and acts on nothing, rather than on the next older measure still in force."""
    reached = covered_materials(vocabulary, easing.materials)
    named = [
        m
        for m in measures
        if m.issuer == easing.issuer
        and m.state_on(today) != "lifted"
        and _targets_meet(m, easing)
        and reached & set(m.materials)
        and (easing.end_use == "military" or m.end_use == "any")
        and (easing.action == "extend" or m.level > easing.remains)
    ]
    if easing.action == "extend":
        named = [m for m in named if _may_ease(m, easing, today)]
    return [m for m in _pointed_at(named, easing) if _may_ease(m, easing, today)]


def _may_ease(measure: Measure, easing: Easing, today: dt.date) -> bool:
    """An extension moves a suspension's end, running or run out; a suspension or lifting acts on a measure in
    force or announced."""
    if easing.action == "extend":
        return measure.until is not None and measure.state in ("suspended", "in_force")
    return measure.state_on(today) in ("in_force", "announced")


def _targets_meet(measure: Measure, easing: Easing) -> bool:
    if ALL in easing.targets:
        return ALL in measure.targets
    return bool(set(measure.targets) & set(easing.targets))


def _pointed_at(candidates: list[Measure], easing: Easing) -> list[Measure]:
    if easing.instrument:
        named = [m for m in candidates if m.instrument and _same_instrument(m.instrument, easing.instrument)]
        if named:
            return named
    if easing.month is not None:
        in_month = [m for m in candidates if m.announced.month == easing.month]
        if in_month:
            return in_month
    if easing.action == "extend" or not candidates:
        return candidates
    latest = max(m.announced for m in candidates)
    return [m for m in candidates if m.announced == latest]


def _same_instrument(held: str, named: str) -> bool:
    """'MOFCOM Announcement 46/2024, clause 2' is named by 'Announcement 46/2024'."""
    number = named.rsplit(" ", 1)[-1]
    return f" {number}" in f" {held}".replace(",", " ")


def apply_easing(measure: Measure, easing: Easing, today: dt.date) -> Measure:
    """The measure after the easing: suspended to a date, lifted, or with its suspension's end moved."""
    if easing.action == "extend":
        return replace(measure, state="suspended", until=_extended_end(measure, easing))
    if easing.action == "suspend":
        return replace(measure, state="suspended", until=easing.until, state_since=today)
    return replace(measure, state="lifted", until=None, state_since=today)


def _extended_end(measure: Measure, easing: Easing) -> dt.date | None:
    if easing.until is not None:
        return easing.until
    if measure.until is None or not easing.extend_by_years:
        return measure.until
    try:
        return measure.until.replace(year=measure.until.year + easing.extend_by_years)
    except ValueError:  # 29 February
        return measure.until.replace(year=measure.until.year + easing.extend_by_years, day=28)


def remaining_level(
    measures: Sequence[Measure], vocabulary: Vocabulary, targets: Iterable[str], materials: Iterable[str],
    today: dt.date,
) -> Level:  # fmt: skip
    """The highest level still in force (end use any) on these targets and materials: what an easing leaves."""
    reached = covered_materials(vocabulary, materials)
    levels = [
        m.level
        for m in measures
        if m.in_force(today) and m.end_use == "any" and reached & covered_materials(vocabulary, m.materials)
        and any(covers_target(m, _destinations(vocabulary, t)) for t in targets)
    ]  # fmt: skip
    return max(levels, default=Level.NORMAL)


def _destinations(vocabulary: Vocabulary, target: str) -> frozenset[str]:
    if target == ALL or target not in vocabulary.countries:
        return frozenset({target})
    return vocabulary.destinations(target)


def easing_of(measurement: Measurement) -> Easing:
    """What an easing measurement asks of the measures."""
    action: EasingAction = measurement.action or LIFT
    remains = Level(measurement.level)
    if measurement.effect == GRANT and remains < Level.LICENSING:
        remains = Level.LICENSING  # approvals granted or resumed: the licence requirement stays
    if action == SUSPEND and measurement.until is None and measurement.extend_years:
        action = EXTEND
    until = dt.date.fromisoformat(measurement.until) if measurement.until else None
    return Easing(
        issuer=measurement.issuer or "CN", targets=measurement.targets, materials=measurement.materials,
        end_use=measurement.end_use, remains=remains, action=action,
        until=until, extend_by_years=measurement.extend_years,
        instrument=measurement.instrument, month=measurement.month,
    )  # fmt: skip


def level_after_easing(
    measures: Sequence[Measure], measurement: Measurement, vocabulary: Vocabulary, today: dt.date
) -> Level:
    """What stays in force on an easing's targets and materials once it applies: the level its text names,
    else what the known measures leave (suspending the US gallium ban leaves Announcement 23/2023's licensing)."""
    if measurement.level > Level.NORMAL:
        return Level(measurement.level)
    easing = easing_of(measurement)
    eased = {m.id for m in eased_measures(measures, easing, vocabulary, today)}
    after = [apply_easing(m, easing, today) if m.id in eased else m for m in measures]
    return remaining_level(after, vocabulary, measurement.targets, measurement.materials, today)
