"""The measurer against the labelled headlines: the floors of the issue, on the tune and the holdout halves."""

from __future__ import annotations

import pytest

from bot.domain.measure import Rules, load_rules
from bot.domain.vocab import Vocabulary
from tests.evaluate import FLOORS, SPLITS, Scores, evaluate, load_rows


@pytest.fixture(scope="module")
def rules(vocabulary: Vocabulary) -> Rules:
    return load_rules(vocabulary)


@pytest.fixture(scope="module", params=SPLITS)
def scores(request: pytest.FixtureRequest, rules: Rules) -> Scores:
    return evaluate(str(request.param), rules)


def test_both_halves_are_there_and_a_third_is_held_out() -> None:
    tune, holdout = (len(load_rows(split=split)) for split in SPLITS)
    assert tune > 150 and 0.25 <= holdout / (tune + holdout) <= 0.42


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_floor(scores: Scores, metric: str) -> None:
    assert getattr(scores, metric) >= FLOORS[metric], scores.floors_missed()


def test_precision_and_recall_are_reported_for_every_direction_and_level(scores: Scores) -> None:
    assert set(scores.by_direction) == {"tighten", "ease", "none"}
    assert set(scores.by_level) == {0, 1, 2, 3, 4, 5}
    assert sum(rate.support for rate in scores.by_direction.values()) == scores.rows
