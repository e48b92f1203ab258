"""Which subscriptions a status change concerns.

A subscription (country, sector or material, minimum level) matches a change when the change's target is
its country, that country's bloc or ALL (or any target for a subscription to ALL); when the change's
material is the subscription's material, one its sector needs, or a group containing one of those (or a
member of the subscribed group); and when the new level is at or above the minimum — or the change eases a
status that was at or above it.

Given the effective levels before and after (`Levels`), a subscription to a known country is matched by what the
changes do to that country (docs/ARCHITECTURE.md: its level is the max of its own, its bloc's and ALL's status, on the
material or a group covering it): for each material of the subscription that a change bears on, the country's
effective level must have moved, to at or above the minimum or down from at or above it. An easing on ALL beneath
a measure on Japan that stays reaches no subscriber to Japan. A subscription to ALL (or to a code the vocabulary
does not know) reads the changes' own moves, as without levels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.domain.knowledge import ExposureTable
from bot.domain.subscription import Subscription
from bot.domain.values import ALL
from bot.domain.vocab import Vocabulary

Levels = Callable[[str, str], tuple[int, int]]
"""A country's effective level for a material before and after the changes (cached by the caller)."""


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


def matches(subscription: Subscription, move: Move, vocabulary: Vocabulary, table: ExposureTable) -> bool:
    """Whether a subscription hears of a change."""
    return (
        target_matches(subscription.country, move.target, vocabulary)
        and level_matches(subscription.min_level, move)
        and material_matches(subscription.wanted(table), move.material, vocabulary)
    )


def focus(wanted: frozenset[str] | None, material: str, vocabulary: Vocabulary) -> list[str]:
    """The materials whose level a measure on `material` moves for a subscriber who wants `wanted`: the
    material itself, except where it is a group covering wanted members, whose own levels are read instead."""
    if wanted is None or material not in vocabulary.materials:
        return [material] if material_matches(wanted, material, vocabulary) else []
    covered = vocabulary.members(material)
    found = sorted(want for want in wanted if want in covered)
    if any(_group_contains(want, material, vocabulary) for want in wanted) and material not in found:
        found.append(material)
    return found


def reads_levels(subscription: Subscription, vocabulary: Vocabulary) -> bool:
    """Whether a subscription is matched by its country's effective levels (not ALL, and a known country)."""
    return subscription.country != ALL and subscription.country in vocabulary.countries


def country_moves(
    subscription: Subscription, moves: Iterable[Move], vocabulary: Vocabulary, table: ExposureTable, levels: Levels
) -> list[Move]:
    """The moves of the subscription's country's effective levels on the materials it wants that the changes bear
    on, each once, in the changes' order; empty for a subscription that does not read levels."""
    if not reads_levels(subscription, vocabulary):
        return []
    country, wanted = subscription.country, subscription.wanted(table)
    destinations = vocabulary.destinations(country)
    found: dict[str, Move] = {}
    for move in moves:
        if move.target not in destinations:
            continue
        for material in focus(wanted, move.material, vocabulary):
            if material not in found:
                old, new = levels(country, material)
                found[material] = Move(country, material, old, new)
    return [move for move in found.values() if move.old_level != move.new_level]


def subscription_hears(
    subscription: Subscription,
    moves: Sequence[Move],
    vocabulary: Vocabulary,
    table: ExposureTable,
    levels: Levels | None = None,
) -> bool:
    """Whether a subscription hears of the changes: by its country's levels where given, else by the moves."""
    if levels is None or not reads_levels(subscription, vocabulary):
        return any(matches(subscription, move, vocabulary, table) for move in moves)
    own = country_moves(subscription, moves, vocabulary, table, levels)
    return any(level_matches(subscription.min_level, move) for move in own)


def matching_filters(
    filters: Iterable[Subscription],
    moves: Iterable[Move],
    vocabulary: Vocabulary,
    table: ExposureTable,
    levels: Levels | None = None,
) -> list[Subscription]:
    """The filters that hear of the moves (see `subscription_hears`)."""
    moves = list(moves)
    return [f for f in filters if subscription_hears(f, moves, vocabulary, table, levels)]
