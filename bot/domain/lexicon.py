"""Fast phrase matching for the measurer: lists of patterns and of aliases compiled into few, quick regexes.

Python's `re` tries every alternative at every position, and named groups, lookbehinds and IGNORECASE stop it
from skipping ahead, so a naive alternation of a few hundred aliases costs a millisecond per headline. Here:
- case-insensitive patterns are matched without IGNORECASE against a lower-cased copy of the text (same
  offsets); only patterns holding a case-sensitive part `(?-i:...)` run against the text as written;
- which pattern matched is found afterwards, by re-matching at the hit's start with one regex per value;
- aliases are compiled into a trie (`rare earth(?:s| magnets)?`), so matching costs the length of the text.
Patterns are compiled with re.ASCII: `\\b` and `\\w` see only ASCII letters and digits, so "对US" has a word
boundary before "US".
"""

from __future__ import annotations

import re
import re._parser as _sre  # type: ignore[import-not-found]  # the parser of `re`: which literals a pattern needs
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

V = TypeVar("V")
MAX_COMPILED = 4096  # alternations of a part's patterns kept compiled, by which patterns a text may match
_LITERAL, _BRANCH, _SUBPATTERN = _sre.LITERAL, _sre.BRANCH, _sre.SUBPATTERN
_MISSING = re.compile("")  # a marker: no alternation compiled yet for these keys

CASED = "(?-i:"
_KATAKANA = r"\u30a0-\u30ff"


@dataclass(frozen=True, slots=True)
class Text:
    """A text as written and lower-cased, with the same offsets; and, where a `KeyFinder` was given, the keys
    the lower-cased text holds (a blanked copy keeps them: it can only hold fewer)."""

    raw: str
    lower: str
    keys: frozenset[str] | None = None

    @classmethod
    def of(cls, raw: str, finder: KeyFinder | None = None) -> Text:
        """Both forms of a text (and the keys it holds)."""
        lower = raw.lower()
        if len(lower) != len(raw):  # a few characters lower-case to two ('İ'): keep those as written
            lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in raw)
        return cls(raw, lower, None if finder is None else finder.present(lower))

    def with_keys(self, finder: KeyFinder | None) -> Text:
        """The text with the keys it holds."""
        return self if finder is None else Text(self.raw, self.lower, finder.present(self.lower))

    def blank(self, spans: Iterable[tuple[int, int]]) -> Text:
        """The text with these spans replaced by spaces, offsets kept."""
        spans = list(spans)
        if not spans:
            return self
        raw, lower = list(self.raw), list(self.lower)
        for start, end in spans:
            raw[start:end] = lower[start:end] = " " * (end - start)
        return Text("".join(raw), "".join(lower), self.keys)


@dataclass(frozen=True, slots=True)
class KeyFinder:
    """Which of many literal keys a text holds, in one pass of an Aho-Corasick automaton (C code: a few
    microseconds for a headline and a few hundred keys, overlapping keys all found)."""

    automaton: Any  # ahocorasick.Automaton, its values the keys

    def present(self, lower: str) -> frozenset[str]:
        """The keys the (lower-cased) text holds."""
        if not lower or not len(self.automaton):
            return frozenset()
        return frozenset(key for _, key in self.automaton.iter(lower))


def key_finder(keys: Iterable[str]) -> KeyFinder:
    """A finder of these keys."""
    import ahocorasick  # loaded with the rules, not when the module is imported

    automaton = ahocorasick.Automaton()
    for key in sorted(set(keys)):
        automaton.add_word(key, key)
    if len(automaton):
        automaton.make_automaton()
    return KeyFinder(automaton)


@dataclass(frozen=True, slots=True)
class Hit(Generic[V]):
    """One match: where, the phrase as written, and the value of what matched."""

    start: int
    end: int
    phrase: str
    value: V


@dataclass(frozen=True, slots=True)
class _Part(Generic[V]):
    """Patterns run against one form of the text: one regex for all, and one per run of equal values.

    Each pattern may have a key, a literal it cannot match without: a text that lacks a pattern's key is
    searched without that pattern (the alternation of the others finds the same hits, in a fraction of the time,
    because Python's `re` tries every alternative at every position)."""

    regex: re.Pattern[str]
    by_value: tuple[tuple[V, re.Pattern[str]], ...]
    cased: bool
    patterns: tuple[str, ...] = ()
    keys: tuple[frozenset[str] | None, ...] = ()  # per pattern, literals it needs one of; empty: all always run
    always: tuple[int, ...] = ()  # the patterns without a key
    by_key: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    key_set: frozenset[str] = frozenset()
    compiled: dict[frozenset[str], re.Pattern[str] | None] = field(default_factory=dict)

    def find(self, text: Text) -> list[Hit[V]]:
        subject = text.raw if self.cased else text.lower
        regex = self._regex(subject, text.keys)
        if regex is None:
            return []
        return [
            Hit(m.start(), m.end(), text.raw[m.start() : m.end()], self._value(subject, m.start()))
            for m in regex.finditer(subject)
            if m.end() > m.start()
        ]

    def first(self, text: Text) -> Hit[V] | None:
        """The first match, or None."""
        subject = text.raw if self.cased else text.lower
        regex = self._regex(subject, text.keys)
        for m in () if regex is None else regex.finditer(subject):
            if m.end() > m.start():
                return Hit(m.start(), m.end(), text.raw[m.start() : m.end()], self._value(subject, m.start()))
        return None

    def _regex(self, subject: str, present: frozenset[str] | None) -> re.Pattern[str] | None:
        """The alternation of the patterns whose key the text holds (all of them where keys are unknown)."""
        if not self.keys:
            return self.regex
        held = self.key_set & present if present is not None else frozenset(k for k in self.key_set if k in subject)
        regex = self.compiled.get(held, _MISSING)
        if regex is _MISSING:
            if len(self.compiled) >= MAX_COMPILED:
                self.compiled.clear()
            regex = self.compiled[held] = self._compile_for(held)
        return regex

    def _compile_for(self, held: frozenset[str]) -> re.Pattern[str] | None:
        active = sorted({*self.always, *(i for key in held for i in self.by_key[key])})
        if len(active) == len(self.keys):
            return self.regex
        return _compile([self.patterns[i] for i in active], self.cased) if active else None

    def _value(self, subject: str, start: int) -> V:
        for value, regex in self.by_value:
            if regex.match(subject, start):
                return value
        raise AssertionError("a hit that no part matches")  # unreachable: the parts make the whole


def _compile(patterns: Sequence[str], cased: bool) -> re.Pattern[str]:
    flags = re.ASCII | (re.IGNORECASE if cased else 0)
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), flags)


def required_keys(pattern: str) -> frozenset[str] | None:
    """Literals a pattern cannot match without one of ('halt' of '\\bhalt(?:s|ed)?'; 'suspend' or 'paus' of
    '\\b(?:suspend|paus)\\w*'), or None where it has none worth testing: read from the parsed pattern's top
    level, where every item must match, choosing the item whose literals are the longest."""
    return _required(list(_sre.parse(pattern, re.ASCII)))


def _required(items: list[Any]) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run: list[str] = []
    for op, value in items:
        if op is _LITERAL:
            run.append(chr(value))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        if op is _BRANCH:
            alternatives = [_leading(list(alternative)) for alternative in value[1]]
            if all(alternatives):
                candidates.append(frozenset(alternatives))
        elif op is _SUBPATTERN:
            inner = _required(list(value[-1]))
            if inner:
                candidates.append(inner)
    if run:
        candidates.append(frozenset({"".join(run)}))
    worth = [keys for keys in candidates if min(map(_weight, keys)) >= 2]
    return max(worth, key=lambda keys: (min(map(_weight, keys)), -len(keys))) if worth else None


def _leading(items: list[Any]) -> str:
    """The literal an alternative starts with."""
    run = []
    for op, value in items:
        if op is not _LITERAL:
            break
        run.append(chr(value))
    return "".join(run)


def _weight(key: str) -> int:
    """How rare a key is: its length, a Chinese or Japanese character counting two."""
    return len(key) if key.isascii() else 2 * len(key)


def _runs(entries: Sequence[tuple[str, V]]) -> list[tuple[V, list[str]]]:
    runs: list[tuple[V, list[str]]] = []
    for pattern, value in entries:
        if runs and runs[-1][0] == value:
            runs[-1][1].append(pattern)
        else:
            runs.append((value, [pattern]))
    return runs


def _part(entries: Sequence[tuple[str, V]], cased: bool) -> _Part[V] | None:
    if not entries:
        return None
    by_value = tuple((value, _compile(patterns, cased)) for value, patterns in _runs(entries))
    patterns = tuple(pattern for pattern, _ in entries)
    if cased:
        return _Part(_compile(patterns, cased), by_value, cased, patterns)
    keys = tuple(required_keys(pattern) for pattern in patterns)
    by_key: dict[str, list[int]] = {}
    for index, needed in enumerate(keys):
        for key in needed or ():
            by_key.setdefault(key, []).append(index)
    always = tuple(index for index, key in enumerate(keys) if key is None)
    grouped = {key: tuple(indices) for key, indices in by_key.items()}
    return _Part(_compile(patterns, cased), by_value, cased, patterns, keys, always, grouped, frozenset(grouped))


def merge(hits: Iterable[Hit[V]]) -> list[Hit[V]]:
    """Hits in order, the longer first where two start together, without overlaps."""
    kept: list[Hit[V]] = []
    for hit in sorted(hits, key=lambda hit: (hit.start, -hit.end)):
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


@dataclass(frozen=True, slots=True)
class Lexicon(Generic[V]):
    """Patterns with values: which phrases of a text match, and the value of each (first listed wins)."""

    parts: tuple[_Part[V], ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        """The literal keys of its patterns, for a `KeyFinder`."""
        return frozenset().union(*(part.key_set for part in self.parts))

    def find(self, text: Text) -> list[Hit[V]]:
        """Every match, in order, without overlaps."""
        if len(self.parts) == 1:
            return self.parts[0].find(text)
        return merge(hit for part in self.parts for hit in part.find(text))

    def search(self, text: Text) -> Hit[V] | None:
        """The first match (the longest of those starting first), or None: the first that `find` gives."""
        firsts = [hit for part in self.parts if (hit := part.first(text)) is not None]
        return min(firsts, key=lambda hit: (hit.start, -hit.end)) if firsts else None


def lexicon(entries: Sequence[tuple[str, V]]) -> Lexicon[V]:
    """Compile (pattern, value) pairs. Patterns are lower case, or hold `(?-i:...)` for a case-sensitive part."""
    folded = [(pattern, value) for pattern, value in entries if CASED not in pattern]
    cased = [(pattern, value) for pattern, value in entries if CASED in pattern]
    parts = (_part(folded, cased=False), _part(cased, cased=True))
    return Lexicon(tuple(part for part in parts if part is not None))


Trie: TypeAlias = dict[str, "Trie"]  # a character to the rest; "" marks the end of a word


def trie_pattern(words: Iterable[str]) -> str:
    """One pattern matching any of the words, longest first: ['rare earth', 'rare earths'] → 'rare\\ earths?'."""
    root: Trie = {}
    for word in words:
        node = root
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}
    return _trie(root)


def _trie(node: Trie) -> str:
    branches = [re.escape(character) + _trie(child) for character, child in sorted(node.items()) if character]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


@dataclass(frozen=True, slots=True)
class AliasMatcher:
    """Finds aliases (already normalised: lower case, single spaces) in a text and gives their codes."""

    regexes: tuple[tuple[re.Pattern[str], bool], ...]  # (regex, runs on the text as written)
    codes: Mapping[str, tuple[str, ...]]

    def find(self, text: Text) -> list[Hit[tuple[str, ...]]]:
        """Every alias found, longest first, without overlaps."""
        hits = []
        ascii_text = text.lower.isascii()
        for regex, cased in self.regexes:
            if ascii_text and not regex.pattern.isascii():
                continue  # aliases in Chinese or Japanese script: none in an ASCII text
            for m in regex.finditer(text.raw if cased else text.lower):
                phrase = text.raw[m.start() : m.end()]
                hits.append(Hit(m.start(), m.end(), phrase, self.codes.get(text.lower[m.start() : m.end()], ())))
        return merge(hits)


def _short_katakana(alias: str) -> bool:
    return len(alias) <= 3 and all("\u30a0" <= character <= "\u30ff" for character in alias)


def alias_matcher(aliases: Mapping[str, str], short: int) -> AliasMatcher:
    """Aliases → code. Latin ones match as whole words; those of up to `short` letters only in upper case
    ('US', not 'us'); short katakana ones not inside a longer katakana word (タイ, not タイヤ)."""
    latin = [a for a in aliases if a.isascii() and sum(c.isalpha() for c in a) > short]
    upper = [a for a in aliases if a.isascii() and sum(c.isalpha() for c in a) <= short]
    katakana = [a for a in aliases if not a.isascii() and _short_katakana(a)]
    other = [a for a in aliases if not a.isascii() and not _short_katakana(a)]
    words = [a for a in latin if a[0].isalnum() and a[-1].isalnum()]
    odd = [a for a in latin if a not in words]
    sources = [
        (rf"\b(?:{trie_pattern(words)})\b", words, False),
        (rf"(?<![a-z0-9])(?:{trie_pattern(odd)})(?![a-z0-9])", odd, False),
        (rf"(?<![A-Za-z0-9])(?:{trie_pattern(a.upper() for a in upper)})(?![A-Za-z0-9])", upper, True),
        (rf"(?<![{_KATAKANA}])(?:{trie_pattern(katakana)})(?![{_KATAKANA}])", katakana, False),
        (trie_pattern(other), other, False),
    ]
    regexes = tuple((re.compile(source, re.ASCII), cased) for source, group, cased in sources if group)
    return AliasMatcher(regexes, {alias: (code,) for alias, code in aliases.items()})
