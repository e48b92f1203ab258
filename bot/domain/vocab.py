"""The vocabulary: countries, materials and sectors, the words people use for them, and suggestions."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.domain.datafiles import DataFileError, JsonObject, data_path, read_yaml, require_keys
from bot.domain.values import LANGUAGES

SUGGESTION_CUTOFF = 0.6  # Jaro-Winkler similarity below which a known word is no help


class Kind(StrEnum):
    """What a word names."""

    COUNTRY = "country"
    MATERIAL = "material"
    SECTOR = "sector"


class UnknownTerm(ValueError):
    """A word the vocabulary does not know; carries the closest known names."""

    def __init__(
        self,
        kind: Kind,
        text: str,
        suggestions: list[str],
        label: str | None = None,
        localized: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.kind = kind
        self.text = text
        self.suggestions = suggestions
        self.localized = dict(localized or {})  # language → the suggestions as that language names them
        self.label = label or str(kind)
        shown = text if len(text) <= 40 else text[:40] + "…"
        hint = f" Closest: {', '.join(suggestions)}." if suggestions else ""
        super().__init__(f"unknown {label or kind} '{shown}'.{hint}")


@dataclass(frozen=True, slots=True)
class Term:
    """One known thing: its code, display name, aliases and, for groups, members."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    symbol: str | None = None
    members: tuple[str, ...] = ()
    bloc: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # the display name in other languages, by language


def normalise(text: str) -> str:
    """Fold case, width and separators so that 'Rare-Earths' and 'rare earths' meet; drop invisible format
    characters (a zero-width space, a direction mark pasted with a name), as the error message does."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isprintable():  # cheap: only text with something invisible is looked at character by character
        folded = "".join(character for character in folded if unicodedata.category(character) != "Cf")
    folded = folded.strip()
    for separator in ("-", "_", "\u3000"):
        folded = folded.replace(separator, " ")
    return " ".join(folded.split())


@dataclass(frozen=True)
class Vocabulary:
    """Everything the bot can name, with look-ups from any alias to the code."""

    countries: Mapping[str, Term]
    materials: Mapping[str, Term]
    sectors: Mapping[str, Term]
    _index: dict[Kind, dict[str, str]] = field(default_factory=dict, repr=False)

    _covering: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _concerning: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for kind in Kind:
            self._index[kind] = _alias_index(self.terms(kind).values())

    def terms(self, kind: Kind) -> Mapping[str, Term]:
        """The terms of one kind, by code."""
        return {Kind.COUNTRY: self.countries, Kind.MATERIAL: self.materials, Kind.SECTOR: self.sectors}[kind]

    def lookup(self, kind: Kind, text: str) -> str | None:
        """The code for a word, or None."""
        return self._index[kind].get(normalise(text))

    def resolve(self, kind: Kind, text: str) -> str:
        """The code for a word, or UnknownTerm naming the closest known ones."""
        code = self.lookup(kind, text)
        if code is None:
            raise self.unknown(kind, text, [(kind, c) for c in self.suggest(kind, text)])
        return code

    def unknown(
        self, kind: Kind, text: str, named: Sequence[tuple[Kind, str]], label: str | None = None
    ) -> UnknownTerm:
        """The error for a word it does not know, with the closest terms named in every language of replies."""
        localized: dict[str, list[str]] = {lang: [self.label(k, c, lang) for k, c in named] for lang in LANGUAGES}
        return UnknownTerm(kind, text, localized["en"], label, localized)

    def label(self, kind: Kind, code: str, language: str = "en") -> str:
        """How a suggestion is shown: a country as 'United States (US)', other terms by the slug people type
        (in Japanese and Chinese with the native name first: 'ガリウム (gallium)')."""
        if kind == Kind.COUNTRY:
            return f"{self.display(kind, code, language)} ({code})"
        return code if language == "en" else f"{self.display(kind, code, language)} ({code})"

    def country(self, text: str) -> str:
        """The country code for a name, adjective, code or native name."""
        return self.resolve(Kind.COUNTRY, text)

    def material(self, text: str) -> str:
        """The material slug for a name, symbol or native name."""
        return self.resolve(Kind.MATERIAL, text)

    def sector(self, text: str) -> str:
        """The sector slug for a name or alias."""
        return self.resolve(Kind.SECTOR, text)

    def suggest(self, kind: Kind, text: str, limit: int = 3) -> list[str]:
        """The closest known codes to a word, best first."""
        return [code for code, _ in self.closest(kind, text, limit)]

    def closest(self, kind: Kind, text: str, limit: int = 3) -> list[tuple[str, float]]:
        """The closest known codes to a word with their similarity (0..1), best first."""
        from rapidfuzz import process  # here: only a misspelt word needs it, and it is ~10 ms of imports
        from rapidfuzz.distance import JaroWinkler

        query = normalise(text)[:60]
        if not query:
            return [(code, 0.0) for code in list(self.terms(kind))[:limit]]
        matches = process.extract(
            query, list(self._index[kind]), scorer=JaroWinkler.normalized_similarity, limit=limit * 4
        )
        best: dict[str, float] = {}
        for alias, score, _ in matches:
            if score > SUGGESTION_CUTOFF:
                best.setdefault(self._index[kind][alias], score)
        return list(best.items())[:limit]

    def members(self, material: str) -> frozenset[str]:
        """The material itself and, for a group, every member (recursively)."""
        found = {material}
        for member in self.materials[material].members:
            found |= self.members(member)
        return frozenset(found)

    def groups_of(self, material: str) -> frozenset[str]:
        """The groups that contain a material, directly or through another group."""
        return frozenset(code for code in self.materials if code != material and material in self.members(code))

    def covering(self, material: str) -> frozenset[str]:
        """The material and every group whose measures apply to it (asked often: kept once computed)."""
        if material not in self._covering:
            self._covering[material] = self.groups_of(material) | {material}
        return self._covering[material]

    def concerning(self, material: str) -> frozenset[str]:
        """The materials whose measures a question about this one asks after: those that apply to it (`covering`)
        and, for a group, those on any of its members (a measure on dysprosium is a rare-earth control)."""
        if material not in self._concerning:
            self._concerning[material] = self.covering(material) | self.members(material)
        return self._concerning[material]

    def destinations(self, country: str) -> frozenset[str]:
        """The targets whose measures hit a country: itself, its bloc, and ALL."""
        bloc = self.countries[country].bloc
        return frozenset({country, "ALL"} | ({bloc} if bloc else set()))

    def bound_targets(self, issuer: str, country: str) -> frozenset[str]:
        """The targets through which ISSUER's measures bind a country (`destinations`); none where the country or
        its bloc is the issuer: an issuer's controls on "all destinations" never bind the issuer itself."""
        destinations = self.destinations(country)
        return frozenset() if issuer in destinations else destinations

    def display(self, kind: Kind, code: str, language: str = "en") -> str:
        """A human name for a code, in the language asked for where the vocabulary has one."""
        term = self.terms(kind).get(code)
        if term is None:
            return code
        return term.names.get(language, term.name)


def _alias_index(terms: Iterable[Term]) -> dict[str, str]:
    index: dict[str, str] = {}
    for term in terms:
        for word in (term.code, term.name, term.symbol or "", *term.aliases, *term.names.values()):
            if word:
                index.setdefault(normalise(word), term.code)
    return index


def _term(code: str, raw: Any, where: str) -> Term:
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: '{code}' must be a mapping")
    require_keys(raw, {"name"}, {"name", "names", "aliases", "symbol", "members", "bloc"}, f"{where}: '{code}'")
    return Term(
        code=str(code),
        name=str(raw["name"]),
        aliases=tuple(str(alias) for alias in raw.get("aliases", [])),
        symbol=raw.get("symbol"),
        members=tuple(raw.get("members", [])),
        bloc=raw.get("bloc"),
        names={str(language): str(name) for language, name in (raw.get("names") or {}).items()},
    )


def _section(document: JsonObject, key: str, where: str) -> dict[str, Term]:
    raw = document.get(key)
    if not isinstance(raw, dict) or not raw:
        raise DataFileError(f"{where}: '{key}' must be a non-empty mapping")
    return {str(code): _term(str(code), value, f"{where}: {key}") for code, value in raw.items()}


def _check_references(vocabulary: Vocabulary, where: str) -> None:
    for term in vocabulary.materials.values():
        for member in term.members:
            if member not in vocabulary.materials:
                raise DataFileError(f"{where}: materials: '{term.code}': unknown member '{member}'")
    for term in vocabulary.countries.values():
        if term.bloc and term.bloc not in vocabulary.countries:
            raise DataFileError(f"{where}: countries: '{term.code}': unknown bloc '{term.bloc}'")


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read and check the vocabulary file (the bundled one by default)."""
    path = path or data_path("vocab.yaml")
    document = read_yaml(path)
    where = str(path)
    vocabulary = Vocabulary(
        countries=_section(document, "countries", where),
        materials=_section(document, "materials", where),
        sectors=_section(document, "sectors", where),
    )
    _check_references(vocabulary, where)
    return vocabulary
