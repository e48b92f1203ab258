"""Reading the bundled measures (bot/domain/data/measures.yaml), refusing a bad entry with its id named."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from bot.domain.datafiles import DataFileError, JsonObject, data_path, read_yaml, require_keys
from bot.domain.ladder import Level, parse_level
from bot.domain.measures import Measure
from bot.domain.values import END_USES, PROVENANCES, EndUse, Provenance
from bot.domain.vocab import Kind, Vocabulary

REQUIRED = {"id", "issuer", "instrument", "title", "source", "targets", "materials", "end_use", "level",
            "provenance", "announced"}  # fmt: skip
OPTIONAL = {"url", "effective", "events"}
EVENT_KEYS = {"date", "state", "until", "by", "source", "url"}


def load_measures(vocabulary: Vocabulary, path: Path | None = None, today: dt.date | None = None) -> list[Measure]:
    """Read and check the measures file (the bundled one by default), oldest first; each measure carries the
    state its events leave it in."""
    path = path or data_path("measures.yaml")
    raw = read_yaml(path).get("measures")
    if not isinstance(raw, list):
        raise DataFileError(f"{path}: 'measures' must be a list")
    measures = [_measure(entry, vocabulary, f"{path}: measure #{i + 1}") for i, entry in enumerate(raw)]
    ids = [m.id for m in measures]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        raise DataFileError(f"{path}: measure '{duplicate}' is listed twice")
    return sorted(measures, key=lambda m: (m.announced, m.id))


def _measure(raw: Any, vocabulary: Vocabulary, where: str) -> Measure:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    where = f"{where} ({raw.get('id', '?')})"
    require_keys(raw, REQUIRED, REQUIRED | OPTIONAL, where)
    announced = _date(raw["announced"], "announced", where)
    effective = _date(raw.get("effective", announced), "effective", where)
    if effective < announced:
        raise DataFileError(f"{where}: 'effective' {effective} is before 'announced' {announced}")
    measure = Measure(
        id=str(raw["id"]), issuer=_country(raw["issuer"], vocabulary, where), instrument=raw["instrument"],
        title=str(raw["title"]), source=str(raw["source"]), url=raw.get("url"),
        targets=tuple(_country(t, vocabulary, where) for t in _list(raw["targets"], "targets", where)),
        materials=_materials(raw["materials"], vocabulary, where), end_use=_end_use(raw["end_use"], where),
        level=_level(raw["level"], where), provenance=_provenance(raw["provenance"], where),
        announced=announced, effective=effective,
    )  # fmt: skip
    for index, event in enumerate(raw.get("events") or []):
        measure = _with_event(measure, event, f"{where}: event #{index + 1}")
    return measure


def _with_event(measure: Measure, raw: Any, where: str) -> Measure:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    require_keys(raw, {"date", "state", "source"}, EVENT_KEYS, where)
    on = _date(raw["date"], "date", where)
    if on < measure.announced:
        raise DataFileError(f"{where}: 'date' {on} is before the measure was announced ({measure.announced})")
    state = raw["state"]
    if state == "suspended" and measure.state != "in_force":
        raise DataFileError(f"{where}: suspends a measure that is not in force ({measure.state})")
    if state == "suspended":
        until = _date(raw.get("until"), "until", where)
        if until < on:
            raise DataFileError(f"{where}: the suspension ends ({until}) before it starts ({on})")
        return _moved(measure, "suspended", on, until, raw)
    if state in ("in_force", "lifted"):
        if measure.state == "in_force" and state == "in_force":
            raise DataFileError(f"{where}: puts back in force a measure that is not suspended")
        return _moved(measure, state, on, None, raw)
    raise DataFileError(f"{where}: key 'state' must be suspended, in_force or lifted, not '{state}'")


def _moved(measure: Measure, state: Any, on: dt.date, until: dt.date | None, raw: JsonObject) -> Measure:
    return replace(measure, state=state, until=until, state_since=on, sources=(*measure.sources, str(raw["source"])))


def _materials(raw: Any, vocabulary: Vocabulary, where: str) -> tuple[str, ...]:
    materials = _list(raw, "materials", where)
    for material in materials:
        if material not in vocabulary.materials:
            closest = ", ".join(vocabulary.suggest(Kind.MATERIAL, str(material)))
            raise DataFileError(f"{where}: unknown material '{material}' (closest: {closest})")
    for material in materials:
        named_members = sorted(set(materials) & (vocabulary.members(material) - {material}))
        if named_members:
            raise DataFileError(
                f"{where}: names the group '{material}' and its members {', '.join(named_members)}: "
                "name the group only where the instrument covers it whole"
            )
    return tuple(materials)


def _list(raw: Any, key: str, where: str) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise DataFileError(f"{where}: key '{key}' must be a non-empty list of codes")
    return list(raw)


def _country(code: Any, vocabulary: Vocabulary, where: str) -> str:
    if code not in vocabulary.countries:
        raise DataFileError(f"{where}: unknown country '{code}'")
    return str(code)


def _date(value: Any, key: str, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise DataFileError(f"{where}: key '{key}' must be an ISO date (YYYY-MM-DD)")


def _level(value: Any, where: str) -> Level:
    try:
        return parse_level(str(value))
    except ValueError as error:
        raise DataFileError(f"{where}: key 'level': {error}") from error


def _end_use(value: Any, where: str) -> EndUse:
    if value not in END_USES:
        raise DataFileError(f"{where}: key 'end_use' must be any or military, not '{value}'")
    return cast(EndUse, value)


def _provenance(value: Any, where: str) -> Provenance:
    if value not in PROVENANCES:
        raise DataFileError(f"{where}: key 'provenance' must be official or reported, not '{value}'")
    return cast(Provenance, value)
