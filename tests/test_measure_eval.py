"""The measurer against the labelled sets: the floors of the issue on the held-out half of each set, and the
prefilter that lets most items skip the rules changing nothing on any row."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.domain.lexicon import Text
from bot.domain.measure import measure, prepare
from bot.domain.rules import Rules
from tests.evaluate import CEILINGS, FLOORS, SETS, SPLITS, Measurer, Scores, evaluate, load_rows

REAL_LANGUAGES = {"en", "zh-Hans", "zh-Hant", "ja"}


@pytest.fixture(scope="module")
def measurer() -> Measurer:
    return Measurer.bundled()


@pytest.fixture(scope="module", params=sorted(SETS))
def held_out(request: pytest.FixtureRequest, measurer: Measurer) -> Scores:
    return evaluate("holdout", measurer, SETS[str(request.param)])


@pytest.mark.parametrize("path", SETS.values(), ids=list(SETS))
def test_each_set_is_split_in_a_tune_and_a_held_out_part(path: Path) -> None:
    tune, holdout = (len(load_rows(path, split)) for split in SPLITS)
    assert tune >= 150 and 0.25 <= holdout / (tune + holdout) <= 0.5


def test_the_real_set_is_read_in_four_scripts_and_each_is_held_out() -> None:
    rows = load_rows(SETS["real"])
    assert len(rows) >= 300
    assert {row["lang"] for row in rows} == REAL_LANGUAGES
    assert {row["lang"] for row in rows if row["split"] == "holdout"} == REAL_LANGUAGES


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_floor(held_out: Scores, metric: str) -> None:
    assert getattr(held_out, metric) >= FLOORS[metric], held_out.floors_missed()


@pytest.mark.parametrize("metric", sorted(CEILINGS))
def test_ceiling(held_out: Scores, metric: str) -> None:
    assert getattr(held_out, metric) <= CEILINGS[metric], held_out.floors_missed()


def test_precision_and_recall_are_reported_for_every_direction_and_level(held_out: Scores) -> None:
    assert set(held_out.by_direction) == {"tighten", "ease", "none"}
    assert set(held_out.by_level) == {0, 1, 2, 3, 4, 5}
    assert sum(rate.support for rate in held_out.by_direction.values()) == held_out.rows


@pytest.mark.parametrize("path", SETS.values(), ids=list(SETS))
def test_the_prefilter_changes_no_measurement(measurer: Measurer, path: Path) -> None:
    everything: Rules = replace(measurer.rules, prefilter=None)
    for row in load_rows(path):
        assert measure(row["text"], "", measurer.rules) == measure(row["text"], "", everything), row["text"]


def test_the_prefilter_lets_unrelated_news_skip_the_rules(measurer: Measurer) -> None:
    prefilter = measurer.rules.prefilter
    assert prefilter is not None
    unrelated = [row["text"] for row in load_rows(SETS["real"]) if "unrelated" in (row.get("note") or "")]
    assert len(unrelated) >= 20
    skipped = [text for text in unrelated if not prefilter.passes(_text(text, measurer.rules))]
    assert len(skipped) >= 0.9 * len(unrelated)


def _text(headline: str, rules: Rules) -> Text:
    return Text.of(prepare(headline, "", rules.max_chars, rules.simplify))
