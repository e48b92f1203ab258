"""The wiring of checks: the collector is relaxed for the many short-lived objects of a cycle."""

from __future__ import annotations

import gc

from bot.runtime import GC_FIRST_GENERATION, relax_garbage_collection


def test_garbage_collection_is_relaxed_in_its_first_generation_only() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        relax_garbage_collection()
        assert gc.get_threshold() == (GC_FIRST_GENERATION, 10, 10)
    finally:
        gc.set_threshold(*before)
