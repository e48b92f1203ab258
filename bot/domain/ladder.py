"""The status ladder (v2): normal → watch → licensing → review → restricted → banned.

`review` ranks above `licensing`: "licences under tightened review" only exists where a licence is required, and is
worse for the buyer (docs/ARCHITECTURE.md, "The ladder").
"""

from __future__ import annotations

from enum import IntEnum

from bot.domain.problems import Problem


class Level(IntEnum):
    """How tightly an issuer controls exports of a material to a target."""

    NORMAL = 0  # no measure in force
    WATCH = 1  # threats, signals, official warnings
    LICENSING = 2  # a licence is required; granted case by case
    REVIEW = 3  # licences required, and approvals slowed, stalled or mostly refused
    RESTRICTED = 4  # licences denied or halted for this target, partial bans
    BANNED = 5  # exports prohibited

    @property
    def label(self) -> str:
        """The contract name: 'normal' ... 'banned'."""
        return self.name.lower()


def parse_level(text: str) -> Level:
    """A level from its name or number; ValueError naming the valid ones."""
    word = text.strip().lower()
    if word.isascii() and word.isdecimal() and int(word) in Level._value2member_map_:
        return Level(int(word))
    for level in Level:
        if level.label == word:
            return level
    names = ", ".join(level.label for level in Level)
    raise Problem("unknown level '%(text)s'. Known levels: %(names)s.", text=text[:20], names=names)
