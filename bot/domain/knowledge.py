"""The bundled knowledge: the exposure table and the baseline timeline, checked against the vocabulary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.datafiles import DataFileError, data_path, read_yaml, require_keys
from bot.domain.ladder import Level, parse_level
from bot.domain.vocab import Vocabulary

WEIGHT_TOLERANCE = 0.011


@dataclass(frozen=True, slots=True)
class Figure:
    """A share of supply from China, with where the number comes from."""

    share: float
    year: int
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Buffer:
    """Months a country could run without Chinese supply."""

    months: float
    source: str
    note: str | None = None
    sectors: frozenset[str] | None = None  # None: every sector

    def covers(self, sector: str) -> bool:
        """Whether this figure says anything about a sector."""
        return self.sectors is None or sector in self.sectors


@dataclass(frozen=True, slots=True)
class Sector:
    """What a sector needs, material by material, weights summing to 1."""

    code: str
    needs: Mapping[str, float]
    note: str


@dataclass(frozen=True, slots=True)
class ExposureTable:
    """Dependence on China by country and material, sector needs and buffers."""

    world: Mapping[str, Figure]
    by_country: Mapping[str, Mapping[str, Figure]]
    sectors: Mapping[str, Sector]
    buffers: Mapping[str, Buffer]


@dataclass(frozen=True, slots=True)
class StatusSetting:
    """One status an event sets: these materials to these targets are now at this level."""

    targets: tuple[str, ...]
    materials: tuple[str, ...]
    level: Level
    direction: str
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class BaselineEvent:
    """A dated export-control action of the baseline timeline."""

    date: dt.date
    title: str
    source: str
    url: str | None
    sets: tuple[StatusSetting, ...]
    headline: str | None = None  # a real-style announcement title or wire headline, for measuring checks


def _figure(raw: Any, where: str) -> Figure:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    require_keys(raw, {"share", "year", "source"}, {"share", "year", "source", "note"}, where)
    share = raw["share"]
    if not isinstance(share, int | float) or not 0 <= share <= 1:
        raise DataFileError(f"{where}: key 'share' must be a number from 0 to 1")
    return Figure(float(share), int(raw["year"]), str(raw["source"]), raw.get("note"))


def _check_material(vocabulary: Vocabulary, code: str, where: str) -> None:
    if code not in vocabulary.materials:
        raise DataFileError(f"{where}: unknown material '{code}'")


def _figures(raw: Any, vocabulary: Vocabulary, where: str) -> dict[str, Figure]:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    for code in raw:
        _check_material(vocabulary, str(code), where)
    return {str(code): _figure(value, f"{where}: {code}") for code, value in raw.items()}


def _sector(code: str, raw: Any, vocabulary: Vocabulary, where: str) -> Sector:
    if code not in vocabulary.sectors:
        raise DataFileError(f"{where}: unknown sector '{code}'")
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: '{code}' must be a mapping")
    require_keys(raw, {"needs"}, {"needs", "note"}, f"{where}: {code}")
    needs = {str(material): float(weight) for material, weight in raw["needs"].items()}
    for material in needs:
        _check_material(vocabulary, material, f"{where}: {code}")
    if abs(sum(needs.values()) - 1) > WEIGHT_TOLERANCE:
        raise DataFileError(f"{where}: {code}: weights sum to {sum(needs.values()):.2f}, not 1")
    return Sector(code, needs, str(raw.get("note", "")))


def _buffer(raw: Any, vocabulary: Vocabulary, where: str) -> Buffer:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    require_keys(raw, {"months", "source"}, {"months", "source", "note", "sectors"}, where)
    sectors = raw.get("sectors")
    for sector in sectors or []:
        if sector not in vocabulary.sectors:
            raise DataFileError(f"{where}: key 'sectors': unknown sector '{sector}'")
    covered = frozenset(sectors) if sectors is not None else None
    return Buffer(float(raw["months"]), str(raw["source"]), raw.get("note"), covered)


def _countries(raw: Any, vocabulary: Vocabulary, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    for code in raw:
        if code not in vocabulary.countries:
            raise DataFileError(f"{where}: unknown country '{code}'")
    return {str(code): value for code, value in raw.items()}


def load_exposure_table(vocabulary: Vocabulary, path: Path | None = None) -> ExposureTable:
    """Read and check the exposure table (the bundled one by default)."""
    path = path or data_path("exposure.yaml")
    document = read_yaml(path)
    where = str(path)
    require_keys(document, {"world_share", "china_share", "sectors", "buffers"}, set(document), where)
    shares = _countries(document["china_share"], vocabulary, f"{where}: china_share")
    sectors = document["sectors"]
    missing = sorted(set(vocabulary.sectors) - set(sectors))
    if missing:
        raise DataFileError(f"{where}: sectors: no needs for {', '.join(missing)}")
    return ExposureTable(
        world=_figures(document["world_share"], vocabulary, f"{where}: world_share"),
        by_country={c: _figures(v, vocabulary, f"{where}: china_share: {c}") for c, v in shares.items()},
        sectors={str(c): _sector(str(c), v, vocabulary, f"{where}: sectors") for c, v in sectors.items()},
        buffers={
            c: _buffer(v, vocabulary, f"{where}: buffers: {c}")
            for c, v in _countries(document["buffers"], vocabulary, f"{where}: buffers").items()
        },
    )


def _setting(raw: Any, vocabulary: Vocabulary, where: str) -> StatusSetting:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    allowed = {"targets", "materials", "level", "direction", "until"}
    require_keys(raw, allowed - {"until"}, allowed, where)
    for target in raw["targets"]:
        if target not in vocabulary.countries:
            raise DataFileError(f"{where}: unknown target '{target}'")
    for material in raw["materials"]:
        _check_material(vocabulary, material, where)
    if raw["direction"] not in ("tighten", "ease"):
        raise DataFileError(f"{where}: key 'direction' must be tighten or ease")
    try:
        level = parse_level(str(raw["level"]))
    except ValueError as error:
        raise DataFileError(f"{where}: key 'level': {error}") from error
    return StatusSetting(tuple(raw["targets"]), tuple(raw["materials"]), level, raw["direction"], raw.get("until"))


def _event(raw: Any, vocabulary: Vocabulary, where: str) -> BaselineEvent:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    require_keys(raw, {"date", "title", "source"}, {"date", "title", "source", "url", "sets", "headline"}, where)
    if not isinstance(raw["date"], dt.date):
        raise DataFileError(f"{where}: key 'date' must be an ISO date")
    sets = tuple(_setting(s, vocabulary, f"{where}: sets #{i + 1}") for i, s in enumerate(raw.get("sets", [])))
    headline = raw.get("headline")
    if headline is not None and not isinstance(headline, str):
        raise DataFileError(f"{where}: key 'headline' must be text")
    return BaselineEvent(raw["date"], str(raw["title"]), str(raw["source"]), raw.get("url"), sets, headline)


def load_baseline(vocabulary: Vocabulary, path: Path | None = None) -> list[BaselineEvent]:
    """Read and check the baseline timeline, oldest first."""
    path = path or data_path("baseline.yaml")
    document = read_yaml(path)
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        raise DataFileError(f"{path}: 'events' must be a list")
    events = [_event(raw, vocabulary, f"{path}: event #{i + 1}") for i, raw in enumerate(raw_events)]
    return sorted(events, key=lambda event: event.date)
