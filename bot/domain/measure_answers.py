"""Measures as people read them: /status lists them grouped by instrument, /history their events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.domain.answers import LEVEL_MARKS
from bot.domain.datafiles import JsonObject
from bot.domain.html import esc, link
from bot.domain.i18n import NP_, Words, words
from bot.domain.labels import level_name, word
from bot.domain.ladder import Level
from bot.domain.measures import Measure
from bot.domain.vocab import Kind, Vocabulary

SHOWN_STATES = ("in_force", "announced", "suspended")
EVENT_WORDS = {
    "announced": NP_("event", "announced"),
    "reported": NP_("event", "reported"),
    "evidence": NP_("event", "reported again"),
    "confirmed": NP_("event", "confirmed"),
    "suspended": NP_("event", "suspended"),
    "extended": NP_("event", "suspension extended"),
    "lifted": NP_("event", "lifted"),
    "lapsed": NP_("event", "in force again"),
    "withdrawn": NP_("event", "withdrawn"),
}


def bears_on(measure: Measure, vocabulary: Vocabulary, kind: Kind | None, code: str | None) -> bool:
    """Whether a measure bears on a country (its own, its bloc's or ALL's, unless the country issued it) or a
    material (it, a group that covers it, or for a group any of its members)."""
    if kind == Kind.COUNTRY and code:
        return bool(set(measure.targets) & vocabulary.bound_targets(measure.issuer, code))
    if kind == Kind.MATERIAL and code:
        return bool(set(measure.materials) & vocabulary.concerning(code))
    return True


def state_words(measure: Measure, today: dt.date, w: Words | None = None) -> str:
    """The state of a measure on a day, as a sentence part."""
    w = w or words()
    state, lapsed = measure.state_on(today), measure.lapsed_on(today)
    if lapsed is not None:
        return w._("in force again since the suspension ran out on %(date)s; no extension seen", date=w.date(lapsed))
    if state == "suspended":
        return w._("suspended until %(date)s", date=w.date(measure.until)) if measure.until else w._("suspended")
    if state == "announced":
        return w._("announced, in force from %(date)s", date=w.date(measure.effective))
    return w._("in force since %(date)s", date=w.date(measure.effective))


def qualifiers(measure: Measure, w: Words | None = None) -> str:
    """End use and provenance, where they narrow what the level says."""
    w = w or words()
    parts = []
    if measure.end_use == "military":
        parts.append(w._("military end users and uses only"))
    if measure.provenance == "reported" and measure.issuer == "CN":
        parts.append(w._("reported, not confirmed by MOFCOM"))
    elif measure.provenance == "reported":
        parts.append(w._("reported, not confirmed by the issuer"))
    return f" <i>({'; '.join(parts)})</i>" if parts else ""


def _names(vocabulary: Vocabulary, kind: Kind, codes: Iterable[str], w: Words) -> str:
    return w.listing([vocabulary.display(kind, code, w.language) for code in codes])


def measure_line(measure: Measure, vocabulary: Vocabulary, today: dt.date, w: Words | None = None) -> str:
    """One measure: level, materials → targets, state, qualifiers."""
    w = w or words()
    materials = _names(vocabulary, Kind.MATERIAL, measure.materials, w)
    targets = _names(vocabulary, Kind.COUNTRY, measure.targets, w)
    mark = "⏸" if measure.state_on(today) == "suspended" else LEVEL_MARKS[measure.level]
    return (
        f"{mark} <b>{level_name(w, measure.level)}</b> {esc(materials)} → {esc(targets)}: "
        f"{esc(state_words(measure, today, w))}{qualifiers(measure, w)}"
    )


def grouped_by_instrument(measures: Iterable[Measure]) -> dict[str, list[Measure]]:
    """Measures by the instrument that states them (reported ones each on their own), strongest first."""
    groups: dict[str, list[Measure]] = {}
    for measure in sorted(measures, key=lambda m: (-m.level, m.announced, m.id)):
        groups.setdefault(measure.label, []).append(measure)
    return groups


def measures_message(
    title: str, measures: Sequence[Measure], vocabulary: Vocabulary, today: dt.date, w: Words | None = None
) -> str:
    """The /status answer: the measures in force, announced or suspended, by instrument (its name as published)."""
    w = w or words()
    shown = [m for m in measures if m.state_on(today) in SHOWN_STATES]
    if not shown:
        return f"<b>{esc(title)}</b>\n" + w._("No measure in force.")
    lines = [f"<b>{esc(title)}</b>"]
    for label, group in grouped_by_instrument(shown).items():
        first = group[0]
        lines += ["", link(label, first.url) + f" — {esc(w.date(first.announced))}"]
        lines += [measure_line(measure, vocabulary, today, w) for measure in group]
    levels = " · ".join(level_name(w, level) for level in Level)
    lines += ["", "<i>" + w._("As of %(date)s. Levels: %(levels)s.", date=w.date(today), levels=levels) + "</i>"]
    return "\n".join(lines)


def measure_json(measure: Measure, today: dt.date) -> JsonObject:
    """One measure as JSON."""
    lapsed = measure.lapsed_on(today)
    return {
        "id": measure.id,
        "issuer": measure.issuer,
        "instrument": measure.instrument,
        "title": measure.title,
        "source": measure.source,
        "url": measure.url,
        "targets": list(measure.targets),
        "materials": list(measure.materials),
        "end_use": measure.end_use,
        "level": int(measure.level),
        "level_name": measure.level.label,
        "provenance": measure.provenance,
        "announced": measure.announced.isoformat(),
        "effective": measure.effective.isoformat(),
        "state": measure.state_on(today),
        "until": measure.until.isoformat() if measure.until and lapsed is None else None,
        "lapsed": lapsed.isoformat() if lapsed else None,
    }


def event_line(event: Mapping[str, Any], vocabulary: Vocabulary, w: Words | None = None) -> str:
    """One measure event for /history (its instrument and source as published)."""
    w = w or words()
    kind = word(w, EVENT_WORDS, event["kind"])
    if event.get("until") and event["kind"] in ("suspended", "extended"):
        kind = w._("%(event)s until %(date)s", event=kind, date=w.date(str(event["until"])))
    return w._(
        "%(date)s <b>%(event)s</b>: %(measure)s — %(level)s on %(materials)s → %(targets)s (%(source)s)",
        date=w.date(str(event["at"])),
        event=esc(kind),
        measure=esc(event.get("instrument") or w._("reported measure")),
        level=level_name(w, event["level"]),
        materials=esc(_names(vocabulary, Kind.MATERIAL, event["materials"], w)),
        targets=esc(_names(vocabulary, Kind.COUNTRY, event["targets"], w)),
        source=link(str(event["source"]), event.get("url")),
    )
