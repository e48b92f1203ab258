"""The exposure model: how badly a country's sector would be hit, from dependence × need × status × buffer.

Pure: it takes the table, the current statuses and `today`, and reads nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.domain.knowledge import Buffer, ExposureTable, Figure
from bot.domain.ladder import Level
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary

# How much of a material's supply is at risk at each level: a licence regime already bites (delays,
# case-by-case refusals); a halt or ban stops production, which is the business risk.
LEVEL_SEVERITY: dict[Level, float] = {
    Level.NORMAL: 0.0,
    Level.WATCH: 0.15,
    Level.REVIEW: 0.4,
    Level.LICENSING: 0.55,
    Level.RESTRICTED: 0.85,
    Level.BANNED: 1.0,
}
BANDS: tuple[tuple[int, str], ...] = ((75, "severe"), (50, "high"), (25, "moderate"), (0, "low"))
# With no public figure, assume half: honest about not knowing, and never zero for a Chinese chokepoint.
ASSUMED_SHARE = Figure(0.5, 0, "assumption: no public figure found; 50% assumed")
DRIVERS_SHOWN = 3


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
    """The best figure for a country's dependence: its own, then its bloc's, then China's world share."""
    bloc = vocabulary.countries[country].bloc if country in vocabulary.countries else None
    tables = [table.by_country.get(country, {}), table.by_country.get(bloc or "", {}), table.world]
    for figures in tables:
        for code in (material, *sorted(vocabulary.groups_of(material))):
            if code in figures:
                return figures[code]
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
    table: ExposureTable, book: StatusBook, country: str, material: str, weight: float
) -> MaterialExposure:
    figure = china_share(table, book.vocabulary, country, material)
    status = book.effective(country, material)
    level = status.level if status else Level.NORMAL
    contribution = weight * figure.share * LEVEL_SEVERITY[level]
    return MaterialExposure(material, figure, level, weight, contribution, status)


def assess(table: ExposureTable, book: StatusBook, country: str, sector: str, today: dt.date) -> Exposure:
    """Score one country's sector 0..100 and explain what drives it."""
    needs = table.sectors[sector].needs
    parts = sorted(
        (_material_exposure(table, book, country, m, w) for m, w in needs.items()),
        key=lambda part: (-part.contribution, -part.weight, part.material),
    )
    buffer = buffer_for(table, book.vocabulary, country, sector)
    factor = buffer_factor(buffer)
    score = round(100 * min(1.0, sum(part.contribution for part in parts) * factor))
    drivers = _drivers(parts, book.vocabulary, buffer)
    drivers += tuple(_expired_suspensions(book, country, list(needs), today))
    return Exposure(country, sector, score, band_for(score), tuple(parts), buffer, factor, drivers, today)


def rank_sectors(table: ExposureTable, book: StatusBook, country: str, today: dt.date) -> list[Exposure]:
    """Every sector of a country, most exposed first."""
    scored = [assess(table, book, country, sector, today) for sector in table.sectors]
    return sorted(scored, key=lambda exposure: (-exposure.score, exposure.sector))


def _driver(part: MaterialExposure, vocabulary: Vocabulary) -> str:
    name = vocabulary.materials[part.material].name.capitalize()
    share = f"{part.figure.share:.0%} from China ({part.figure.source})"
    if part.status is None:
        return f"{name}: {share}; no measure in force."
    when = part.status.since.date().isoformat()
    return f"{name}: {share}; {part.level.label} since {when} ({part.status.source})."


def _expired_suspensions(book: StatusBook, country: str, materials: list[str], today: dt.date) -> list[str]:
    lapsed = {
        (status.until, status.title)
        for material in materials
        for status in book.applicable(country, material)
        if status.until and status.until < today
    }
    return [
        f"A suspension ran out on {until.isoformat()} ({title}); no newer announcement has been recorded."
        for until, title in sorted(lapsed)
    ]


def _drivers(parts: list[MaterialExposure], vocabulary: Vocabulary, buffer: Buffer | None) -> tuple[str, ...]:
    sentences = [_driver(part, vocabulary) for part in parts[:DRIVERS_SHOWN] if part.contribution > 0]
    if not sentences:
        sentences.append("No Chinese export measure currently applies to what this sector needs.")
    if buffer is not None:
        sentences.append(f"Buffer: about {buffer.months:g} months of supply ({buffer.source}).")
    return tuple(sentences)
