"""Measures as people read them: /status lists them grouped by instrument, /history their events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.domain.answers import LEVEL_MARKS
from bot.domain.datafiles import JsonObject
from bot.domain.html import esc, link
from bot.domain.ladder import Level
from bot.domain.measures import Measure
from bot.domain.vocab import Kind, Vocabulary

SHOWN_STATES = ("in_force", "announced", "suspended")
EVENT_WORDS = {
    "announced": "announced",
    "reported": "reported",
    "evidence": "reported again",
    "confirmed": "confirmed",
    "suspended": "suspended",
    "extended": "suspension extended",
    "lifted": "lifted",
    "lapsed": "in force again",
    "withdrawn": "withdrawn",
}


def bears_on(measure: Measure, vocabulary: Vocabulary, kind: Kind | None, code: str | None) -> bool:
    """Whether a measure bears on a country (its own, its bloc's or ALL's) or a material (it or a group)."""
    if kind == Kind.COUNTRY and code:
        return bool(set(measure.targets) & vocabulary.destinations(code))
    if kind == Kind.MATERIAL and code:
        return bool(set(measure.materials) & vocabulary.covering(code))
    return True


def state_words(measure: Measure, today: dt.date) -> str:
    """The state of a measure on a day, as a sentence part."""
    state, lapsed = measure.state_on(today), measure.lapsed_on(today)
    if lapsed is not None:
        return f"in force again since the suspension ran out on {lapsed.isoformat()}; no extension seen"
    if state == "suspended":
        until = f" until {measure.until.isoformat()}" if measure.until else ""
        return f"suspended{until}"
    if state == "announced":
        return f"announced, in force from {measure.effective.isoformat()}"
    return f"in force since {measure.effective.isoformat()}"


def qualifiers(measure: Measure) -> str:
    """End use and provenance, where they narrow what the level says."""
    parts = []
    if measure.end_use == "military":
        parts.append("military end users and uses only")
    if measure.provenance == "reported":
        parts.append(f"reported, not confirmed by {'MOFCOM' if measure.issuer == 'CN' else 'the issuer'}")
    return f" <i>({'; '.join(parts)})</i>" if parts else ""


def measure_line(measure: Measure, vocabulary: Vocabulary, today: dt.date) -> str:
    """One measure: level, materials → targets, state, qualifiers."""
    materials = ", ".join(vocabulary.display(Kind.MATERIAL, m) for m in measure.materials)
    targets = ", ".join(vocabulary.display(Kind.COUNTRY, t) for t in measure.targets)
    mark = "⏸" if measure.state_on(today) == "suspended" else LEVEL_MARKS[measure.level]
    return (
        f"{mark} <b>{measure.level.label}</b> {esc(materials)} → {esc(targets)}: "
        f"{esc(state_words(measure, today))}{qualifiers(measure)}"
    )


def grouped_by_instrument(measures: Iterable[Measure]) -> dict[str, list[Measure]]:
    """Measures by the instrument that states them (reported ones each on their own), strongest first."""
    groups: dict[str, list[Measure]] = {}
    for measure in sorted(measures, key=lambda m: (-m.level, m.announced, m.id)):
        groups.setdefault(measure.label, []).append(measure)
    return groups


def measures_message(title: str, measures: Sequence[Measure], vocabulary: Vocabulary, today: dt.date) -> str:
    """The /status answer: the measures in force, announced or suspended, by instrument."""
    shown = [m for m in measures if m.state_on(today) in SHOWN_STATES]
    if not shown:
        return f"<b>{esc(title)}</b>\nNo measure in force."
    lines = [f"<b>{esc(title)}</b>"]
    for label, group in grouped_by_instrument(shown).items():
        first = group[0]
        lines += ["", link(label, first.url) + f" — {esc(first.announced.isoformat())}"]
        lines += [measure_line(measure, vocabulary, today) for measure in group]
    lines += ["", f"<i>As of {today.isoformat()}. Levels: normal · watch · licensing · review · restricted · "
                  "banned.</i>"]  # fmt: skip
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


def event_line(event: Mapping[str, Any], vocabulary: Vocabulary) -> str:
    """One measure event for /history."""
    materials = ", ".join(vocabulary.display(Kind.MATERIAL, m) for m in event["materials"])
    targets = ", ".join(vocabulary.display(Kind.COUNTRY, t) for t in event["targets"])
    kind = EVENT_WORDS.get(event["kind"], event["kind"])
    until = f" until {event['until']}" if event.get("until") and event["kind"] in ("suspended", "extended") else ""
    level = Level(event["level"]).label
    name = event.get("instrument") or "reported measure"
    return (
        f"{event['at'][:10]} <b>{esc(kind)}{esc(until)}</b>: {esc(name)} — {level} on {esc(materials)} → "
        f"{esc(targets)} ({link(str(event['source']), event.get('url'))})"
    )
