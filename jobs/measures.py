"""Moving measures, and the statuses derived from them, from measured items, the baseline and the calendar.

- A tightening is a measure: a new one, or one more piece of evidence for the same measure seen before (same
  issuer, end use and level, overlapping targets and materials, announced within `SAME_MEASURE_WINDOW`); an
  official report of a measure known only from reports confirms it.
- An easing acts on measures (bot/domain/measures.py `eased_measures`): it suspends, lifts, or moves the end of
  a suspension; other measures stay as they are. One that matches no measure moves nothing (its signal stays).
- A suspension that runs out with no extension seen puts its measure back in force (`apply_lapses`).
- After each, the statuses are derived again and every key whose level moved is a `StatusChange`; one that
  moves its target's effective level goes into the history and, through jobs/alerts.py, the alerts.

Everything runs inside the caller's transaction, so a measure, the statuses it moves and their alerts commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from bot.domain.alert_payloads import DeskPayload, FollowUpPayload
from bot.domain.datafiles import JsonObject
from bot.domain.ladder import Level
from bot.domain.measure import Measurement
from bot.domain.measures import (
    Easing,
    Measure,
    apply_easing,
    eased_measures,
    easing_of,
    measure_from_row,
    statuses_of,
)
from bot.domain.status import Status, StatusBook
from bot.domain.values import CONFIRMED, EASE, SUSPEND, TIGHTEN, DeskItemKind, DeskState
from bot.domain.vocab import Vocabulary
from jobs.alerts import desk_alert, follow_up
from storage.desk import add_desk_item, add_desk_report, decide_desk_item, pending_about
from storage.measures import (
    add_measure_source,
    all_measures,
    measure_item_ids,
    measure_row,
    measures_touching,
    record_measure_event,
    replace_status,
    save_measure,
    suspensions_run_out,
)
from storage.rows import Row
from storage.statuses import StatusChange, current_statuses, record_change, statuses_among

if TYPE_CHECKING:
    from storage.database import Database

SAME_MEASURE_WINDOW = dt.timedelta(days=30)
ENTITY_CEILING = Level.WATCH
SIGNAL_ONLY_SCOPES = frozenset({"technology", "framework"})
Key = tuple[str, str, str, str]  # (issuer, target, material, end use)


Origin: TypeAlias = Literal[
    "live", "baseline", "lapse"
]  # where a change came from: a source, the bundled file, a lapse


@dataclass(frozen=True, slots=True)
class Cause:
    """What moved the measures: shown in the history and the alert."""

    title: str
    source: str
    url: str | None = None
    item_id: int | None = None
    origin: Origin = "live"
    # The issuer's own word (its own pages, a person at the desk, the bundled record): may ease an official
    # measure. Anything else that eases one waits for the desk; left out, a cause is taken for a report.
    official: bool = False
    confirmed_by: str | None = None  # the person at the desk whose Confirm let a held easing through


def to_row(measure: Measure, origin: Origin) -> Row:
    """A measure as a row of the measures table."""
    return {
        "id": measure.id, "issuer": measure.issuer, "instrument": measure.instrument, "title": measure.title,
        "source": measure.source, "url": measure.url, "targets": list(measure.targets),
        "materials": list(measure.materials), "end_use": measure.end_use, "level": int(measure.level),
        "provenance": measure.provenance, "announced": measure.announced.isoformat(),
        "effective": measure.effective.isoformat(), "state": measure.state,
        "until": measure.until.isoformat() if measure.until else None,
        "state_since": measure.state_since.isoformat() if measure.state_since else None,
        "origin": origin, "sources": list(measure.sources),
    }  # fmt: skip


def load_measures_of(db: Database) -> list[Measure]:
    """Every stored measure."""
    return [measure_from_row(row) for row in all_measures(db)]


# ---------------------------------------------------------------- statuses derived from measures


def sync_statuses(
    db: Database,
    vocabulary: Vocabulary,
    now: dt.datetime,
    cause: Cause,
    *,
    record: bool = True,
    touched: Sequence[Measure] | None = None,
) -> list[tuple[int, StatusChange]]:
    """Derive the statuses from the measures in force today and write those that differ; return each change
    that moved its target's effective level, with its history id (none where `record` is false).

    `touched`: only the keys these measures name, and what bears on their effective levels, are read and
    derived again (a live item touches a few keys; the whole table is for the baseline)."""
    if touched is None:
        current = [Status.from_row(row) for row in current_statuses(db)]
        wanted = statuses_of(load_measures_of(db), now.date(), recorded_only=True)
    else:
        current, wanted = _around(db, vocabulary, touched, now.date())
    before, after = _by_key(current), _by_key(wanted)
    book_before, book_after = StatusBook(current, vocabulary), StatusBook(wanted, vocabulary)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and _same(old, new):
            continue
        _write(db, key, new, cause, now)
        change = _change(key, old, new, cause, now)
        if record and change is not None:
            moved = _effective(change, book_before, book_after)
            if moved is not None:
                changes.append((record_change(db, moved), moved))
    return changes


def _around(
    db: Database, vocabulary: Vocabulary, touched: Sequence[Measure], today: dt.date
) -> tuple[list[Status], list[Status]]:
    """The current and the derived statuses of the keys the touched measures name and of every key that bears on
    their effective levels (their targets' blocs and ALL; their materials' groups)."""
    current: list[Status] = []
    wanted: list[Status] = []
    for issuer in sorted({m.issuer for m in touched}):
        mine = [m for m in touched if m.issuer == issuer]
        targets = {d for m in mine for t in m.targets for d in _destinations_of(vocabulary, t)}
        materials = {c for m in mine for x in m.materials for c in _covering_of(vocabulary, x)}
        current += [Status.from_row(row) for row in statuses_among(db, issuer, targets, materials)]
        measures = [
            measure_from_row(measure_row(values)) for values in measures_touching(db, issuer, targets, materials)
        ]
        wanted += [
            s
            for s in statuses_of(measures, today, recorded_only=True)
            if s.target in targets and s.material in materials
        ]
    return current, wanted


def _destinations_of(vocabulary: Vocabulary, target: str) -> frozenset[str]:
    return vocabulary.destinations(target) if target in vocabulary.countries else frozenset({target})


def _covering_of(vocabulary: Vocabulary, material: str) -> frozenset[str]:
    return vocabulary.covering(material) if material in vocabulary.materials else frozenset({material})


def _by_key(statuses: Sequence[Status]) -> dict[Key, Status]:
    return {(s.issuer, s.target, s.material, s.end_use): s for s in statuses if s.level > Level.NORMAL}


def _same(old: Status, new: Status) -> bool:
    return (old.level, old.measure, old.provenance, old.lapsed) == (new.level, new.measure, new.provenance, new.lapsed)


def _write(db: Database, key: Key, status: Status | None, cause: Cause, now: dt.datetime) -> None:
    issuer, target, material, end_use = key
    if status is None:  # nothing in force any more: kept at normal, citing what lifted it
        row = {"issuer": issuer, "target": target, "material": material, "end_use": end_use, "level": 0,
               "since": now.isoformat(), "title": cause.title, "source": cause.source, "url": cause.url,
               "item_id": cause.item_id, "updated_at": now.isoformat()}  # fmt: skip
    else:
        row = {
            "issuer": issuer, "target": target, "material": material, "end_use": end_use,
            "level": int(status.level), "since": status.since.isoformat(), "title": status.title,
            "source": status.source, "url": status.url, "item_id": None, "until": None,
            "measure": status.measure, "provenance": status.provenance,
            "effective": status.effective.isoformat() if status.effective else None,
            "lapsed": status.lapsed.isoformat() if status.lapsed else None, "instrument": status.instrument,
            "updated_at": now.isoformat(),
        }  # fmt: skip
    replace_status(db, row)


def _change(key: Key, old: Status | None, new: Status | None, cause: Cause, now: dt.datetime) -> StatusChange | None:
    old_level = int(old.level) if old else 0
    new_level = int(new.level) if new else 0
    if old_level == new_level:
        return None
    issuer, target, material, end_use = key
    shown = new or old
    return StatusChange(
        issuer, target, material, old_level, new_level, TIGHTEN if new_level > old_level else EASE,
        now.isoformat(), cause.title, cause.source, cause.origin, cause.url, cause.item_id, None,
        end_use=end_use, measure=shown.measure if shown else None,
        provenance=new.provenance if new else "official",
    )  # fmt: skip


def _effective(change: StatusChange, before: StatusBook, after: StatusBook) -> StatusChange | None:
    """The change with its target's effective level before and after, or None where that did not move."""
    if change.target not in before.vocabulary.countries or change.material not in before.vocabulary.materials:
        return replace(change, effective_old=change.old_level, effective_new=change.new_level)
    military = change.end_use == "military"
    old = int(before.level(change.target, change.material, military=military))
    new = int(after.level(change.target, change.material, military=military))
    return None if old == new else replace(change, effective_old=old, effective_new=new)


# ---------------------------------------------------------------- measured items


def moves_measures(measurement: Measurement) -> bool:
    """Whether a measurement may move measures at all."""
    return (
        measurement.relevant
        and measurement.issuer is not None
        and measurement.direction in (TIGHTEN, EASE)
        and measurement.scope not in SIGNAL_ONLY_SCOPES
    )


def apply_to_measures(
    db: Database,
    measurement: Measurement,
    cause: Cause,
    now: dt.datetime,
    vocabulary: Vocabulary,
    desk: Sequence[int] = (),
    at_hand: MeasuresAtHand | None = None,
) -> list[tuple[int, StatusChange]]:
    """Move the measures an item bears on, then the statuses; return the changes that moved effective levels.

    `at_hand`: the measures of the item's batch (`MeasuresAtHand.read`), else they are read for this item alone.
    A suspension that ran out is left to `apply_lapses` (daily and at start): statuses derive from recorded
    states only, so an item never moves a lapse's statuses under its own name."""
    if not moves_measures(measurement):
        return []
    if at_hand is None:
        at_hand = MeasuresAtHand.read(db, vocabulary, [measurement])
    candidates = at_hand.touching(measurement)
    if measurement.direction == TIGHTEN:
        touched = _tighten(db, at_hand, candidates, measurement, cause, now, desk)
    else:
        touched = _ease(db, at_hand, candidates, measurement, cause, now, vocabulary, desk)
    return sync_statuses(db, vocabulary, now, cause, touched=touched) if touched else []


@dataclass(frozen=True, slots=True)
class DecodedMeasures:
    """Stored measures as decoded, each with the row it came from: a row read again as it was is not decoded
    again (a Measure is immutable, so the one decoded before serves). One entry per measure, its latest row."""

    seen: dict[str, tuple[tuple[Any, ...], Measure]] = field(default_factory=dict)

    def __call__(self, values: tuple[Any, ...]) -> Measure:
        """The measure a row of `measures_touching` holds."""
        held = self.seen.get(values[0])
        if held is not None and held[0] == values:
            return held[1]
        measure = measure_from_row(measure_row(values))
        self.seen[measure.id] = (values, measure)
        return measure


@dataclass(slots=True)
class Waiting:
    """A pending desk item as the measures of a batch know it: the easing it holds (None for a doubt about the
    measure itself) and the source that reported it first."""

    id: int
    kind: DeskItemKind
    easing: Easing | None
    source: str

    @classmethod
    def of(cls, row: Row) -> Waiting:
        """A pending desk item's row (`pending_about`) as the batch keeps it."""
        easing = easing_of(measurement_from_json(row["measurement"])) if row["kind"] == "easing" else None
        return cls(int(row["id"]), row["kind"], easing, str(row["source"]))


@dataclass(slots=True)
class MeasuresAtHand:
    """The stored measures a batch of items may move, read in one query per issuer and kept as the items move
    them: each item sees what the items before it did, as a query of its own would, and each measure is decoded
    once a batch. Every write to them goes through `save` and `add_source`; the caller holds the transaction."""

    vocabulary: Vocabulary
    measures: dict[str, Measure]
    keys: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict
    )
    # The pending desk items about these measures, by measure, read with them: the doubts a report from another
    # source settles and the held easings a report of the same easing joins; most reports need no look at the desk.
    at_desk: dict[str, list[Waiting]] = field(default_factory=dict)

    @classmethod
    def read(
        cls,
        db: Database,
        vocabulary: Vocabulary,
        measurements: Sequence[Measurement],
        decoded: DecodedMeasures | None = None,
    ) -> MeasuresAtHand:
        """The measures any of these measurements may move (the union of their lookups, per issuer); `decoded`
        keeps the measures of earlier batches, so that a row read again unchanged is not decoded again."""
        decode = DecodedMeasures() if decoded is None else decoded
        at_hand = cls(vocabulary, {})
        wanted: dict[str, tuple[set[str], set[str]]] = {}
        for measurement in measurements:
            targets, materials = wanted.setdefault(measurement.issuer or "CN", (set(), set()))
            more_targets, more_materials = at_hand.lookup_keys(measurement)
            targets |= more_targets
            materials |= more_materials
        for issuer, (targets, materials) in wanted.items():
            for values in measures_touching(db, issuer, targets, materials):
                measure = decode(values)
                at_hand.measures[measure.id] = measure
        for row in pending_about(db, at_hand.measures):
            at_hand._keep(row["measure_id"], Waiting.of(row))
        return at_hand

    def _keep(self, measure_id: str, item: Waiting) -> None:
        self.at_desk.setdefault(measure_id, []).append(item)

    def hold(
        self, db: Database, kind: DeskItemKind, measure: Measure, measurement: Measurement, cause: Cause,
        now: dt.datetime, desk: Sequence[int],
    ) -> None:  # fmt: skip
        """Put a reading to the desk (`hold_for_desk`), and keep it among the measure's pending items."""
        desk_id = hold_for_desk(db, kind, measure, measurement, cause, now, desk)
        easing = easing_of(measurement) if kind == "easing" else None
        self._keep(measure.id, Waiting(desk_id, kind, easing, cause.source))

    def waiting(self, measure_id: str, kind: DeskItemKind) -> list[Waiting]:
        """The pending desk items of this kind about a measure, oldest first."""
        return [item for item in self.at_desk.get(measure_id, []) if item.kind == kind]

    def same_easings_waiting(self, measure_id: str, easing: Easing) -> list[Waiting]:
        """The held easings of this measure that say the same, oldest first: one, or the copies a database from
        before migration 13 kept, one per outlet."""
        return [item for item in self.waiting(measure_id, "easing") if item.easing == easing]

    def decided(
        self, db: Database, measure_id: str, item: Waiting, state: DeskState, by: str, now: dt.datetime
    ) -> None:
        """Decide a pending desk item without a person (or with the one whose Confirm applies it)."""
        decide_desk_item(db, item.id, state, by, now.isoformat())
        self.at_desk[measure_id].remove(item)

    def lookup_keys(self, measurement: Measurement) -> tuple[frozenset[str], frozenset[str]]:
        """The targets and the materials whose measures an item may move: its targets with their blocs and ALL;
        its materials with the groups that cover them and, for a group, its members."""
        named = (measurement.targets, measurement.materials)
        if named not in self.keys:
            vocabulary = self.vocabulary
            materials = {c for m in measurement.materials for c in _covering_of(vocabulary, m)} | {
                member for m in measurement.materials if m in vocabulary.materials for member in vocabulary.members(m)
            }
            self.keys[named] = frozenset(_all_destinations(vocabulary, measurement.targets)), frozenset(materials)
        return self.keys[named]

    def touching(self, measurement: Measurement) -> list[Measure]:
        """The measures an item may move: the issuer's naming one of its lookup's targets and one of its
        materials, oldest first (as `measures_touching` orders them: by announcement, then id)."""
        issuer = measurement.issuer or "CN"
        targets, materials = self.lookup_keys(measurement)
        chosen = [
            m
            for m in self.measures.values()
            if m.issuer == issuer and not targets.isdisjoint(m.targets) and not materials.isdisjoint(m.materials)
        ]
        return sorted(chosen, key=lambda m: (m.announced, m.id))

    def save(self, db: Database, measure: Measure, now: dt.datetime) -> None:
        """Store a measure moved by a live item."""
        save_measure(db, to_row(measure, "live"), now.isoformat())
        self.measures[measure.id] = measure

    def add_source(self, db: Database, held: Measure, source: str | None, now: dt.datetime) -> None:
        """One more report of a measure: `source` added to its sources (None: one it has already)."""
        add_measure_source(db, held.id, source, now.isoformat())
        if source is not None:
            self.measures[held.id] = replace(held, sources=(*held.sources, source))


def _all_destinations(vocabulary: Vocabulary, targets: Sequence[str]) -> set[str]:
    """The targets and the blocs and ALL they fall under; for ALL, every target (an easing of 'all' may name a
    measure on ALL only, a tightening on ALL is compared with measures on ALL)."""
    return {d for t in targets for d in _destinations_of(vocabulary, t)}


def measure_of(measurement: Measurement, cause: Cause, now: dt.datetime) -> Measure:
    """The measure a tightening announces."""
    level = Level(measurement.level)
    if measurement.scope == "entities":
        level = min(level, ENTITY_CEILING)
    issuer = measurement.issuer or "CN"
    fingerprint = "|".join([issuer, *measurement.targets, "/", *measurement.materials, str(int(level)),
                            measurement.end_use, cause.title])  # fmt: skip
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:10]
    return Measure(
        id=f"LIVE-{issuer}-{now.date().isoformat()}-{digest}", issuer=issuer, instrument=measurement.instrument,
        title=cause.title, source=cause.source, url=cause.url, targets=measurement.targets,
        materials=measurement.materials, end_use=measurement.end_use, level=level,
        provenance=measurement.provenance, announced=now.date(),
        effective=effective_date(measurement.effective, now.date()), sources=(cause.source,),
    )  # fmt: skip


def effective_date(said: str | None, announced: dt.date) -> dt.date:
    """The day a measure binds: the date its text gives (a day with no year: the next one from the
    announcement on), never before the announcement; else the announcement's day."""
    if said is None:
        return announced
    try:
        if said.startswith("--"):
            month, day = int(said[2:4]), int(said[5:7])
            candidate = dt.date(announced.year, month, day)
            return candidate if candidate >= announced else dt.date(announced.year + 1, month, day)
        return max(announced, dt.date.fromisoformat(said))
    except ValueError:  # 30 February and the like
        return announced


def same_measure(measures: Sequence[Measure], new: Measure) -> Measure | None:
    """A measure seen before that this one reports again, or None: one announced within SAME_MEASURE_WINDOW, or,
    for a report, an official one however old (the press restating a ban in force is evidence of it, not a new
    measure for the desk)."""
    for held in measures:
        if (
            held.issuer == new.issuer
            and held.end_use == new.end_use
            and held.level == new.level
            and set(held.targets) & set(new.targets)
            and set(held.materials) & set(new.materials)
            and held.state in ("announced", "in_force")
            and (
                new.announced - held.announced <= SAME_MEASURE_WINDOW
                or (new.provenance == "reported" and held.provenance == "official")
            )
        ):
            return held
    return None


def _tighten(
    db: Database, at_hand: MeasuresAtHand, measures: Sequence[Measure], measurement: Measurement, cause: Cause,
    now: dt.datetime, desk: Sequence[int],
) -> list[Measure]:  # fmt: skip
    new = measure_of(measurement, cause, now)
    held = same_measure(measures, new)
    event = {"at": now.isoformat(), "title": cause.title, "source": cause.source, "url": cause.url,
             "item_id": cause.item_id}  # fmt: skip
    if held is None:
        at_hand.save(db, new, now)
        record_measure_event(db, {"measure_id": new.id, "kind": "reported" if new.provenance == "reported"
                                  else "announced", "state": "in_force", **event})  # fmt: skip
        if needs_a_person(new):
            at_hand.hold(db, "unconfirmed", new, measurement, cause, now, desk)
        return [new]
    confirms = held.provenance == "reported" and new.provenance == "official"
    independent = cause.source not in held.sources
    if independent:  # an independent source, or the issuer itself, settles a doubt about the measure: no person
        # needed. An easing of it waiting for the desk stays: the measure being real says nothing of its easing.
        by = f"{'official source' if confirms else 'second source'}: {cause.source}"
        for doubt in at_hand.waiting(held.id, "unconfirmed"):
            at_hand.decided(db, held.id, doubt, "corroborated", by, now)
    if not confirms:  # one more piece of evidence: the measure's keys, level and state stay as they are
        at_hand.add_source(db, held, cause.source if independent else None, now)
        record_measure_event(db, {"measure_id": held.id, "kind": "evidence", **event})
        return []
    updated = replace(held, sources=(*held.sources, cause.source) if independent else held.sources,
                      provenance="official")  # fmt: skip
    at_hand.save(db, updated, now)
    earlier_items = measure_item_ids(db, held.id)
    record_measure_event(db, {"measure_id": held.id, "kind": "confirmed", **event})
    label = updated.instrument or held.title
    payload = FollowUpPayload(measure=held.id, measure_label=label, title=cause.title, url=cause.url,
                              source=cause.source, at=now.isoformat(), item_id=cause.item_id)  # fmt: skip
    follow_up(db, "confirmation", f"confirmed:{held.id}", payload, earlier_items, now)
    return [updated]


def _ease(
    db: Database, at_hand: MeasuresAtHand, measures: Sequence[Measure], measurement: Measurement, cause: Cause,
    now: dt.datetime, vocabulary: Vocabulary, desk: Sequence[int] = (),
) -> list[Measure]:  # fmt: skip
    said = easing = easing_of(measurement)  # said: as the desk keeps it, before an extension is read into it
    today = now.date()
    acted = eased_measures(measures, easing, vocabulary, today)
    if not acted and easing.action == SUSPEND and easing.until is not None:
        # "suspends … until D" naming a suspension already running: an extension to D
        acted = eased_measures(measures, replace(easing, action="extend"), vocabulary, today)
        easing = replace(easing, action="extend")
    if not cause.official and any(m.provenance == "official" for m in acted):
        # an official measure eased on the word of a report (the press, a news search, another issuer's pages):
        # a person confirms first, once however many outlets carry it
        waiting = at_hand.same_easings_waiting(acted[0].id, said)
        if not waiting:
            at_hand.hold(db, "easing", acted[0], measurement, cause, now, desk)
        elif cause.source != waiting[0].source:
            add_desk_report(db, waiting[0].id, cause.source, now.isoformat())
        return []
    if cause.official:  # the issuer's word, or a Confirm, settles every copy of the same easing held for a person
        state: DeskState
        state, by = (
            (CONFIRMED, cause.confirmed_by) if cause.confirmed_by is not None
            else ("corroborated", f"official source: {cause.source}")
        )  # fmt: skip
        for held in acted:
            for waiting_copy in at_hand.same_easings_waiting(held.id, said):
                at_hand.decided(db, held.id, waiting_copy, state, by, now)
    eased_ones = []
    for held in acted:
        eased = apply_easing(held, easing, today)
        eased_ones.append(eased)
        at_hand.save(db, eased, now)
        kind = {"extend": "extended", "suspend": "suspended", "lift": "lifted"}[easing.action]
        record_measure_event(db, {
            "measure_id": held.id, "at": now.isoformat(), "kind": kind, "state": eased.state,
            "until": eased.until.isoformat() if eased.until else None, "title": cause.title,
            "source": cause.source, "url": cause.url, "item_id": cause.item_id,
        })  # fmt: skip
    return eased_ones


# ---------------------------------------------------------------- the desk


def needs_a_person(measure: Measure) -> bool:
    """A restriction or ban known only from one report: alerted as unconfirmed, and put to the desk."""
    return measure.provenance == "reported" and measure.level >= Level.RESTRICTED and len(measure.sources) <= 1


def hold_for_desk(
    db: Database, kind: DeskItemKind, measure: Measure, measurement: Measurement, cause: Cause, now: dt.datetime,
    desk: Sequence[int],
) -> int:  # fmt: skip
    """Put a reading to the desk: stored, and sent to every desk chat with Confirm and Dismiss."""
    item = {"kind": kind, "measure_id": measure.id, "measurement": measurement_json(measurement),
            "title": cause.title, "source": cause.source, "url": cause.url, "item_id": cause.item_id}  # fmt: skip
    desk_id = add_desk_item(db, item, now.isoformat())
    payload = DeskPayload(kind=kind, title=cause.title, url=cause.url, source=cause.source, at=now.isoformat(),
                          level=int(measure.level if kind == "unconfirmed" else measurement.level),
                          direction=measurement.direction, targets=list(measurement.targets),
                          materials=list(measurement.materials), measure_label=measure.label)  # fmt: skip
    desk_alert(db, desk_id, payload, desk, now)
    return desk_id


def measurement_json(measurement: Measurement) -> JsonObject:
    """A measurement as stored with a desk item, to be applied once a person confirms it. Its fields are all
    plain values and tuples of text, so a shallow copy is what `dataclasses.asdict` gives, without its deep copy."""
    return {f.name: getattr(measurement, f.name) for f in fields(measurement)}


def measurement_from_json(document: JsonObject) -> Measurement:
    """A stored measurement back."""
    tuples = {"targets", "materials", "evidence"}
    known = {f.name for f in fields(Measurement)}
    values: JsonObject = {k: tuple(v) if k in tuples else v for k, v in document.items() if k in known}
    return Measurement(**values)


# ---------------------------------------------------------------- the calendar


def lapse_cause(measure: Measure) -> Cause:
    """How a lapse reads in the history and the alert."""
    assert measure.until is not None
    title = (
        f"In force again: the suspension of {measure.label} ran out on {measure.until.isoformat()} "
        "and no extension was seen"
    )
    return Cause(title, measure.source, measure.url, None, "lapse")


def apply_lapses(db: Database, vocabulary: Vocabulary, now: dt.datetime) -> list[tuple[int, StatusChange]]:
    """Put back in force each suspended measure whose suspension ran out with no extension seen, one measure at
    a time so that each change cites its own measure; return the changes."""
    changes: list[tuple[int, StatusChange]] = []
    for measure in (measure_from_row(row) for row in suspensions_run_out(db, now.date().isoformat())):
        lapsed = measure.lapsed_on(now.date())
        if lapsed is None:
            continue
        back = replace(measure, state="in_force", state_since=lapsed + dt.timedelta(days=1))
        save_measure(db, to_row(back, "live"), now.isoformat())
        cause = lapse_cause(measure)
        back_at = dt.datetime.combine(lapsed + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        record_measure_event(db, {"measure_id": measure.id, "at": back_at.isoformat(), "kind": "lapsed",
                                  "state": "in_force", "until": lapsed.isoformat(), "title": cause.title,
                                  "source": cause.source, "url": cause.url})  # fmt: skip
        changes += sync_statuses(db, vocabulary, now, cause, touched=[back])
    return changes
