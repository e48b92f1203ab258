"""What the charts show: the past of the measures rebuilt day by day from their events, as levels over time.

A measure's state on a day comes from its events (docs/ARCHITECTURE.md, "Measures, not levels"): announced or
reported (in force from its effective date), suspended or extended (until a date, in force again after it),
lapsed (in force again), lifted or withdrawn. The effective level of a destination and a material on a day is the
highest level among the measures in force on that day that cover it — the same rule as the statuses, end use
`any`. Pure: measures, events and dates in, series out; nothing here draws.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.exposure import Exposure
from bot.domain.ladder import Level
from bot.domain.measures import Measure, measure_from_row
from bot.domain.values import ALL, MeasureState
from bot.domain.vocab import Vocabulary

START = dt.date(2023, 1, 1)  # the charts begin with the gallium and germanium licences of 2023
KEY_MATERIALS = 10  # rows of a country's grid
SUSPENDING = frozenset({"suspended", "extended"})
ENDING = frozenset({"lifted", "withdrawn"})
MarkerKind = Literal["effective", "suspended", "extended", "lapsed", "lifted", "withdrawn"]


@dataclass(frozen=True, slots=True)
class MeasureEvent:
    """One dated event of a measure: its kind, the day, and for a suspension the day it runs to."""

    kind: str
    on: dt.date
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class History:
    """A measure with its events, oldest first."""

    measure: Measure
    events: tuple[MeasureEvent, ...]

    def state_on(self, day: dt.date) -> MeasureState | None:
        """The measure's state on a day; None before anyone knew of it."""
        measure = self.measure
        if day < min(measure.announced, measure.effective):
            return None
        state: MeasureState = "in_force"
        until: dt.date | None = None
        for event in self.events:
            if event.on > day:
                break
            state, until = _after(event, state, until)
        if state == "suspended" and until is not None and until < day:
            state = "in_force"  # the suspension ran out with no extension seen
        if state == "in_force" and day < measure.effective:
            return "announced"
        return state

    def level_on(self, day: dt.date) -> Level:
        """The measure's level where it binds on a day, else NORMAL."""
        return self.measure.level if self.state_on(day) == "in_force" else Level.NORMAL

    def turning_days(self) -> set[dt.date]:
        """Every day its state may change: effective, each event, the day after each suspension's end."""
        days = {self.measure.effective, self.measure.announced}
        for event in self.events:
            days.add(event.on)
            if event.until is not None:
                days.add(event.until + dt.timedelta(days=1))
        return days


def _after(event: MeasureEvent, state: MeasureState, until: dt.date | None) -> tuple[MeasureState, dt.date | None]:
    if event.kind in SUSPENDING:
        return "suspended", event.until
    if event.kind == "lapsed":
        return "in_force", None
    if event.kind in ENDING:
        return ("lifted" if event.kind == "lifted" else "withdrawn"), None
    return state, until  # announced, reported, confirmed, evidence: no change of state


def events_from_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[MeasureEvent, ...]:
    """Rows of measure_events (any order) as events, oldest first."""
    events = [
        MeasureEvent(row["kind"], _day(row["at"]), dt.date.fromisoformat(row["until"]) if row.get("until") else None)
        for row in rows
    ]
    return tuple(sorted(events, key=lambda event: event.on))


def _day(stamp: str) -> dt.date:
    return dt.datetime.fromisoformat(stamp).date()


def history_of(measure: Measure, events: Sequence[MeasureEvent]) -> History:
    """A measure with its events; with none recorded, the events its current state implies."""
    if events:
        return History(measure, tuple(events))
    implied = [MeasureEvent("announced", measure.announced)]
    if measure.state in ("suspended", "lifted", "withdrawn"):
        implied.append(MeasureEvent(measure.state, measure.state_since or measure.effective, measure.until))
    return History(measure, tuple(implied))


# ---------------------------------------------------------------- levels over time


@dataclass(frozen=True, slots=True)
class Step:
    """A level holding from `start` until the next step; `measure` is the strongest measure setting it."""

    start: dt.date
    level: Level
    measure: Measure | None = None


def covers(history: History, vocabulary: Vocabulary, destination: str, material: str) -> bool:
    """Whether a measure bears on a destination (a country, its bloc, ALL) and a material (it or a group that
    covers it, as exposure reads them), end use any."""
    measure = history.measure
    return (
        measure.end_use == "any"
        and aims_at(history, vocabulary, destination)
        and bool(set(measure.materials) & vocabulary.covering(material))
    )


def aims_at(history: History, vocabulary: Vocabulary, destination: str) -> bool:
    """Whether a measure names a destination (a country, its bloc, ALL), one its issuer is not."""
    issuer = history.measure.issuer
    if destination in vocabulary.countries:
        targets = vocabulary.bound_targets(issuer, destination)
    else:  # a target no country stands for: it binds unless it is the issuer
        targets = frozenset({destination} - {issuer})
    return bool(set(history.measure.targets) & targets)


def strongest_on(histories: Iterable[History], day: dt.date) -> Step:
    """The level on a day: the highest among the measures in force (of equals, the earliest effective)."""
    binding = [h.measure for h in histories if h.level_on(day) > Level.NORMAL]
    if not binding:
        return Step(day, Level.NORMAL)
    measure = min(binding, key=lambda m: (-m.level, m.effective, m.id))
    return Step(day, measure.level, measure)


def level_steps(histories: Sequence[History], start: dt.date, end: dt.date) -> list[Step]:
    """The level from `start` to `end` (inclusive) as steps: one per change of level."""
    days = {start} | {day for h in histories for day in h.turning_days() if start < day <= end}
    steps: list[Step] = []
    for day in sorted(days):
        step = strongest_on(histories, day)
        if not steps or step.level != steps[-1].level:
            steps.append(step)
    return steps


def level_on(steps: Sequence[Step], day: dt.date) -> Level:
    """The level the steps give on a day."""
    held = [step for step in steps if step.start <= day]
    return held[-1].level if held else Level.NORMAL


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of each month from `start`'s to `end`'s."""
    first, found = start.replace(day=1), []
    while first <= end:
        found.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return found


def monthly_levels(steps: Sequence[Step], start: dt.date, end: dt.date) -> list[tuple[dt.date, Level]]:
    """Per month from `start` to `end`: the highest level in force on any day of it (up to `end`)."""
    found = []
    for month in months(start, end):
        month_end = min((month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1), end)
        within = [step.level for step in steps if month < step.start <= month_end]
        found.append((month, max([level_on(steps, month), *within])))
    return found


# ---------------------------------------------------------------- a material: levels per destination


@dataclass(frozen=True, slots=True)
class Marker:
    """A dated mark on a chart: an instrument taking effect, a suspension, a lapse, a lifting."""

    on: dt.date
    kind: MarkerKind
    label: str


@dataclass(frozen=True, slots=True)
class Series:
    """One destination's level over time."""

    destination: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class MaterialChart:
    """A material's effective level per destination since `start`, with its instruments and suspension ends."""

    material: str
    start: dt.date
    today: dt.date
    series: tuple[Series, ...]
    markers: tuple[Marker, ...]
    suspension_ends: tuple[tuple[dt.date, str], ...]  # (the day a running suspension runs to, the instrument)


def material_chart(
    histories: Sequence[History], vocabulary: Vocabulary, material: str, today: dt.date, start: dt.date = START
) -> MaterialChart:
    """The material's chart: one series per destination a measure names, ALL first."""
    relevant = [h for h in histories if _on_material(h, vocabulary, material)]
    destinations = sorted({t for h in relevant for t in h.measure.targets}, key=lambda t: (t != ALL, t))
    series = tuple(
        Series(d, tuple(level_steps([h for h in relevant if aims_at(h, vocabulary, d)], start, today)))
        for d in destinations
    )
    return MaterialChart(
        material, start, today, series, tuple(markers_of(relevant, start, today)), suspension_ends(relevant, today)
    )


def _on_material(history: History, vocabulary: Vocabulary, material: str) -> bool:
    """A measure a material's chart shows: on the material, a group that covers it or, for a group, a member."""
    return history.measure.end_use == "any" and bool(set(history.measure.materials) & vocabulary.concerning(material))


def markers_of(histories: Iterable[History], start: dt.date, end: dt.date) -> list[Marker]:
    """The dated marks of these measures between two days: effective dates and state changes, in order."""
    found: set[Marker] = set()
    for history in histories:
        label = short_instrument(history.measure)
        if start <= history.measure.effective <= end:
            found.add(Marker(history.measure.effective, "effective", label))
        for event in history.events:
            if event.kind in ("suspended", "extended", "lapsed", "lifted", "withdrawn") and start <= event.on <= end:
                found.add(Marker(event.on, event.kind, label))  # type: ignore[arg-type]
    return sorted(found, key=lambda marker: (marker.on, marker.kind, marker.label))


def suspension_ends(histories: Iterable[History], today: dt.date) -> tuple[tuple[dt.date, str], ...]:
    """The end of each suspension running today, with the instrument it suspends."""
    ends = set()
    for history in histories:
        if history.state_on(today) == "suspended":
            until = next((e.until for e in reversed(history.events) if e.kind in SUSPENDING and e.on <= today), None)
            if until is not None:
                ends.add((until, short_instrument(history.measure)))
    return tuple(sorted(ends))


_ANNOUNCEMENT = re.compile(r"Announcement (\d+/\d{4})(?:, clause (\d+))?")


def short_instrument(measure: Measure) -> str:
    """A short name for a chart mark: 'Ann. 46/2024 c2', else the instrument or title cut to fit."""
    found = _ANNOUNCEMENT.search(measure.instrument or "")
    if found:
        return f"Ann. {found.group(1)}" + (f" c{found.group(2)}" if found.group(2) else "")
    text = measure.instrument or measure.title
    return text if len(text) <= 24 else text[:23] + "…"


# ---------------------------------------------------------------- a country: its key materials by month


@dataclass(frozen=True, slots=True)
class CountryGrid:
    """A country's key materials by month, each cell the highest level in force that month."""

    country: str
    start: dt.date
    today: dt.date
    months: tuple[dt.date, ...]
    rows: tuple[tuple[str, tuple[Level, ...]], ...]  # (material, level per month)
    suspension_ends: tuple[tuple[dt.date, str], ...]


def key_materials(needs: Mapping[str, Mapping[str, float]], limit: int = KEY_MATERIALS) -> list[str]:
    """The materials the sectors need most: by the largest weight any sector gives them."""
    weight: dict[str, float] = {}
    for sector_needs in needs.values():
        for material, share in sector_needs.items():
            weight[material] = max(weight.get(material, 0.0), share)
    return sorted(weight, key=lambda material: (-weight[material], material))[:limit]


def country_grid(
    histories: Sequence[History], vocabulary: Vocabulary, country: str, materials: Sequence[str], today: dt.date,
    start: dt.date = START,
) -> CountryGrid:  # fmt: skip
    """The grid of a country's materials by month since `start`."""
    rows = []
    bearing: list[History] = []
    for material in materials:
        relevant = [h for h in histories if covers(h, vocabulary, country, material)]
        bearing += relevant
        steps = level_steps(relevant, start, today)
        rows.append((material, tuple(level for _, level in monthly_levels(steps, start, today))))
    grid_months = tuple(months(start, today))
    return CountryGrid(country, start, today, grid_months, tuple(rows), suspension_ends(bearing, today))


# ---------------------------------------------------------------- an exposure score, by material


@dataclass(frozen=True, slots=True)
class Bar:
    """One material's part of an exposure score: weight × China share × level severity (in score points)."""

    material: str
    weight: float
    china_share: float
    level: Level
    points: float


@dataclass(frozen=True, slots=True)
class ExposureBars:
    """An exposure score broken down by material, with the buffer that scales it."""

    country: str
    sector: str
    score: int
    band: str
    bars: tuple[Bar, ...]
    buffer_months: float | None
    buffer_factor: float
    as_of: dt.date


def exposure_bars(exposure: Exposure) -> ExposureBars:
    """The breakdown of an assessed exposure, largest part first (points before the buffer's scaling)."""
    bars = tuple(
        Bar(part.material, part.weight, part.china_share, part.level, 100 * part.contribution)
        for part in exposure.materials
    )
    months_ = exposure.buffer.months if exposure.buffer is not None else None
    return ExposureBars(
        exposure.country, exposure.sector, exposure.score, exposure.band, bars, months_, exposure.buffer_factor,
        exposure.as_of,
    )  # fmt: skip


def histories_from_rows(
    measure_rows: Iterable[Mapping[str, Any]], event_rows: Iterable[Mapping[str, Any]]
) -> list[History]:
    """Measures and their events as stored, joined into histories."""
    by_measure: dict[str, list[Mapping[str, Any]]] = {}
    for row in event_rows:
        by_measure.setdefault(row["measure_id"], []).append(row)
    return [
        history_of(measure, events_from_rows(by_measure.get(measure.id, [])))
        for measure in (measure_from_row(row) for row in measure_rows)
    ]
