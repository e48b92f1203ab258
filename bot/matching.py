"""Which subscriptions a status change concerns.

A subscription (country, sector or material, minimum level) matches a change when the change's target is
its country, that country's bloc or ALL (or any target for a subscription to ALL); when the change's
material is the subscription's material, one its sector needs, or a group containing one of those (or a
member of the subscribed group); and when the new level is at or above the minimum — or the change eases a
status that was at or above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.knowledge import ExposureTable
from bot.vocab import Vocabulary

ALL = "ALL"


@dataclass(frozen=True, slots=True)
class Filter:
    """What one subscription asks for; empty sector and material mean every material."""

    country: str
    sector: str = ""
    material: str = ""
    min_level: int = 0


@dataclass(frozen=True, slots=True)
class Move:
    """A status change as matching sees it."""

    target: str
    material: str
    old_level: int
    new_level: int

    @property
    def eases(self) -> bool:
        """Whether the level went down."""
        return self.new_level < self.old_level


def target_matches(country: str, target: str, vocabulary: Vocabulary) -> bool:
    """Whether a measure on `target` hits a subscriber to `country`."""
    if country == ALL:
        return True
    if country not in vocabulary.countries:
        return target in (country, ALL)
    return target in vocabulary.destinations(country)


def wanted_materials(subscription: Filter, table: ExposureTable) -> frozenset[str] | None:
    """The materials a subscription cares about; None for all of them."""
    if subscription.material:
        return frozenset({subscription.material})
    if subscription.sector and subscription.sector in table.sectors:
        return frozenset(table.sectors[subscription.sector].needs)
    return None


def material_matches(wanted: frozenset[str] | None, material: str, vocabulary: Vocabulary) -> bool:
    """Whether a measure on `material` touches one of the wanted materials (groups both ways)."""
    if wanted is None:
        return True
    if material not in vocabulary.materials:
        return material in wanted
    covered = vocabulary.members(material)
    return any(want in covered or _group_contains(want, material, vocabulary) for want in wanted)


def _group_contains(group: str, material: str, vocabulary: Vocabulary) -> bool:
    return group in vocabulary.materials and material in vocabulary.members(group)


def level_matches(min_level: int, move: Move) -> bool:
    """At or above the minimum now, or eased from at or above it."""
    return move.new_level >= min_level or (move.eases and move.old_level >= min_level)


def matches(subscription: Filter, move: Move, vocabulary: Vocabulary, table: ExposureTable) -> bool:
    """Whether a subscription hears of a change."""
    return (
        target_matches(subscription.country, move.target, vocabulary)
        and level_matches(subscription.min_level, move)
        and material_matches(wanted_materials(subscription, table), move.material, vocabulary)
    )


def matching_filters(
    filters: Iterable[Filter], moves: Iterable[Move], vocabulary: Vocabulary, table: ExposureTable
) -> list[Filter]:
    """The filters that at least one of the moves matches."""
    moves = list(moves)
    return [f for f in filters if any(matches(f, move, vocabulary, table) for move in moves)]
