"""The bundled knowledge: the exposure table, checked against the vocabulary (the measures: measure_file.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.datafiles import DataFileError, JsonObject, data_path, read_yaml, require_keys
from bot.domain.vocab import Vocabulary

WEIGHT_TOLERANCE = 0.011


@dataclass(frozen=True, slots=True)
class Figure:
    """A share of supply from China, with where the number comes from."""

    share: float
    year: int
    source: str
    note: str | None = None
    direct_share: float | None = None  # where the share is of supply: the direct-import share, shown beside it
    world: bool = False  # China's share of world supply, standing in for a country without a figure of its own


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
    # country → material made at home → the imported materials it is made from (Japan's magnets: Dy, Tb, Nd)
    feedstock: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)


def _figure(raw: Any, where: str) -> Figure:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: must be a mapping")
    require_keys(raw, {"share", "year", "source"}, {"share", "year", "source", "note", "direct_share"}, where)
    for key in ("share", "direct_share"):
        value = raw.get(key, 0)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise DataFileError(f"{where}: key '{key}' must be a number from 0 to 1")
    direct = raw.get("direct_share")
    return Figure(float(raw["share"]), int(raw["year"]), str(raw["source"]), raw.get("note"),
                  None if direct is None else float(direct))  # fmt: skip


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


def _countries(raw: Any, vocabulary: Vocabulary, where: str) -> JsonObject:
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
    require_keys(document, {"world_share", "china_share", "sectors", "buffers"},
                 {"world_share", "china_share", "sectors", "buffers", "feedstock"}, where)  # fmt: skip
    shares = _countries(document["china_share"], vocabulary, f"{where}: china_share")
    sectors = document["sectors"]
    missing = sorted(set(vocabulary.sectors) - set(sectors))
    if missing:
        raise DataFileError(f"{where}: sectors: no needs for {', '.join(missing)}")
    return ExposureTable(
        world=_figures(document["world_share"], vocabulary, f"{where}: world_share"),
        by_country={c: _figures(v, vocabulary, f"{where}: china_share: {c}") for c, v in shares.items()},
        sectors={str(c): _sector(str(c), v, vocabulary, f"{where}: sectors") for c, v in sectors.items()},
        feedstock=_feedstock(document.get("feedstock") or {}, vocabulary, f"{where}: feedstock"),
        buffers={
            c: _buffer(v, vocabulary, f"{where}: buffers: {c}")
            for c, v in _countries(document["buffers"], vocabulary, f"{where}: buffers").items()
        },
    )


def _feedstock(raw: Any, vocabulary: Vocabulary, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for country, made in _countries(raw, vocabulary, where).items():
        if not isinstance(made, dict):
            raise DataFileError(f"{where}: {country}: must map a material to the materials it is made from")
        for material, inputs in made.items():
            for code in (material, *inputs):
                _check_material(vocabulary, code, f"{where}: {country}: {material}")
            found.setdefault(country, {})[material] = tuple(inputs)
    return found
