"""The measuring rules file (`bot/domain/data/rules.yaml`): read, checked and compiled once into `Rules`.

A malformed file is refused with DataFileError naming the file and the rule: a pattern that does not compile, is
written in capitals, can backtrack without bound or matches the empty text; an unknown level, country or material.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, cast

from bot.domain.datafiles import DataFileError, JsonObject, data_path, read_yaml, require_keys
from bot.domain.ladder import Level, parse_level
from bot.domain.lexicon import AliasMatcher, KeyFinder, Lexicon, Text, alias_matcher, key_finder, lexicon, trie_pattern
from bot.domain.values import GRANT, LIFT, SCOPES, MeasureScope
from bot.domain.vocab import Kind, Vocabulary, normalise

# A group holding + or * that is itself repeated without bound: the shape of catastrophic backtracking.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\})")
# What may hold capitals in a pattern: (?P<name>, escapes (\S, \Z), classes and case-sensitive parts.
_MAY_HOLD_CAPITALS = re.compile(r"\(\?P[<=]|\\.|\[(?:\\.|[^\]\\])*\]|\(\?-i:(?:\\.|[^()\\]|\([^()]*\))*\)")

TOP_KEYS = {
    "version", "max_chars", "case_sensitive_letters", "issuers", "negations", "not_measures", "irrelevant",
    "tighten", "watch", "partial", "ease", "ease_blockers", "remains", "scopes", "targets", "materials", "until",
    "list_separator", "qualifiers", "listings", "aimed", "prefilter",
}  # fmt: skip
QUALIFIER_KEYS = {"military", "reported", "suspension", "extension", "one_more_year", "instrument", "effective"}


@dataclass(frozen=True, slots=True)
class Scope:
    """A kind of measure other than on goods: its words, and the words that show it covers goods after all."""

    name: MeasureScope
    words: Lexicon[str]
    unless: Lexicon[str]


@dataclass(frozen=True, slots=True)
class Until:
    """Patterns of a suspension's end date (named groups year, month, day), and month names."""

    patterns: tuple[re.Pattern[str], ...]
    months: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Qualifiers:
    """What a measure says beyond its level: end use, provenance, suspension or extension, instrument."""

    military: Lexicon[str]
    reported: Lexicon[str]
    suspension: Lexicon[str]
    extension: Lexicon[str]
    one_more_year: Lexicon[str]
    instrument: tuple[re.Pattern[str], ...]
    effective: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class Prefilter:
    """One pass over a text that tells whether the full rules could find anything in it: every material name,
    symbol and anchor word of the rules file, compiled into tries. A text it refuses names no material, no
    vague material and no listing, so the full rules would read it as irrelevant. Latin anchors match at the
    start of a word (they may end inside one: 'entit' of 'entities'); Chinese and Japanese ones anywhere."""

    latin: re.Pattern[str]  # on the lower-cased text
    other: re.Pattern[str]  # on the lower-cased text, where it is not all ASCII
    cased: re.Pattern[str]  # symbols and short upper-case names, whole words, on the text as written

    def passes(self, text: Text) -> bool:
        """Whether the text holds any anchor."""
        return (
            self.latin.search(text.lower) is not None
            or self.cased.search(text.raw) is not None
            or (not text.lower.isascii() and self.other.search(text.lower) is not None)
        )


@dataclass(frozen=True)
class Rules:
    """The compiled measuring rules; build with `load_rules`."""

    vocabulary: Vocabulary  # what the rules were compiled against: names, groups, blocs
    max_chars: int
    issuers: Lexicon[str]
    issuer_order: Mapping[str, int]
    negations: Lexicon[str]
    not_measures: Lexicon[str]
    irrelevant: Lexicon[str]
    tighten: Lexicon[int]
    watch_before: Lexicon[str]
    watch_anywhere: Lexicon[str]
    partial: Lexicon[str]
    ease: Lexicon[str]
    ease_blockers: Lexicon[str]
    remains: Lexicon[int]
    scopes: tuple[Scope, ...]
    country_phrases: Lexicon[tuple[str, ...]]
    countries: AliasMatcher
    causes: re.Pattern[str]
    not_materials: Lexicon[str]
    material_phrases: Lexicon[tuple[str, ...]]
    materials: AliasMatcher
    symbols: AliasMatcher
    list_only: frozenset[str]
    sets: Lexicon[tuple[str, ...]]
    separator: re.Pattern[str]
    until: Until
    qualifiers: Qualifiers
    unnamed: Lexicon[str]  # vague material words ("two metals"): relevant, but no material to move
    listings: Lexicon[str]  # entity-list additions: `watch` on the listing material for the entities' country
    listing_material: str
    aimed: Lexicon[str]  # licensing words that restrict where they name a destination ("restricts ... to Japan")
    prefilter: Prefilter | None  # None: every text goes through the full rules
    simplify: Callable[[str], str]  # Traditional Chinese to Simplified (OpenCC t2s)
    keys: KeyFinder | None = None  # the literal keys of every pattern above: which patterns a text may match
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # material → itself and its members


class _Reader:
    """Reads one rules document, naming the file and the rule in every refusal."""

    def __init__(self, path: Path, vocabulary: Vocabulary) -> None:
        self.path = path
        self.vocabulary = vocabulary

    def fail(self, rule: str, problem: str) -> DataFileError:
        """The error for one bad rule."""
        return DataFileError(f"{self.path}: {rule}: {problem}")

    def keys(self, raw: Any, rule: str, required: set[str], optional: frozenset[str] = frozenset()) -> JsonObject:
        """A mapping with exactly these keys (and perhaps the optional ones), or a refusal."""
        document = self.mapping(raw, rule)
        require_keys(document, required, required | optional, f"{self.path}: {rule}")
        return document

    def mapping(self, raw: Any, rule: str) -> JsonObject:
        """A mapping, or a refusal."""
        if not isinstance(raw, dict):
            raise self.fail(rule, "must be a mapping")
        return {str(key): value for key, value in raw.items()}

    def strings(self, raw: Any, rule: str, *, empty: bool = False) -> list[str]:
        """A list of non-empty strings, or a refusal."""
        if not isinstance(raw, list) or (not raw and not empty):
            raise self.fail(rule, "must be a non-empty list")
        for index, item in enumerate(raw):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{rule} #{index + 1}", "must be a non-empty string")
        return list(raw)

    def pattern(self, source: str, rule: str, *, named: bool = False, empty_ok: bool = False) -> str:
        """Check one pattern: it compiles, is lower case outside `(?-i:...)`, cannot backtrack without bound,
        and cannot match the empty text."""
        shown = f"{rule} '{source[:60]}'"
        if _NESTED_QUANTIFIER.search(source):
            raise self.fail(shown, "a repeated group is repeated again without bound (catastrophic backtracking)")
        if "(?P<" in source and not named:
            raise self.fail(shown, "named groups are only for `until` patterns")
        if any(character.isupper() for character in _MAY_HOLD_CAPITALS.sub("", source)):
            raise self.fail(shown, "write patterns in lower case (or inside (?-i:...) for a case-sensitive part)")
        try:
            compiled = re.compile(source, re.ASCII | re.IGNORECASE)
        except re.error as error:
            raise self.fail(shown, f"not a valid pattern: {error}") from error
        if not empty_ok and compiled.search("") is not None:
            raise self.fail(shown, "matches the empty text")
        return source

    def patterns(self, raw: Any, rule: str, *, empty: bool = False) -> list[str]:
        """A list of checked patterns."""
        items = self.strings(raw, rule, empty=empty)
        return [self.pattern(item, f"{rule} #{index + 1}") for index, item in enumerate(items)]

    def words(self, raw: Any, rule: str, *, empty: bool = False) -> Lexicon[str]:
        """A list of patterns as a lexicon whose value is the rule's name."""
        return lexicon([(p, rule) for p in self.patterns(raw, rule, empty=empty)])

    def level(self, name: str, rule: str, allowed: Sequence[Level]) -> int:
        """A ladder level by name, one of `allowed`."""
        try:
            level = parse_level(name)
        except ValueError as error:
            raise self.fail(rule, str(error)) from error
        if level not in allowed:
            raise self.fail(rule, f"level '{name}' is not allowed here")
        return int(level)

    def by_level(self, raw: Any, rule: str, allowed: Sequence[Level]) -> Lexicon[int]:
        """`{level name: [patterns]}` as one lexicon whose value is the level, the highest level first."""
        entries: list[tuple[str, int]] = []
        for name, items in self.mapping(raw, rule).items():
            level = self.level(name, f"{rule}.{name}", allowed)
            entries += [(p, level) for p in self.patterns(items, f"{rule}.{name}")]
        return lexicon(sorted(entries, key=lambda entry: -entry[1]))

    def codes(self, raw: Any, rule: str, kind: Kind) -> tuple[str, ...]:
        """A list of known country or material codes."""
        known = self.vocabulary.terms(kind)
        for code in self.strings(raw, rule):
            if code not in known:
                raise self.fail(rule, f"unknown {kind} '{code}'")
        return tuple(raw)

    def phrases(self, raw: Any, rule: str, kind: Kind) -> Lexicon[tuple[str, ...]]:
        """`{pattern: [codes]}` as a lexicon whose value is the codes."""
        return lexicon(
            [
                (self.pattern(source, f"{rule} '{source}'"), self.codes(codes, f"{rule} '{source}'", kind))
                for source, codes in self.mapping(raw, rule).items()
            ]
        )


def _aliases(vocabulary: Vocabulary, kind: Kind, short: int, skip: frozenset[str] = frozenset()) -> AliasMatcher:
    """Every name and alias of one kind of term, normalised, as a matcher giving the code."""
    aliases: dict[str, str] = {}
    for term in vocabulary.terms(kind).values():
        if term.code not in skip:
            for word in (term.code, term.name, *term.aliases):
                aliases.setdefault(normalise(word), term.code)
    return alias_matcher(aliases, short)


def _symbols(vocabulary: Vocabulary) -> AliasMatcher:
    symbols = {term.symbol: term.code for term in vocabulary.materials.values() if term.symbol}
    ordered = sorted(symbols, key=lambda symbol: (-len(symbol), symbol))
    regex = re.compile(r"\b(?:" + "|".join(ordered) + r")\b", re.ASCII)
    return AliasMatcher(((regex, True),), {symbol.lower(): (code,) for symbol, code in symbols.items()})


def _issuers(reader: _Reader, raw: Any) -> tuple[Lexicon[str], dict[str, int]]:
    entries: list[tuple[str, str]] = []
    order: dict[str, int] = {}
    for code, patterns in reader.mapping(raw, "issuers").items():
        reader.codes([code], f"issuers.{code}", Kind.COUNTRY)
        order[code] = len(order)
        entries += [(p, code) for p in reader.patterns(patterns, f"issuers.{code}")]
    return lexicon(entries), order


def _ease_words(reader: _Reader, raw: Any) -> Lexicon[str]:
    document = reader.keys(raw, "ease", {LIFT, GRANT})
    return lexicon([(p, kind) for kind in (LIFT, GRANT) for p in reader.patterns(document[kind], f"ease.{kind}")])


def _scope(reader: _Reader, raw: Any, index: int) -> Scope:
    rule = f"scopes #{index + 1}"
    document = reader.keys(raw, rule, {"scope", "patterns"}, frozenset({"unless"}))
    if document["scope"] not in SCOPES:
        raise reader.fail(f"{rule}.scope", f"must be one of {', '.join(SCOPES)}")
    unless = reader.words(document.get("unless", []), f"{rule}.unless", empty=True)
    return Scope(cast(MeasureScope, document["scope"]), reader.words(document["patterns"], f"{rule}.patterns"), unless)


def _scopes(reader: _Reader, raw: Any) -> tuple[Scope, ...]:
    if not isinstance(raw, list):
        raise reader.fail("scopes", "must be a list")
    return tuple(_scope(reader, item, index) for index, item in enumerate(raw))


def _causes(reader: _Reader, raw: Any) -> re.Pattern[str]:
    causes = reader.patterns(raw, "targets.causes")
    return re.compile(r"\s*(?:" + "|".join(f"(?:{cause})" for cause in causes) + ")", re.ASCII)


def _sets(reader: _Reader, raw: Any) -> Lexicon[tuple[str, ...]]:
    if not isinstance(raw, list):
        raise reader.fail("materials.sets", "must be a list")
    entries: list[tuple[str, tuple[str, ...]]] = []
    for index, item in enumerate(raw):
        rule = f"materials.sets #{index + 1}"
        document = reader.keys(item, rule, {"name", "members", "patterns"})
        members = reader.codes(document["members"], f"{rule}.members", Kind.MATERIAL)
        entries += [(p, members) for p in reader.patterns(document["patterns"], f"{rule}.patterns")]
    return lexicon(entries)


def _list_only(reader: _Reader, raw: Any) -> frozenset[str]:
    known = {term.symbol for term in reader.vocabulary.materials.values() if term.symbol}
    for symbol in reader.strings(raw, "materials.symbols_in_lists"):
        if symbol not in known:
            raise reader.fail("materials.symbols_in_lists", f"'{symbol}' is no material's symbol")
    return frozenset(raw)


def _until(reader: _Reader, raw: Any) -> Until:
    document = reader.keys(raw, "until", {"patterns", "months"})
    patterns = []
    for index, source in enumerate(reader.strings(document["patterns"], "until.patterns")):
        rule = f"until.patterns #{index + 1}"
        compiled = re.compile(reader.pattern(source, rule, named=True), re.ASCII)
        if not {"year", "month", "day"} <= set(compiled.groupindex):
            raise reader.fail(rule, "needs the named groups year, month and day")
        patterns.append(compiled)
    months = reader.mapping(document["months"], "until.months")
    for name, number in months.items():
        if not isinstance(number, int) or not 1 <= number <= 12:
            raise reader.fail(f"until.months.{name}", "must be a month number from 1 to 12")
    return Until(tuple(patterns), {name.lower(): int(number) for name, number in months.items()})


def _limits(reader: _Reader, document: JsonObject) -> tuple[int, int]:
    if document["version"] != 1:
        raise reader.fail("version", "must be 1")
    max_chars, short = document["max_chars"], document["case_sensitive_letters"]
    if not isinstance(max_chars, int) or not 200 <= max_chars <= 100_000:
        raise reader.fail("max_chars", "must be a whole number from 200 to 100000")
    if not isinstance(short, int) or not 0 <= short <= 5:
        raise reader.fail("case_sensitive_letters", "must be a whole number from 0 to 5")
    return max_chars, short


LADDER = (Level.LICENSING, Level.REVIEW, Level.RESTRICTED, Level.BANNED)


def load_rules(vocabulary: Vocabulary, path: Path | None = None) -> Rules:
    """Read, check and compile the measuring rules (the bundled file by default).

    A malformed file is refused with DataFileError naming the file and the rule.
    """
    path = path or data_path("rules.yaml")
    reader = _Reader(path, vocabulary)
    document = reader.keys(read_yaml(path), "top level", set(TOP_KEYS))
    max_chars, short = _limits(reader, document)
    issuers, issuer_order = _issuers(reader, document["issuers"])
    watch = reader.keys(document["watch"], "watch", {"before_measure", "anywhere"})
    targets = reader.keys(document["targets"], "targets", {"phrases", "causes"})
    materials = reader.keys(
        document["materials"], "materials", {"phrases", "symbols_in_lists", "sets", "not_materials", "unnamed"}
    )
    listings = reader.keys(document["listings"], "listings", {"material", "patterns"})
    list_only = _list_only(reader, materials["symbols_in_lists"])
    separator = reader.pattern(str(document["list_separator"]), "list_separator", empty_ok=True)
    rules = Rules(
        vocabulary=vocabulary,
        max_chars=max_chars,
        issuers=issuers,
        issuer_order=issuer_order,
        negations=reader.words(document["negations"], "negations"),
        not_measures=reader.words(document["not_measures"], "not_measures"),
        irrelevant=reader.words(document["irrelevant"], "irrelevant"),
        tighten=reader.by_level(document["tighten"], "tighten", LADDER),
        watch_before=reader.words(watch["before_measure"], "watch.before_measure"),
        watch_anywhere=reader.words(watch["anywhere"], "watch.anywhere"),
        partial=reader.words(document["partial"], "partial"),
        ease=_ease_words(reader, document["ease"]),
        ease_blockers=reader.words(document["ease_blockers"], "ease_blockers"),
        remains=reader.by_level(document["remains"], "remains", LADDER),
        scopes=_scopes(reader, document["scopes"]),
        country_phrases=reader.phrases(targets["phrases"], "targets.phrases", Kind.COUNTRY),
        countries=_aliases(vocabulary, Kind.COUNTRY, short, skip=frozenset({"ALL"})),
        causes=_causes(reader, targets["causes"]),
        not_materials=reader.words(materials["not_materials"], "materials.not_materials"),
        material_phrases=reader.phrases(materials["phrases"], "materials.phrases", Kind.MATERIAL),
        materials=_aliases(vocabulary, Kind.MATERIAL, short),
        symbols=_symbols(vocabulary),
        list_only=list_only,
        sets=_sets(reader, materials["sets"]),
        separator=re.compile(rf"(?:{separator})\Z", re.ASCII),
        until=_until(reader, document["until"]),
        qualifiers=_qualifiers(reader, document["qualifiers"]),
        unnamed=reader.words(materials["unnamed"], "materials.unnamed"),
        listings=reader.words(listings["patterns"], "listings.patterns"),
        listing_material=reader.codes([listings["material"]], "listings.material", Kind.MATERIAL)[0],
        aimed=reader.words(document["aimed"], "aimed"),
        prefilter=_prefilter(reader, document["prefilter"], short, list_only),
        simplify=_simplifier(),
    )
    members = {code: vocabulary.members(code) for code in vocabulary.materials}
    return replace(rules, keys=key_finder(_keys(rules)), members=members)


def _keys(compiled: object) -> frozenset[str]:
    """The literal keys of every lexicon in compiled rules (their scopes and qualifiers too)."""
    if isinstance(compiled, Lexicon):
        return compiled.keys
    if isinstance(compiled, tuple):
        return frozenset().union(*(_keys(item) for item in compiled))
    if is_dataclass(compiled) and not isinstance(compiled, (type, Vocabulary)):
        return frozenset().union(*(_keys(getattr(compiled, f.name)) for f in fields(compiled)))
    return frozenset()


def _simplifier() -> Callable[[str], str]:
    """Traditional Chinese (Taiwan, Hong Kong) to Simplified, phrase by phrase, with OpenCC's own tables."""
    from opencc import OpenCC  # loaded with the rules, not when the module is imported

    converter = OpenCC("t2s")
    return converter.convert


def _prefilter(reader: _Reader, raw: Any, short: int, list_only: frozenset[str]) -> Prefilter:
    """Every material alias and symbol, and the anchor words of the rules file, as a prefilter. Symbols that
    count only in a list with another material (W, Y, In) are left out: that other material passes."""
    words = {word.lower() for word in reader.strings(raw, "prefilter")}
    names = {normalise(w) for t in reader.vocabulary.materials.values() for w in (t.code, t.name, *t.aliases)}
    short_names = {a for a in names if a.isascii() and sum(c.isalpha() for c in a) <= short}
    anchors = words | names
    symbols = {term.symbol for term in reader.vocabulary.materials.values() if term.symbol} - list_only
    latin = sorted(a for a in words | (names - short_names) if a.isascii())
    cased = sorted({name.upper() for name in short_names} | symbols)
    return Prefilter(
        re.compile(rf"\b(?:{trie_pattern(latin)})", re.ASCII),
        re.compile(trie_pattern(sorted(a for a in anchors if not a.isascii()))),
        re.compile(rf"\b(?:{trie_pattern(cased)})\b", re.ASCII),
    )


def _qualifiers(reader: _Reader, raw: Any) -> Qualifiers:
    document = reader.keys(raw, "qualifiers", QUALIFIER_KEYS)
    dated = {"instrument", "effective"}
    words = {key: reader.words(document[key], f"qualifiers.{key}") for key in QUALIFIER_KEYS - dated}
    return Qualifiers(
        instrument=_named_patterns(reader, document["instrument"], "qualifiers.instrument"),
        effective=_named_patterns(reader, document["effective"], "qualifiers.effective"),
        **words,
    )


def _named_patterns(reader: _Reader, raw: Any, rule: str) -> tuple[re.Pattern[str], ...]:
    return tuple(
        re.compile(reader.pattern(p, f"{rule} #{i + 1}", named=True), re.IGNORECASE)
        for i, p in enumerate(reader.strings(raw, rule))
    )
