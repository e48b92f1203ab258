"""The baseline timeline fed through the measurer: its announcement titles (or headlines) move the statuses to
the levels the baseline loader sets (FACTS.md), event after event."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlite_utils import Database

from bot.domain.knowledge import BaselineEvent
from bot.domain.ladder import Level
from bot.domain.measure import load_rules, measure
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from jobs.baseline import apply_event, event_time
from jobs.moves import Evidence, apply_measurement
from storage.db import open_database
from storage.statuses import current_statuses

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def book(db: Database, vocabulary: Vocabulary) -> StatusBook:
    return StatusBook([Status.from_row(row) for row in current_statuses(db)], vocabulary)


def keys_set(events: list[BaselineEvent]) -> set[tuple[str, str]]:
    return {(t, m) for event in events for setting in event.sets for t in setting.targets for m in setting.materials}


def feed(db: Database, event: BaselineEvent, vocabulary: Vocabulary) -> None:
    text = event.headline or event.title
    measured = measure(text, "", load_rules(vocabulary), default_issuer="CN")
    with db.atomic():
        when = dt.datetime.fromisoformat(event_time(event))
        apply_measurement(db, measured, Evidence(text, event.url, "baseline-check"), when, vocabulary)


def test_every_event_moves_the_statuses_the_baseline_sets(
    vocabulary: Vocabulary, baseline: list[BaselineEvent]
) -> None:
    loaded, measured = open_database(":memory:", NOW), open_database(":memory:", NOW)
    mismatches = []
    for index, event in enumerate(baseline):
        apply_event(loaded, event, NOW, vocabulary)
        feed(measured, event, vocabulary)
        expected, got = book(loaded, vocabulary), book(measured, vocabulary)
        for target, material in sorted(keys_set(baseline[: index + 1])):
            if expected.level(target, material) != got.level(target, material):
                mismatches.append(
                    (event.date, target, material, expected.level(target, material), got.level(target, material))
                )
    assert mismatches == []


@pytest.mark.parametrize(
    ("country", "material", "level"),
    [
        ("US", "gallium", Level.LICENSING),  # Ann. 46 ban, suspended by Ann. 72: licences still required
        ("US", "antimony", Level.LICENSING),
        ("KR", "graphite", Level.LICENSING),  # Ann. 39/2023, all destinations
        ("JP", "graphite", Level.RESTRICTED),  # graphite is a dual-use item: Ann. 1/2026
        ("DE", "tungsten", Level.LICENSING),  # Feb. 2025, all destinations
        ("KR", "yttrium", Level.LICENSING),  # Ann. 18/2025
        ("IN", "holmium", Level.NORMAL),  # Ann. 57 suspended by Ann. 70 until 2026-11-10
        ("KR", "lithium_batteries", Level.NORMAL),
        ("US", "lithium_batteries", Level.WATCH),  # the June 2026 entity listings put US dual-use items on watch
        ("DE", "rare_earth_magnets", Level.LICENSING),  # EU review, under the licensing of all destinations
        ("JP", "dysprosium", Level.RESTRICTED),  # Jan. 2026
        ("JP", "gallium", Level.RESTRICTED),  # Ann. 1/2026 on dual-use items to Japan
        ("JP", "neodymium", Level.REVIEW),  # Dec. 2025 licence delays for Japan
        ("FR", "neodymium", Level.NORMAL),
    ],
)
def test_the_levels_of_the_facts_after_the_whole_timeline(
    vocabulary: Vocabulary, baseline: list[BaselineEvent], country: str, material: str, level: Level
) -> None:
    db = open_database(":memory:", NOW)
    for event in baseline:
        feed(db, event, vocabulary)
    assert book(db, vocabulary).level(country, material) == level


def test_suspensions_carry_their_end_dates(vocabulary: Vocabulary, baseline: list[BaselineEvent]) -> None:
    db = open_database(":memory:", NOW)
    for event in baseline:
        feed(db, event, vocabulary)
    statuses = {(s.target, s.material): s for s in book(db, vocabulary)._by_key.values()}
    assert statuses[("ALL", "holmium")].until == dt.date(2026, 11, 10)
    assert statuses[("US", "gallium")].until == dt.date(2026, 11, 27)
