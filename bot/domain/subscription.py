"""A subscription: what one chat follows, and what it is told of when it subscribes.

One type from the command that makes it to the matching that fans an alert out: a country (or ALL), then a
sector, a material or neither (every material), and a minimum level. The storage layer keeps it as a row and
hands it over as the tuple `key` (storage imports nothing of the domain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.html import esc
from bot.domain.i18n import Words, words
from bot.domain.knowledge import ExposureTable
from bot.domain.status import StatusBook
from bot.domain.vocab import Vocabulary


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one subscription asks for; empty sector and material mean every material."""

    country: str
    sector: str = ""
    material: str = ""
    min_level: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Subscription:
        """A subscription from its stored row."""
        return cls(str(row["country"]), str(row["sector"]), str(row["material"]), int(row["min_level"]))

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(country, sector, material, min_level): how the storage layer takes it."""
        return (self.country, self.sector, self.material, self.min_level)

    def wanted(self, table: ExposureTable) -> frozenset[str] | None:
        """The materials it cares about: its material, or its sector's needs; None for all of them."""
        if self.material:
            return frozenset({self.material})
        if self.sector and self.sector in table.sectors:
            return frozenset(table.sectors[self.sector].needs)
        return None


def lapsed_note(
    subscription: Subscription, book: StatusBook, vocabulary: Vocabulary, table: ExposureTable, w: Words | None = None
) -> str:
    """Suspensions already run out on what the subscription follows (their alert went out before it existed)."""
    country = subscription.country
    lapsed = {
        (status.lapsed, status.instrument or status.title)
        for material in subscription.wanted(table) or vocabulary.materials
        for status in book.applicable(country, material)
        # a measure beneath a stronger one changes nothing for this country by coming back, and one beneath the
        # subscription's minimum level is no news to it
        if status.lapsed and status.level >= max(book.level(country, material), subscription.min_level)
    }
    w = w or words()
    lines = [
        "⏰ "
        + w._(
            "In force again since the suspension ran out on %(date)s, with no extension seen: %(measure)s",
            date=w.date(until),
            measure=esc(name),
        )
        for until, name in sorted(lapsed)
    ]
    return "\n\n" + "\n".join(lines) if lines else ""
