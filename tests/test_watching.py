"""The wiring of checks: the measuring sink is built only when a check first has new items; the collector is
relaxed for the many short-lived objects of a cycle."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Sequence

from bot.runtime import GC_FIRST_GENERATION, relax_garbage_collection
from bot.watching import SinkOnFirstItems
from jobs.check import ItemSink, NewItem
from storage.database import Database
from storage.db import MEMORY, connect

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def test_the_sink_is_built_on_its_first_items_and_once() -> None:
    built: list[int] = []
    handed: list[int] = []

    def sink(db: Database, items: Sequence[NewItem], now: dt.datetime) -> int:
        handed.append(len(items))
        return len(items)

    def build() -> ItemSink:
        built.append(1)
        return sink

    lazy = SinkOnFirstItems(build)
    assert built == []  # a cycle of 304s never calls it, so never builds it
    db = connect(MEMORY)
    assert (lazy(db, [], NOW), lazy(db, [], NOW)) == (0, 0)
    assert (built, handed) == ([1], [0, 0])


def test_garbage_collection_is_relaxed_in_its_first_generation_only() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        relax_garbage_collection()
        assert gc.get_threshold() == (GC_FIRST_GENERATION, 10, 10)
    finally:
        gc.set_threshold(*before)
