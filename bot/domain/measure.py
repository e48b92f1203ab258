"""Measuring: what a headline says about export controls — issuer, targets, materials, level and direction.

Pure: text and rules in, a `Measurement` out. The words of measures live in `bot/data/rules.yaml`, countries and
materials in the vocabulary; this module only compiles them and applies them in a fixed order:

1. prepare the text (tags dropped, NFKC, hyphens read as spaces, at most `max_chars`);
2. materials (company names set aside; numbered sets, rule phrases, vocabulary aliases, symbols in lists):
   none → irrelevant;
3. irrelevant topics and denials or hedges → irrelevant;
4. the measure words: easing words (unless blocked) make `ease` at the level that stays in force; otherwise
   tightening words make `tighten` at the highest level found, `watch` where it is only threatened, and
   `restricted` where a ban is partial;
5. the issuer (first issuer with a match, else the source's default) and the targets (countries named, less the
   issuer and countries named only as a cause), `ALL` where none is named.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.domain.datafiles import DataFileError, data_path, read_yaml, require_keys
from bot.domain.ladder import Level, parse_level
from bot.domain.lexicon import AliasMatcher, Hit, Lexicon, Text, alias_matcher, lexicon, merge
from bot.domain.vocab import Kind, Vocabulary, normalise

TIGHTEN, EASE, NONE = "tighten", "ease", "none"
LIFT, GRANT = "lift", "grant"
GOODS = "goods"
SCOPES = ("framework", "entities", "technology")
MAX_EVIDENCE = 10

_TAG = re.compile(r"<[^<>]{0,1000}>")
_SPACES = re.compile(r"\s+")
_SEPARATORS = str.maketrans({"-": " ", "_": " ", "\u3000": " ", "\u2010": " ", "\u2011": " "})
# A group holding + or * that is itself repeated without bound: the shape of catastrophic backtracking.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\})")
# What may hold capitals in a pattern: (?P<name>, escapes (\S, \Z), classes and case-sensitive parts.
_MAY_HOLD_CAPITALS = re.compile(r"\(\?P[<=]|\\.|\[(?:\\.|[^\]\\])*\]|\(\?-i:(?:\\.|[^()\\]|\([^()]*\))*\)")

TOP_KEYS = {
    "version", "max_chars", "case_sensitive_letters", "issuers", "negations", "not_measures", "irrelevant",
    "tighten", "watch", "partial", "ease", "ease_blockers", "remains", "scopes", "targets", "materials", "until",
    "list_separator", "qualifiers",
}  # fmt: skip
QUALIFIER_KEYS = {"military", "reported", "suspension", "extension", "one_more_year", "instrument", "effective"}
SUSPEND, EXTEND = "suspend", "extend"


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one item says: relevant or not, which way, who, to whom, on what, how far, and why."""

    relevant: bool
    direction: str  # "tighten" | "ease" | "none"
    issuer: str | None
    targets: tuple[str, ...]
    materials: tuple[str, ...]
    level: int
    evidence: tuple[str, ...]
    scope: str = GOODS  # "goods" | "entities" | "technology" | "framework": how far it may move statuses
    effect: str = ""  # for "ease": "lift" (a measure removed) or "grant" (licences granted within licensing)
    until: str | None = None  # for "ease": the ISO date a suspension runs to, when the text says
    end_use: str = "any"  # "any" | "military": the end users the measure is limited to
    provenance: str = "official"  # "official" | "reported": said by the issuer, or only reported
    instrument: str | None = None  # "MOFCOM Announcement 46/2024" where the text names one
    action: str = ""  # for "ease": "suspend", "extend" (a suspension's end moved) or "lift"
    extend_years: int = 0  # for an extension "for another year": how many years the end moves
    month: int | None = None  # the month a measure named was announced in ("the October curbs")
    effective: str | None = None  # for "tighten": "YYYY-MM-DD", or "--MM-DD" without a year ("from Aug. 1")

    @property
    def level_name(self) -> str:
        """The ladder name of the level ('normal' ... 'banned')."""
        return Level(self.level).label

    def as_json(self, text: str) -> dict[str, Any]:
        """The `classify --json` object of DESIGN.md for this measurement of `text`."""
        return {
            "text": text,
            "relevant": self.relevant,
            "direction": self.direction,
            "issuer": self.issuer,
            "targets": list(self.targets),
            "materials": list(self.materials),
            "level": self.level,
            "level_name": self.level_name,
            "end_use": self.end_use,
            "provenance": self.provenance,
            "instrument": self.instrument,
            "until": self.until,
            "evidence": list(self.evidence),
        }


def irrelevant(evidence: Iterable[str] = ()) -> Measurement:
    """The measurement of an item that says nothing about a control."""
    return Measurement(False, NONE, None, (), (), 0, tuple(evidence))


@dataclass(frozen=True, slots=True)
class Scope:
    """A kind of measure other than on goods: its words, and the words that show it covers goods after all."""

    name: str
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


# ---------------------------------------------------------------- reading and checking the rules file


class _Reader:
    """Reads one rules document, naming the file and the rule in every refusal."""

    def __init__(self, path: Path, vocabulary: Vocabulary) -> None:
        self.path = path
        self.vocabulary = vocabulary

    def fail(self, rule: str, problem: str) -> DataFileError:
        """The error for one bad rule."""
        return DataFileError(f"{self.path}: {rule}: {problem}")

    def keys(self, raw: Any, rule: str, required: set[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A mapping with exactly these keys (and perhaps the optional ones), or a refusal."""
        document = self.mapping(raw, rule)
        require_keys(document, required, required | optional, f"{self.path}: {rule}")
        return document

    def mapping(self, raw: Any, rule: str) -> dict[str, Any]:
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
    return Scope(str(document["scope"]), reader.words(document["patterns"], f"{rule}.patterns"), unless)


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


def _limits(reader: _Reader, document: dict[str, Any]) -> tuple[int, int]:
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
        document["materials"], "materials", {"phrases", "symbols_in_lists", "sets", "not_materials"}
    )
    separator = reader.pattern(str(document["list_separator"]), "list_separator", empty_ok=True)
    return Rules(
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
        list_only=_list_only(reader, materials["symbols_in_lists"]),
        sets=_sets(reader, materials["sets"]),
        separator=re.compile(rf"(?:{separator})\Z", re.ASCII),
        until=_until(reader, document["until"]),
        qualifiers=_qualifiers(reader, document["qualifiers"]),
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


# ---------------------------------------------------------------- measuring


def prepare(title: str, summary: str, max_chars: int) -> str:
    """The text measuring reads: tags dropped, entities decoded, NFKC, hyphens as spaces, capped."""
    raw = title[:max_chars] if not summary else f"{title[:max_chars]}. {summary[:max_chars]}"
    text = unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", raw))).translate(_SEPARATORS)
    return _SPACES.sub(" ", text).strip()[:max_chars]


def _spans(hits: Iterable[Hit[Any]]) -> list[tuple[int, int]]:
    return [(hit.start, hit.end) for hit in hits]


def _adjacent(text: Text, first: Hit[Any], second: Hit[Any], separator: re.Pattern[str]) -> bool:
    return first.end <= second.start and separator.match(text.lower[first.end : second.start]) is not None


def _listed_with(text: Text, hit: Hit[Any], other: Hit[Any], rules: Rules) -> bool:
    """Whether two material hits stand in one list: separated by a list separator, and by more than a space
    where the other is an ambiguous symbol too ('Ho, Er' is a list; 'In W' is not)."""
    first, second = (hit, other) if hit.start < other.start else (other, hit)
    if not _adjacent(text, first, second, rules.separator):
        return False
    return other.phrase not in rules.list_only or bool(text.lower[first.end : second.start].strip())


def _plausible(text: Text, hits: Sequence[Hit[Any]], index: int, rules: Rules) -> bool:
    """An ambiguous symbol (In, W, Y, Lu) counts only in a list with another material."""
    if hits[index].phrase not in rules.list_only:
        return True
    neighbours = [hits[i] for i in (index - 1, index + 1) if 0 <= i < len(hits)]
    return any(_listed_with(text, hits[index], other, rules) for other in neighbours)


def find_materials(text: Text, rules: Rules) -> list[Hit[tuple[str, ...]]]:
    """The phrases naming materials: numbered sets, rule phrases, aliases, and symbols where plausible."""
    text = text.blank(_spans(rules.not_materials.find(text)))
    sets = rules.sets.find(text)
    rest = text.blank(_spans(sets))
    phrases = rules.material_phrases.find(rest)
    rest = rest.blank(_spans(phrases))
    hits = merge([*rules.materials.find(rest), *rules.symbols.find(rest)])
    return [*sets, *phrases, *(hit for index, hit in enumerate(hits) if _plausible(rest, hits, index, rules))]


def _chains(text: Text, hits: Sequence[Hit[Any]], separator: re.Pattern[str]) -> list[list[Hit[Any]]]:
    """Hits grouped into lists ('US, Japan and EU')."""
    chains: list[list[Hit[Any]]] = []
    for hit in hits:
        if chains and _adjacent(text, chains[-1][-1], hit, separator):
            chains[-1].append(hit)
        else:
            chains.append([hit])
    return chains


def find_targets(text: Text, rules: Rules, issuer: str | None) -> tuple[str, ...]:
    """The destinations named, less the issuer and countries named only as a cause; ('ALL',) where none."""
    hits = merge([*rules.country_phrases.find(text), *rules.countries.find(text)])
    found: set[str] = set()
    for chain in _chains(text, hits, rules.separator):
        if rules.causes.match(text.lower, chain[-1].end) is None:
            found.update(code for hit in chain for code in hit.value)
    found -= {issuer, "ALL"}
    return tuple(sorted(found)) or ("ALL",)


def find_issuer(text: Text, rules: Rules, default: str | None) -> str | None:
    """The first issuer (in the rules' order) the text names, else the default."""
    codes = {hit.value for hit in rules.issuers.find(text)}
    return min(codes, key=lambda code: rules.issuer_order[code]) if codes else default


@dataclass(frozen=True, slots=True)
class Decision:
    """Which way and how far, with the phrases that decided it."""

    direction: str
    level: int
    evidence: tuple[Hit[Any], ...]
    effect: str = ""


def _ease(text: Text, rules: Rules) -> Decision | None:
    if rules.ease_blockers.search(text) is not None:
        return None
    eases = rules.ease.find(text)
    if not eases:
        return None
    remains = rules.remains.find(text)
    level = max((hit.value for hit in remains), default=int(Level.NORMAL))
    effect = LIFT if any(hit.value == LIFT for hit in eases) else GRANT
    return Decision(EASE, level, (*eases, *remains), effect)


def _counting_watch(text: Text, rules: Rules, tightens: Sequence[Hit[int]]) -> list[Hit[str]]:
    """Threat and signal words that govern a measure: English ones only before a measure word."""
    before = [
        hit for hit in rules.watch_before.find(text) if not tightens or any(t.start > hit.start for t in tightens)
    ]
    return before + rules.watch_anywhere.find(text)


def _tighten(text: Text, rules: Rules) -> Decision | None:
    tightens = rules.tighten.find(text)
    watch = _counting_watch(text, rules, tightens)
    if watch:
        return Decision(TIGHTEN, int(Level.WATCH), (*watch, *tightens))
    if not tightens:
        return None
    level = max(hit.value for hit in tightens)
    strongest = tuple(hit for hit in tightens if hit.value == level)
    partial = rules.partial.search(text) if level == Level.BANNED else None
    if partial is not None:
        return Decision(TIGHTEN, int(Level.RESTRICTED), (*strongest, partial))
    return Decision(TIGHTEN, level, strongest)


def decide(text: Text, rules: Rules) -> Decision | None:
    """Ease where an easing word counts, else tighten where a measure or threat is named, else None."""
    cleared = text.blank(_spans(rules.not_measures.find(text)))
    return _ease(cleared, rules) or _tighten(cleared, rules)


def find_scope(text: Text, rules: Rules) -> str:
    """What the measure covers: the first scope whose words match (and whose `unless` words do not)."""
    for scope in rules.scopes:
        if scope.words.search(text) is not None and scope.unless.search(text) is None:
            return scope.name
    return GOODS


def find_until(text: Text, rules: Rules) -> str | None:
    """The end date of a suspension, as an ISO date, where the text gives one."""
    for pattern in rules.until.patterns:
        match = pattern.search(text.lower)
        if match is None:
            continue
        month = match["month"]
        number = int(month) if month.isdecimal() else rules.until.months.get(month, 0)
        try:
            return dt.date(int(match["year"]), number, int(match["day"])).isoformat()
        except ValueError:
            continue
    return None


def named_members(vocabulary: Vocabulary, materials: set[str]) -> set[str]:
    """The materials a text names, a group left out where a member of it is named too: naming gallium and
    germanium among 两用物项 (dual-use items) puts those two under the measure, never the whole list."""
    return {
        code
        for code in materials
        if code not in vocabulary.materials or not (materials & (vocabulary.members(code) - {code}))
    }


def find_instrument(text: Text, rules: Rules, year: int | None = None) -> str | None:
    """The announcement the text names, as 'MOFCOM Announcement N/YYYY' (the year where the text gives it)."""
    for pattern in rules.qualifiers.instrument:
        match = pattern.search(text.raw)
        if match is not None:
            number, found_year = match["number"], match["year"]
            return f"MOFCOM Announcement {int(number)}/{found_year}" if found_year else f"Announcement {int(number)}"
    return None


def find_effective(text: Text, rules: Rules) -> str | None:
    """When a tightening takes effect, where the text says: 'YYYY-MM-DD', or '--MM-DD' when it gives no year."""
    for pattern in rules.qualifiers.effective:
        match = pattern.search(text.lower)
        if match is None:
            continue
        month_word = match["month"]
        month = int(month_word) if month_word.isdecimal() else rules.until.months.get(month_word, 0)
        day, year = int(match["day"]), match["year"]
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
    return None


def find_month(text: Text, rules: Rules) -> int | None:
    """The month a named measure was announced in ("the October curbs", "10月の規制"), where the text says."""
    for word in re.findall(r"\b[a-z]{3,9}\b", text.lower):
        if word in rules.until.months and word not in ("may", "mar"):
            return rules.until.months[word]
    match = re.search(r"(\d{1,2})月(?:的|の|份)?(?:出口|輸出|管制|規制|措施|措置)", text.raw)
    return int(match[1]) if match and 1 <= int(match[1]) <= 12 else None


def ease_action(text: Text, rules: Rules) -> str:
    """How an easing acts: it extends a suspension, suspends, or lifts."""
    if rules.qualifiers.extension.search(text) is not None:
        return EXTEND
    if rules.qualifiers.suspension.search(text) is not None:
        return SUSPEND
    return LIFT


def _qualified(measurement: Measurement, text: Text, rules: Rules) -> Measurement:
    """The measurement with what the text says beyond its level."""
    q = rules.qualifiers
    easing = measurement.direction == EASE
    action = ease_action(text, rules) if easing else ""
    return replace(
        measurement,
        end_use="military" if q.military.search(text) is not None else "any",
        provenance="reported" if q.reported.search(text) is not None else "official",
        instrument=find_instrument(text, rules),
        action=action,
        extend_years=1 if action == EXTEND and q.one_more_year.search(text) is not None else 0,
        month=find_month(text, rules) if easing else None,
        effective=None if easing else find_effective(text, rules),
    )


def _evidence(hits: Iterable[Hit[Any]]) -> tuple[str, ...]:
    phrases: list[str] = []
    for hit in sorted(hits, key=lambda hit: hit.start):
        phrase = hit.phrase.strip()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return tuple(phrases[:MAX_EVIDENCE])


def measure(title: str, summary: str, rules: Rules, *, default_issuer: str | None = None) -> Measurement:
    """What an item (title and summary) says about export controls; never raises for what the text is."""
    text = Text.of(prepare(title, summary, rules.max_chars))
    materials = named_members(rules.vocabulary, {code for hit in find_materials(text, rules) for code in hit.value})
    if not materials:
        return irrelevant()
    veto = rules.irrelevant.search(text) or rules.negations.search(text)
    if veto is not None:
        return irrelevant([veto.phrase])
    decision = decide(text, rules)
    if decision is None:
        return irrelevant()
    issuer = find_issuer(text, rules, default_issuer)
    found = Measurement(
        relevant=True,
        direction=decision.direction,
        issuer=issuer,
        targets=find_targets(text, rules, issuer),
        materials=tuple(sorted(materials)),
        level=decision.level,
        evidence=_evidence(decision.evidence),
        scope=find_scope(text, rules),
        effect=decision.effect,
        until=find_until(text, rules) if decision.direction == EASE else None,
    )
    return _qualified(found, text, rules)
