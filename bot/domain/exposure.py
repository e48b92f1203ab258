"""The exposure model: how badly a country's sector would be hit, from dependence × need × status × buffer.

Pure: it takes the table, the current statuses and `today`, and reads nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.domain.i18n import Words, words
from bot.domain.knowledge import Buffer, ExposureTable, Figure
from bot.domain.labels import level_name
from bot.domain.ladder import Level
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Kind, Vocabulary

# How much of a material's supply is at risk at each level: a licence regime already bites (delays,
# case-by-case refusals); a halt or ban stops production, which is the business risk.
LEVEL_SEVERITY: dict[Level, float] = {
    Level.NORMAL: 0.0,
    Level.WATCH: 0.15,
    Level.LICENSING: 0.4,
    Level.REVIEW: 0.6,
    Level.RESTRICTED: 0.85,
    Level.BANNED: 1.0,
}
BANDS: tuple[tuple[int, str], ...] = ((75, "severe"), (50, "high"), (25, "moderate"), (0, "low"))
# With no public figure, assume half: honest about not knowing, and never zero for a Chinese chokepoint.
ASSUMED_SHARE = Figure(0.5, 0, "assumption: no public figure found; 50% assumed")
DRIVERS_SHOWN = 3
MILITARY_SECTORS = frozenset({"defense"})  # where measures on military end users and uses count too


@dataclass(frozen=True, slots=True)
class MaterialExposure:
    """One material's part in a sector's exposure."""

    material: str
    figure: Figure
    level: Level
    weight: float
    contribution: float
    status: Status | None

    @property
    def china_share(self) -> float:
        """The share of supply from China, 0..1."""
        return self.figure.share


@dataclass(frozen=True, slots=True)
class Exposure:
    """A scored, explained answer for one country and sector."""

    country: str
    sector: str
    score: int
    band: str
    materials: tuple[MaterialExposure, ...]
    buffer: Buffer | None
    buffer_factor: float
    drivers: tuple[str, ...]
    as_of: dt.date


def band_for(score: int) -> str:
    """The band a score falls in."""
    return next(name for floor, name in BANDS if score >= floor)


def buffer_factor(buffer: Buffer | None) -> float:
    """Short buffers amplify the risk, long ones damp it: 1.3 at zero months, 1.0 at three, 0.7 at six or more."""
    if buffer is None:
        return 1.0
    return min(1.3, max(0.7, 1.3 - 0.1 * buffer.months))


def china_share(table: ExposureTable, vocabulary: Vocabulary, country: str, material: str) -> Figure:
    """The best figure for a country's dependence: a figure for the element itself (the country's, then its
    bloc's, then the world's) before any figure for a group it belongs to — an all-rare-earth aggregate says
    little of dysprosium — then the group figures in the same order; else an assumption, said as such."""
    bloc = vocabulary.countries[country].bloc if country in vocabulary.countries else None
    tables = [table.by_country.get(country, {}), table.by_country.get(bloc or "", {}), table.world]
    for codes in ((material,), tuple(sorted(vocabulary.groups_of(material)))):
        for figures in tables:
            for code in codes:
                if code in figures:
                    return replace(figures[code], world=True) if figures is table.world else figures[code]
    return ASSUMED_SHARE


def buffer_for(table: ExposureTable, vocabulary: Vocabulary, country: str, sector: str) -> Buffer | None:
    """The country's buffer figure for this sector, else its bloc's; None where none is known."""
    bloc = vocabulary.countries[country].bloc
    for code in (country, bloc):
        buffer = table.buffers.get(code) if code else None
        if buffer is not None and buffer.covers(sector):
            return buffer
    return None


def _material_exposure(
    table: ExposureTable, book: StatusBook, country: str, material: str, weight: float, *, military: bool
) -> MaterialExposure:
    figure = _feedstock_share(table, book.vocabulary, country, material)
    status = _feedstock_status(table, book, country, material, military=military)
    level = status.level if status else Level.NORMAL
    contribution = weight * figure.share * LEVEL_SEVERITY[level]
    return MaterialExposure(material, figure, level, weight, contribution, status)


def assess(table: ExposureTable, book: StatusBook, country: str, sector: str, today: dt.date) -> Exposure:
    """Score one country's sector 0..100 and explain what drives it."""
    parts = _parts(table, book, country, sector)
    buffer = buffer_for(table, book.vocabulary, country, sector)
    factor = buffer_factor(buffer)
    score = _score(parts, factor)
    drivers = _drivers(parts, book.vocabulary, buffer, words())
    return Exposure(country, sector, score, band_for(score), tuple(parts), buffer, factor, drivers, today)


def exposure_score(table: ExposureTable, book: StatusBook, country: str, sector: str) -> int:
    """The score `assess` gives, without the words that explain it: what an alert shows of an exposure, with its
    band (the words would load the catalogs and number formats for nothing)."""
    factor = buffer_factor(buffer_for(table, book.vocabulary, country, sector))
    return _score(_parts(table, book, country, sector), factor)


def _parts(table: ExposureTable, book: StatusBook, country: str, sector: str) -> list[MaterialExposure]:
    """Each material the sector needs, most contributing first."""
    military = sector in MILITARY_SECTORS
    return sorted(
        (
            _material_exposure(table, book, country, m, w, military=military)
            for m, w in table.sectors[sector].needs.items()
        ),
        key=lambda part: (-part.contribution, -part.weight, part.material),
    )


def _score(parts: Sequence[MaterialExposure], factor: float) -> int:
    return round(100 * min(1.0, sum(part.contribution for part in parts) * factor))


def rank_sectors(table: ExposureTable, book: StatusBook, country: str, today: dt.date) -> list[Exposure]:
    """Every sector of a country, most exposed first."""
    scored = [assess(table, book, country, sector, today) for sector in table.sectors]
    return sorted(scored, key=lambda exposure: (-exposure.score, exposure.sector))


def _share_source(part: MaterialExposure, w: Words) -> str:
    """Where a material's share from China comes from."""
    if part.figure.world:  # no figure for the country: the world's share stands in, and the reader is told so
        return w._(
            "China's share of world supply, for want of a figure for this country: %(source)s",
            source=part.figure.source,
        )
    return part.figure.source


def _driver(part: MaterialExposure, vocabulary: Vocabulary, w: Words) -> str:
    values: dict[str, object] = {
        "material": vocabulary.display(Kind.MATERIAL, part.material, w.language).capitalize(),
        "share": w.percent(part.figure.share),
        "source": _share_source(part, w),
    }
    if part.status is None:
        return w._("%(material)s: %(share)s from China (%(source)s); no measure in force.", **values)
    values |= {"level": level_name(w, part.level), "date": w.date(part.status.since.date())}
    if part.status.end_use == "military":
        sentence = w._(
            "%(material)s: %(share)s from China (%(source)s); %(level)s for military end users since %(date)s",
            **values,
        )
    else:
        sentence = w._("%(material)s: %(share)s from China (%(source)s); %(level)s since %(date)s", **values)
    if part.status.provenance == "reported":
        sentence = w._(
            "%(sentence)s (%(source)s, reported, not confirmed by the issuer)",
            sentence=sentence,
            source=part.status.source,
        )
    else:
        sentence = w._("%(sentence)s (%(source)s)", sentence=sentence, source=part.status.source)
    if part.status.lapsed:
        sentence = w._(
            "%(sentence)s; in force again since the suspension ran out on %(date)s, no extension seen",
            sentence=sentence,
            date=w.date(part.status.lapsed),
        )
    return w._("%(sentence)s.", sentence=sentence)


def _feedstock_share(table: ExposureTable, vocabulary: Vocabulary, country: str, material: str) -> Figure:
    """A material's share from China or, where it is made at home from imported feedstock, the feedstock's
    highest share (the magnet risk is the Dy/Tb/Nd supply, not the magnets' own imports)."""
    feedstock = table.feedstock.get(country, {}).get(material)
    if not feedstock:
        return china_share(table, vocabulary, country, material)
    code, figure = max(((c, china_share(table, vocabulary, country, c)) for c in feedstock), key=lambda p: p[1].share)
    return replace(figure, source=f"via its {code} feedstock: {figure.source}", direct_share=None)


def _feedstock_status(
    table: ExposureTable, book: StatusBook, country: str, material: str, *, military: bool
) -> Status | None:
    """The strongest status on a material or, where the table names its feedstock (magnets made at home from
    imported rare earths), on that feedstock."""
    feedstock = table.feedstock.get(country, {}).get(material, ())
    statuses = [book.effective(country, code, military=military) for code in (material, *feedstock)]
    found = [status for status in statuses if status is not None]
    return min(found, key=lambda s: (-s.level, s.since), default=None)


def _drivers(
    parts: Sequence[MaterialExposure], vocabulary: Vocabulary, buffer: Buffer | None, w: Words
) -> tuple[str, ...]:
    sentences = [_driver(part, vocabulary, w) for part in _driving(parts)]
    if not sentences:
        sentences.append(w._("No Chinese export measure currently applies to what this sector needs."))
    if buffer is not None:
        sentences.append(
            w._(
                "Buffer: about %(months)s months of supply (%(source)s).",
                months=w.number(buffer.months),
                source=buffer.source,
            )
        )
    return tuple(sentences)


def _driving(parts: Sequence[MaterialExposure]) -> list[MaterialExposure]:
    """The materials the drivers name: the first DRIVERS_SHOWN, where a measure makes them count."""
    return [part for part in parts[:DRIVERS_SHOWN] if part.contribution > 0]


def other_share_sources(exposure: Exposure, vocabulary: Vocabulary, w: Words) -> str | None:
    """Where the shares of the materials the drivers do not name come from, materials of one source together
    ('graphite (source); neodymium、praseodymium (source)'); None when the drivers name every material. The
    answer shows each material's share, so each share's source is in it too."""
    named = {part.material for part in _driving(exposure.materials)}
    by_source: dict[str, list[str]] = {}
    for part in exposure.materials:
        if part.material not in named:
            material = vocabulary.display(Kind.MATERIAL, part.material, w.language)
            by_source.setdefault(_share_source(part, w), []).append(material)
    if not by_source:
        return None
    groups = [w._("%(materials)s (%(source)s)", materials=w.listing(names), source=source)
              for source, names in by_source.items()]  # fmt: skip
    return w._("Other shares from China: %(sources)s.", sources=w.groups(groups))


def drivers(exposure: Exposure, vocabulary: Vocabulary, w: Words) -> tuple[str, ...]:
    """What drives an exposure, in the reader's language (`Exposure.drivers` is the English of the JSON answer)."""
    return _drivers(exposure.materials, vocabulary, exposure.buffer, w)
