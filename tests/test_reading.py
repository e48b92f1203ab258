"""Readings travel between a parser worker and the checking process packed as plain tuples."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.measure import irrelevant
from jobs.parse import ParsedItem
from jobs.reading import Reading, measure_in_worker, pack, unpack
from jobs.sources import SourceSpec

SOURCE = SourceSpec(id="s", name="S", kind="rss", url="https://feeds.example.com/rss", every_seconds=600)


def item(n: int, title: str) -> ParsedItem:
    published = datetime(2026, 11, 30, 8, n, tzinfo=UTC) if n % 2 else None
    return ParsedItem(f"g{n}", title, f"https://x.example/{n}" if n % 3 else None, f"summary {n}", published)


def test_readings_come_back_as_they_left_through_a_pickle() -> None:
    titles = ["China bans gallium exports to the United States", "Bank of Japan holds rates", "Copper prices rise"]
    readings = [Reading(item(n, title), measure_in_worker(SOURCE, item(n, title))) for n, title in enumerate(titles)]
    readings.append(Reading(item(9, "not measured")))
    assert unpack(pickle.loads(pickle.dumps(pack(readings)))) == readings
    assert readings[0].measurement is not None and readings[0].measurement.relevant


def test_equal_measurements_travel_once() -> None:
    readings = [Reading(item(n, "Copper prices rise"), replace(irrelevant())) for n in range(20)]
    assert len({id(reading.measurement) for reading in readings}) == 20  # equal, yet each its own
    arrived = unpack(pickle.loads(pickle.dumps(pack(readings))))
    assert arrived == readings
    assert len({id(reading.measurement) for reading in arrived}) == 1


def test_the_worker_measures_with_the_bundled_rules() -> None:
    reading = measure_in_worker(SOURCE, item(1, "Beijing bans gallium and germanium exports to the United States"))
    assert (reading.direction, reading.materials) == ("tighten", ("gallium", "germanium"))
