"""The words the charts are labelled with, in one mapping: the titles, axes, notes and names a chart shows.

A chart takes every word from a `ChartWords`; the English one is built here from the vocabulary. Another language
supplies another `ChartWords` (its own templates and names), and nothing in the drawing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.ladder import Level
from bot.domain.vocab import Kind, Vocabulary

ENGLISH_LEVELS: Mapping[Level, str] = {level: level.label for level in Level}


@dataclass(frozen=True, slots=True)
class ChartWords:
    """Every word a chart shows: names by code, level names, and templates filled with str.format."""

    names: Mapping[str, str]  # material, country and sector codes (and ALL) → how they are named
    levels: Mapping[Level, str] = field(default_factory=lambda: dict(ENGLISH_LEVELS))
    material_title: str = "{material}: export controls by destination since {year}"
    country_title: str = "{country}: export controls on its key materials since {year}"
    exposure_title: str = "{country} · {sector}: exposure {score}/100 ({band})"
    level_axis: str = "level in force"
    bar_axis: str = "points of the score (weight × China share × level severity)"
    bar_note: str = "{weight:.0%} of needs × {share:.0%} from China × {level}"
    today: str = "today"
    suspended_until: str = "{instrument} suspended until {date}"
    buffer: str = "Buffer: about {months:g} months of supply; the score is the sum × {factor:.2f}"
    no_buffer: str = "No buffer figure known; the score is the sum × 1.00"

    def name(self, code: str) -> str:
        """A code's name, the code itself where none is given."""
        return self.names.get(code, code)


def english_words(vocabulary: Vocabulary) -> ChartWords:
    """The English words: the vocabulary's names, and 'every destination' for a measure on all of them."""
    names = {code: vocabulary.display(kind, code) for kind in Kind for code in vocabulary.terms(kind)}
    names["ALL"] = "every destination"
    return ChartWords(names=names)
