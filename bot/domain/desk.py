"""The desk as people read it: what waits, and what became of a Confirm or Dismiss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.html import esc, link
from bot.domain.i18n import NP_, Words, words
from bot.domain.labels import DIRECTION_WORDS, level_name, word
from bot.domain.values import DeskState

STATE_WORDS: dict[str, tuple[str, str]] = {
    "confirmed": NP_("desk", "Confirmed"),
    "dismissed": NP_("desk", "Dismissed"),
    "corroborated": NP_("desk", "Confirmed by another source"),
}


@dataclass(frozen=True, slots=True)
class DeskDecision:
    """What became of a press: whether this press decided, and the item's state and decider either way."""

    decided: bool
    state: DeskState | Literal["missing"]  # missing: no such item
    by: str


def outcome_line(decision: DeskDecision, w: Words | None = None) -> str:
    """The line that replaces the buttons once an item is decided."""
    w = w or words()
    if decision.state == "missing":
        return w._("This desk item no longer exists.")
    state = word(w, STATE_WORDS, decision.state)
    return w._("%(state)s by %(who)s.", state=state, who=esc(decision.by))


def press_answer(decision: DeskDecision, w: Words | None = None) -> str:
    """The short answer to the press itself."""
    w = w or words()
    state = word(w, STATE_WORDS, decision.state)
    if decision.decided:
        return state
    return w._("Already decided: %(state)s by %(who)s", state=state.lower(), who=decision.by)


def desk_list(items: Sequence[Mapping[str, Any]], w: Words | None = None) -> str:
    """The /desk answer: what waits for a person, oldest first (headlines and sources as published)."""
    w = w or words()
    if not items:
        return "<b>" + w._("The desk") + "</b>\n" + w._("Nothing waits for a decision.")
    lines = ["<b>" + w._("The desk") + "</b>: " + w._("%(count)s waiting (oldest first)", count=len(items))]
    for item in items:
        measurement = item.get("measurement") or {}
        level = level_name(w, int(measurement.get("level", 0)))
        kind = w._("unconfirmed report") if item["kind"] == "unconfirmed" else w._("held easing")
        direction = word(w, DIRECTION_WORDS, str(measurement.get("direction", "")))
        line = (
            f"• #{item['id']} {kind}, {esc(direction)} {level}: "
            f"{link(str(item['title']), item.get('url'))} — {esc(item['source'])}"
        )
        also = item.get("also_reported_by") or []
        if also:
            line += " (" + w._("also reported by %(sources)s", sources=esc(", ".join(also))) + ")"
        lines.append(line)
    lines.append("\n" + w._("Decide with the buttons on each desk message."))
    return "\n".join(lines)
