"""The desk as people read it: what waits, and what became of a Confirm or Dismiss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.html import esc, link
from bot.domain.ladder import Level
from bot.domain.values import DeskState

WORDS: dict[DeskState | Literal["missing"], str] = {
    "confirmed": "Confirmed",
    "dismissed": "Dismissed",
    "corroborated": "Confirmed by another source",
}


@dataclass(frozen=True, slots=True)
class DeskDecision:
    """What became of a press: whether this press decided, and the item's state and decider either way."""

    decided: bool
    state: DeskState | Literal["missing"]  # missing: no such item
    by: str


def outcome_line(decision: DeskDecision) -> str:
    """The line that replaces the buttons once an item is decided."""
    if decision.state == "missing":
        return "This desk item no longer exists."
    return f"{WORDS.get(decision.state, str(decision.state))} by {esc(decision.by)}."


def press_answer(decision: DeskDecision) -> str:
    """The short answer to the press itself."""
    if decision.decided:
        return WORDS.get(decision.state, str(decision.state))
    return f"Already decided: {WORDS.get(decision.state, str(decision.state)).lower()} by {decision.by}"


def desk_list(items: Sequence[Mapping[str, Any]]) -> str:
    """The /desk answer: what waits for a person, oldest first."""
    if not items:
        return "<b>The desk</b>\nNothing waits for a decision."
    lines = [f"<b>The desk</b>: {len(items)} waiting (oldest first)"]
    for item in items:
        measurement = item.get("measurement") or {}
        level = Level(int(measurement.get("level", 0))).label
        kind = "unconfirmed report" if item["kind"] == "unconfirmed" else "held easing"
        lines.append(
            f"• #{item['id']} {kind}, {esc(measurement.get('direction', ''))} {level}: "
            f"{link(str(item['title']), item.get('url'))} — {esc(item['source'])}"
        )
    lines.append("\nDecide with the buttons on each desk message.")
    return "\n".join(lines)
