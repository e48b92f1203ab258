"""The closed sets people read, in their language: levels of the ladder, exposure bands, severities, kinds of word.

Each word is a (context, message) pair for the catalogs: the same English word ('high') may read differently as a
band and as a severity.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.i18n import NP_, Words
from bot.domain.ladder import Level

LEVEL_WORDS: Mapping[Level, tuple[str, str]] = {
    Level.NORMAL: NP_("level", "normal"),
    Level.WATCH: NP_("level", "watch"),
    Level.LICENSING: NP_("level", "licensing"),
    Level.REVIEW: NP_("level", "review"),
    Level.RESTRICTED: NP_("level", "restricted"),
    Level.BANNED: NP_("level", "banned"),
}
BAND_WORDS: Mapping[str, tuple[str, str]] = {
    "low": NP_("band", "low"),
    "moderate": NP_("band", "moderate"),
    "high": NP_("band", "high"),
    "severe": NP_("band", "severe"),
}
SEVERITY_WORDS: Mapping[str, tuple[str, str]] = {
    "info": NP_("severity", "info"),
    "low": NP_("severity", "low"),
    "medium": NP_("severity", "medium"),
    "high": NP_("severity", "high"),
    "critical": NP_("severity", "critical"),
}
KIND_WORDS: Mapping[str, tuple[str, str]] = {  # what an unknown word was taken for
    "country": NP_("kind", "country"),
    "material": NP_("kind", "material"),
    "sector": NP_("kind", "sector"),
    "sector or material": NP_("kind", "sector or material"),
    "country or material": NP_("kind", "country or material"),
}
DIRECTION_WORDS: Mapping[str, tuple[str, str]] = {
    "tighten": NP_("direction", "tighten"),
    "ease": NP_("direction", "ease"),
}


def word(w: Words, known: Mapping[str, tuple[str, str]], key: str) -> str:
    """A word of a closed set in the reader's language; a key the set does not know, as it is."""
    return w.pgettext(*known[key]) if key in known else key


def level_name(w: Words, level: int) -> str:
    """A level as the reader's language names it ('banned', '禁輸', '禁止')."""
    return w.pgettext(*LEVEL_WORDS[Level(level)])


def band_name(w: Words, band: str) -> str:
    """An exposure band ('low' … 'severe') in the reader's language."""
    return word(w, BAND_WORDS, band)


def severity_name(w: Words, severity: str) -> str:
    """An alert's severity ('info' … 'critical') in the reader's language."""
    return word(w, SEVERITY_WORDS, severity)
