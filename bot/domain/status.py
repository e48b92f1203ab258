"""Current statuses as the domain sees them, and the effective level of a material for a country."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.ladder import Level
from bot.domain.vocab import Vocabulary

CHINA = "CN"


@dataclass(frozen=True, slots=True)
class Status:
    """The level of one (issuer, target, material), with the event that set it."""

    issuer: str
    target: str
    material: str
    level: Level
    since: dt.datetime
    title: str
    source: str
    url: str | None = None
    until: dt.date | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Status:
        """Build from a row of the statuses table."""
        until = row.get("until")
        return cls(
            issuer=row["issuer"],
            target=row["target"],
            material=row["material"],
            level=Level(row["level"]),
            since=dt.datetime.fromisoformat(row["since"]),
            title=row["title"],
            source=row["source"],
            url=row.get("url"),
            until=dt.date.fromisoformat(until) if until else None,
        )


class StatusBook:
    """Statuses of one issuer indexed for look-up; answers 'what applies to this country and material'."""

    def __init__(self, statuses: Iterable[Status], vocabulary: Vocabulary, issuer: str = CHINA) -> None:
        self.vocabulary = vocabulary
        self._by_key = {(s.target, s.material): s for s in statuses if s.issuer == issuer}

    def applicable(self, country: str, material: str) -> list[Status]:
        """Every status that bears on a country and material: its own, its bloc's or ALL's, on it or a group."""
        return [
            status
            for target in self.vocabulary.destinations(country)
            for covering in self.vocabulary.covering(material)
            if (status := self._by_key.get((target, covering))) is not None
        ]

    def effective(self, country: str, material: str) -> Status | None:
        """The strongest status that applies; of equals, the oldest, so that 'since' says how long it has held."""
        applicable = self.applicable(country, material)
        return min(applicable, key=lambda s: (-s.level, s.since), default=None)

    def level(self, country: str, material: str) -> Level:
        """The effective level, NORMAL where nothing applies."""
        status = self.effective(country, material)
        return status.level if status else Level.NORMAL
