"""Current statuses as the domain sees them, and the effective level of a material for a country."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from bot.domain.ladder import Level
from bot.domain.values import EndUse, Provenance
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
    end_use: EndUse = "any"  # a military-end-use measure counts for the defence sector only
    measure: str | None = None  # the id of the measure that sets it
    provenance: Provenance = "official"
    effective: dt.date | None = None
    lapsed: dt.date | None = None  # the day a suspension of its measure ran out with no extension seen
    instrument: str | None = None

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
            end_use=cast(EndUse, row.get("end_use") or "any"),
            measure=row.get("measure"),
            provenance=cast(Provenance, row.get("provenance") or "official"),
            effective=_date(row.get("effective")),
            lapsed=_date(row.get("lapsed")),
            instrument=row.get("instrument"),
        )


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class StatusBook:
    """Statuses of one issuer indexed for look-up; answers 'what applies to this country and material'.

    `military=True` asks for military end users and uses (the defence sector): measures for any end use and
    military-only ones both count; otherwise military-only measures do not.
    """

    def __init__(self, statuses: Iterable[Status], vocabulary: Vocabulary, issuer: str = CHINA) -> None:
        self.vocabulary = vocabulary
        self.issuer = issuer
        self._by_key = {(s.target, s.material, s.end_use): s for s in statuses if s.issuer == issuer}

    def applicable(self, country: str, material: str, *, military: bool = False) -> list[Status]:
        """Every status that bears on a country and material: its own, its bloc's or ALL's, on it or a group; none
        on the issuer itself."""
        end_uses: tuple[EndUse, ...] = ("any", "military") if military else ("any",)
        return [
            status
            for target in self.vocabulary.bound_targets(self.issuer, country)
            for covering in self.vocabulary.covering(material)
            for end_use in end_uses
            if (status := self._by_key.get((target, covering, end_use))) is not None
        ]

    def effective(self, country: str, material: str, *, military: bool = False) -> Status | None:
        """The strongest status that applies; of equals, the oldest, so that 'since' says how long it has held."""
        applicable = self.applicable(country, material, military=military)
        return min(applicable, key=lambda s: (-s.level, s.since), default=None)

    def level(self, country: str, material: str, *, military: bool = False) -> Level:
        """The effective level, NORMAL where nothing applies."""
        status = self.effective(country, material, military=military)
        return status.level if status else Level.NORMAL
