"""Replies in the reader's language: English, Japanese and Chinese (Simplified).

The messages are gettext catalogs (`make catalogs` extracts the message ids, with the keyword `NP_:1c,2` besides
Babel's own), `bot/domain/locale/LANG.po`, one message id (the English text, with named
`%(placeholders)s`) per message; they are compiled in memory with Babel the first time a language is asked for,
so a fresh clone needs no build step. Dates, numbers and percentages come from Babel's CLDR data. Callers escape
outside text before it goes into a placeholder, as they did before.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.values import LANGUAGES as LANGUAGES
from bot.domain.values import Language as Language

# Babel is imported where a catalog is compiled or a date or number formatted: a process that never writes to
# a person (a one-shot `check`) starts without it.
if TYPE_CHECKING:
    from babel import Locale
    from babel.support import NullTranslations

DEFAULT_LANGUAGE: Language = "en"
LOCALES: dict[Language, str] = {"en": "en", "ja": "ja", "zh": "zh_Hans_CN"}
LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "ja": "日本語", "zh": "中文（简体）"}
# How a date is written: English keeps the ISO dates its answers always had; Japanese and Chinese take CLDR's own.
DATE_FORMATS: dict[Language, str] = {"en": "yyyy-MM-dd", "ja": "medium", "zh": "long"}


def locale_dir() -> Path:
    """Where the catalogs are."""
    return Path(__file__).parent / "locale"


def language_of(code: str | None) -> Language:
    """The reply language for a Telegram `language_code`: ja → ja, zh (any script or region) → zh, else en."""
    primary = (code or "").lower().replace("_", "-").split("-")[0]
    if primary == "ja":
        return "ja"
    if primary == "zh":
        return "zh"
    return DEFAULT_LANGUAGE


def parse_language(text: str) -> Language | None:
    """A language people name with /language ('ja', 'JA', 'zh-CN', '日本語', 'English'), or None."""
    word = text.strip().casefold()
    for language in LANGUAGES:
        if word in (language, LANGUAGE_NAMES[language].casefold()) or language_of(word) == language != "en":
            return language
    return "en" if word in ("en", "en-us", "en-gb") else None


def known_language(text: str | None) -> Language:
    """A stored language, or English for none or one this version does not know."""
    return next((language for language in LANGUAGES if language == text), DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Words:
    """One language's messages, plurals, dates and numbers."""

    language: Language
    catalog: NullTranslations

    @property
    def locale(self) -> Locale:
        """Babel's locale for the language."""
        from babel import Locale

        return Locale.parse(LOCALES[self.language])

    def _(self, message: str, **values: object) -> str:
        """The message in this language, its named placeholders filled."""
        text = self.catalog.gettext(message)
        return str(text % values) if values else text

    def pgettext(self, context: str, message: str) -> str:
        """A short word whose meaning the context fixes ('level' → 'banned')."""
        return str(self.catalog.pgettext(context, message))

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form of a message for `n` (the placeholder `%(n)s`, formatted for the locale)."""
        text = self.catalog.ngettext(singular, plural, n)
        return str(text % {**values, "n": self.number(n)})

    def date(self, day: dt.date | str) -> str:
        """A date as the language writes it ('2026-01-06', '2026/01/06', '2026年1月6日'); text that is no date as is."""
        if isinstance(day, str):
            try:
                return self.date(dt.date.fromisoformat(day[:10]))
            except ValueError:
                return day
        from babel.dates import format_date

        return format_date(day, format=DATE_FORMATS[self.language], locale=self.locale)

    def number(self, value: float, pattern: str | None = None) -> str:
        """A number with the locale's separators (a CLDR `pattern` such as '0.00' fixes the decimals)."""
        from babel.numbers import format_decimal

        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, share: float) -> str:
        """A share (0..1) as a whole percentage."""
        from babel.numbers import format_percent

        return format_percent(share, format="#,##0%", locale=self.locale)

    def listing(self, items: list[str]) -> str:
        """Items joined the way the language lists names ('a, b', 'a、b')."""
        return ("、" if self.language in ("ja", "zh") else ", ").join(items)

    def groups(self, items: list[str]) -> str:
        """Groups, each perhaps a listing, one after another ('a, b (x); c (y)', 'a、b（x）；c（y）')."""
        return ("；" if self.language in ("ja", "zh") else "; ").join(items)


def compile_catalog(path: Path) -> NullTranslations:
    """A `.po` file compiled in memory (fuzzy entries are left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with path.open("rb") as source:
        catalog = read_po(source, locale=path.stem)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@functools.cache
def words(language: Language = DEFAULT_LANGUAGE) -> Words:
    """The messages of one language (compiled once, on first use)."""
    path = locale_dir() / f"{language}.po"
    return Words(language, compile_catalog(path))


def N_(message: str) -> str:
    """Mark a message id for the catalogs where it is defined (a usage line); it is translated where it is shown."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """Mark a word with its context for the catalogs; `Words.pgettext(*pair)` translates it where it is shown."""
    return context, message


def translate_lines(w: Words, text: str) -> str:
    """Each line of a text that is a message id (a usage, a hint) in the reader's language; other lines as they are."""
    return "\n".join(w._(line) if line else line for line in text.split("\n"))
