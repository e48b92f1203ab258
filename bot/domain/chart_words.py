"""The words the charts are labelled with, in one mapping: the titles, axes, notes and names a chart shows.

A chart takes every word from a `ChartWords`, built here from the vocabulary's names and the message catalogs of
the reader's language (`chart_words`); nothing in the drawing changes with the language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.i18n import Words, words
from bot.domain.labels import BAND_WORDS, band_name, level_name
from bot.domain.ladder import Level
from bot.domain.vocab import Kind, Vocabulary

ENGLISH_LEVELS: Mapping[Level, str] = {level: level.label for level in Level}


@dataclass(frozen=True, slots=True)
class ChartWords:
    """Every word a chart shows: names by code, level names, and templates filled with str.format."""

    names: Mapping[str, str]  # material, country and sector codes (and ALL) → how they are named
    language: str = "en"  # the catalogs the captions are written from
    levels: Mapping[Level, str] = field(default_factory=lambda: dict(ENGLISH_LEVELS))
    bands: Mapping[str, str] = field(default_factory=dict)  # exposure bands where they read other than in English
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


def chart_words(vocabulary: Vocabulary, w: Words) -> ChartWords:
    """The words of one language: the vocabulary's names in it, and the catalogs' templates (filled with
    str.format, so their placeholders are in braces)."""
    names = {code: vocabulary.display(kind, code, w.language) for kind in Kind for code in vocabulary.terms(kind)}
    names["ALL"] = w._("every destination")
    return ChartWords(
        names=names,
        language=w.language,
        levels={level: level_name(w, level) for level in Level},
        bands={band: band_name(w, band) for band in BAND_WORDS},
        material_title=w._("{material}: export controls by destination since {year}"),
        country_title=w._("{country}: export controls on its key materials since {year}"),
        exposure_title=w._("{country} · {sector}: exposure {score}/100 ({band})"),
        level_axis=w._("level in force"),
        bar_axis=w._("points of the score (weight × China share × level severity)"),
        bar_note=w._("{weight:.0%} of needs × {share:.0%} from China × {level}"),
        today=w._("today"),
        suspended_until=w._("{instrument} suspended until {date}"),
        buffer=w._("Buffer: about {months:g} months of supply; the score is the sum × {factor:.2f}"),
        no_buffer=w._("No buffer figure known; the score is the sum × 1.00"),
    )


def english_words(vocabulary: Vocabulary) -> ChartWords:
    """The English words."""
    return chart_words(vocabulary, words("en"))
