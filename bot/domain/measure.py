"""Measuring: what a headline says about export controls — issuer, targets, materials, level and direction.

Pure: text and rules in, a `Measurement` out. The words of measures live in `bot/domain/data/rules.yaml` (compiled by
`bot.domain.rules`), countries and materials in the vocabulary; this module applies them in a fixed order:

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from bot.domain.datafiles import JsonObject
from bot.domain.ladder import Level
from bot.domain.lexicon import Hit, Text, merge
from bot.domain.rules import Rules
from bot.domain.values import (
    EASE,
    EXTEND,
    GOODS,
    GRANT,
    LIFT,
    NONE,
    SUSPEND,
    TIGHTEN,
    Action,
    Direction,
    EasingAction,
    Effect,
    EndUse,
    MeasureScope,
    Provenance,
    Trust,
)

MAX_EVIDENCE = 10

_TAG = re.compile(r"<[^<>]{0,1000}>")
_SEPARATORS = str.maketrans({"-": " ", "_": " ", "\u3000": " ", "\u2010": " ", "\u2011": " "})


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one item says: relevant or not, which way, who, to whom, on what, how far, and why."""

    relevant: bool
    direction: Direction
    issuer: str | None
    targets: tuple[str, ...]
    materials: tuple[str, ...]
    level: int
    evidence: tuple[str, ...]
    scope: MeasureScope = GOODS  # how far it may move statuses
    effect: Effect = ""  # for an easing: a measure removed, or licences granted within licensing
    until: str | None = None  # for "ease": the ISO date a suspension runs to, when the text says
    end_use: EndUse = "any"  # the end users the measure is limited to
    provenance: Provenance = "official"  # said by the issuer, or only reported
    instrument: str | None = None  # "MOFCOM Announcement 46/2024" where the text names one
    action: Action = ""  # for an easing: suspend, extend (a suspension's end moved) or lift
    extend_years: int = 0  # for an extension "for another year": how many years the end moves
    month: int | None = None  # the month a measure named was announced in ("the October curbs")
    effective: str | None = None  # for "tighten": "YYYY-MM-DD", or "--MM-DD" without a year ("from Aug. 1")

    @property
    def level_name(self) -> str:
        """The ladder name of the level ('normal' ... 'banned')."""
        return Level(self.level).label

    def as_json(self, text: str) -> JsonObject:
        """The `classify --json` object of docs/ARCHITECTURE.md for this measurement of `text`."""
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


_NOTHING = Measurement(False, NONE, None, (), (), 0, ())  # a frozen value: what most items say


def as_vouched_for(measurement: Measurement, trust: Trust, issuer: str | None) -> Measurement:
    """A relevant measurement as far as the source it came from (its TRUST and ISSUER) vouches for it
    (docs/ARCHITECTURE.md, "Measures, not levels"): official from the issuer's own pages, whatever their wording;
    reported from a newsroom or a news search, even unhedged ("China bans gallium exports" on a wire is the wire's
    report until MOFCOM's page says it), and from another issuer's official pages (USGS or METI relaying a measure
    of China's). The text alone marks only a hedged report ("sources say"); where the source is unknown
    (`classify`), that is all there is to go on."""
    if not measurement.relevant:
        return measurement
    own = trust == "official" and issuer is not None and measurement.issuer == issuer
    provenance: Provenance = "official" if own else "reported"
    return measurement if measurement.provenance == provenance else replace(measurement, provenance=provenance)


def irrelevant(evidence: Iterable[str] = ()) -> Measurement:
    """The measurement of an item that says nothing about a control."""
    phrases = tuple(evidence)
    return Measurement(False, NONE, None, (), (), 0, phrases) if phrases else _NOTHING


_HAN = re.compile(r"[\u3400-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")


def prepare(title: str, summary: str, max_chars: int, simplify: Callable[[str], str] = str) -> str:
    """The text measuring reads: tags dropped, entities decoded, NFKC (full-width forms as ASCII), hyphens as
    spaces, Chinese in Simplified script (a text with kana is Japanese and stays as written), capped."""
    text = title[:max_chars] if not summary else f"{title[:max_chars]}. {summary[:max_chars]}"
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if not text.isascii() or "-" in text or "_" in text:
        text = text.translate(_SEPARATORS)
    text = " ".join(text.split())[:max_chars]
    if not text.isascii() and _HAN.search(text) is not None and _KANA.search(text) is None:
        return simplify(text)
    return text


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

    direction: Direction
    level: int
    evidence: tuple[Hit[Any], ...]
    effect: Effect = ""


def _ease(text: Text, rules: Rules) -> Decision | None:
    if rules.ease_blockers.search(text) is not None:
        return None
    eases = rules.ease.find(text)
    if not eases:
        return None
    remains = rules.remains.find(text)
    level = max((hit.value for hit in remains), default=int(Level.NORMAL))
    # approvals granted within a measure say a licence is still needed, whatever else eases
    effect: Effect = GRANT if any(hit.value == GRANT for hit in eases) else LIFT
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


def find_scope(text: Text, rules: Rules) -> MeasureScope:
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


def named_members(members: Mapping[str, frozenset[str]], materials: set[str]) -> set[str]:
    """The materials a text names, a group left out where a member of it is named too: naming gallium and
    germanium among 两用物项 (dual-use items) puts those two under the measure, never the whole list. `members`
    gives each group its members (itself included), as `Rules.members` holds them."""
    return {code for code in materials if code not in members or not (materials & (members[code] - {code}))}


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


def ease_action(text: Text, rules: Rules) -> EasingAction:
    """How an easing acts: it extends a suspension, suspends, or lifts."""
    if rules.qualifiers.extension.search(text) is not None:
        return EXTEND
    if rules.qualifiers.suspension.search(text) is not None:
        return SUSPEND
    return LIFT


class _Qualifiers(TypedDict):
    """What the text says beyond the level: the Measurement fields of that name."""

    end_use: EndUse
    provenance: Provenance
    instrument: str | None
    action: Action
    extend_years: int
    month: int | None
    effective: str | None


def _qualifiers(direction: Direction, text: Text, rules: Rules) -> _Qualifiers:
    """What the text says beyond the level of a measure going this way."""
    q = rules.qualifiers
    easing = direction == EASE
    action: Action = ease_action(text, rules) if easing else ""
    return {
        "end_use": "military" if q.military.search(text) is not None else "any",
        "provenance": "reported" if q.reported.search(text) is not None else "official",
        "instrument": find_instrument(text, rules),
        "action": action,
        "extend_years": 1 if action == EXTEND and q.one_more_year.search(text) is not None else 0,
        "month": find_month(text, rules) if easing else None,
        "effective": None if easing else find_effective(text, rules),
    }


def _evidence(hits: Iterable[Hit[Any]]) -> tuple[str, ...]:
    phrases: list[str] = []
    for hit in sorted(hits, key=lambda hit: hit.start):
        phrase = hit.phrase.strip()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return tuple(phrases[:MAX_EVIDENCE])


def _aimed_level(decision: Decision, text: Text, rules: Rules, targets: Sequence[str]) -> int:
    """A licensing word aimed at named destinations ("restricts rare earth exports to Japan") restricts them."""
    aimed = decision.direction == TIGHTEN and decision.level == Level.LICENSING and "ALL" not in targets
    return int(Level.RESTRICTED) if aimed and rules.aimed.search(text) is not None else decision.level


def measure(title: str, summary: str, rules: Rules, *, default_issuer: str | None = None) -> Measurement:
    """What an item (title and summary) says about export controls; never raises for what the text is.

    A text in a script or phrasing the rules cannot read names nothing they know and comes out irrelevant."""
    text = Text.of(prepare(title, summary, rules.max_chars, rules.simplify))
    if rules.prefilter is not None and not rules.prefilter.passes(text):
        return irrelevant()
    text = text.with_keys(rules.keys)  # which patterns it may match: most of the rules' are not held
    materials = named_members(rules.members, {code for hit in find_materials(text, rules) for code in hit.value})
    listing = rules.listings.search(text)
    if not materials and listing is None and rules.unnamed.search(text) is None:
        return irrelevant()
    veto = rules.irrelevant.search(text) or rules.negations.search(text)
    if veto is not None:
        return irrelevant([veto.phrase])
    decision = decide(text, rules)
    if listing is not None:
        materials = {rules.listing_material}
        if decision is None or decision.direction == TIGHTEN:
            decision = Decision(TIGHTEN, int(Level.WATCH), (listing,))
    if decision is None:
        return irrelevant()
    issuer = find_issuer(text, rules, default_issuer)
    targets = find_targets(text, rules, issuer)
    return Measurement(
        relevant=True,
        direction=decision.direction,
        issuer=issuer,
        targets=targets,
        materials=tuple(sorted(materials)),
        level=_aimed_level(decision, text, rules, targets),
        evidence=_evidence(decision.evidence),
        scope=find_scope(text, rules),
        effect=decision.effect,
        until=find_until(text, rules) if decision.direction == EASE else None,
        **_qualifiers(decision.direction, text, rules),
    )
