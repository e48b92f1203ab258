"""The status ladder of one (issuer, target, material): normal → watch → review → licensing → restricted → banned."""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    """How tightly an issuer controls exports of a material to a target."""

    NORMAL = 0  # no measure in force
    WATCH = 1  # threats, signals, official warnings
    REVIEW = 2  # licences under tightened review, delays
    LICENSING = 3  # a licence is required; granted case by case
    RESTRICTED = 4  # licences denied or halted for this target, partial bans
    BANNED = 5  # exports prohibited

    @property
    def label(self) -> str:
        """The contract name: 'normal' ... 'banned'."""
        return self.name.lower()


LEVEL_MEANINGS: dict[Level, str] = {
    Level.NORMAL: "no measure in force",
    Level.WATCH: "threats, signals, official warnings",
    Level.REVIEW: "licences under tightened review, delays",
    Level.LICENSING: "a licence is required; granted case by case",
    Level.RESTRICTED: "licences denied or halted, partial bans",
    Level.BANNED: "exports prohibited",
}


def parse_level(text: str) -> Level:
    """A level from its name or number; ValueError naming the valid ones."""
    word = text.strip().lower()
    if word.isascii() and word.isdecimal() and int(word) in Level._value2member_map_:
        return Level(int(word))
    for level in Level:
        if level.label == word:
            return level
    names = ", ".join(level.label for level in Level)
    raise ValueError(f"unknown level '{text[:20]}'. Known levels: {names}.")
