"""The wiring of checks: the collector is relaxed for the many short-lived objects of a cycle; a check of every
source sends its requests before it loads its knowledge, and records nothing before."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.datafiles import DataFileError
from bot.runtime import GC_FIRST_GENERATION, relax_garbage_collection
from bot.services import load_services
from bot.watching import check_every_source
from handlers.context import Services
from jobs.sources import SourceSpec
from storage.database import Database
from storage.db import open_database
from tests.loopback import LoopbackServer, Response
from tests.test_check import NOW, RSS, feed


def test_garbage_collection_is_relaxed_in_its_first_generation_only() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        relax_garbage_collection()
        assert gc.get_threshold() == (GC_FIRST_GENERATION, 10, 10)
    finally:
        gc.set_threshold(*before)


# --- a check of every source: requests first, knowledge and measuring once the first answer is in ---------------

TIGHTENING = "MOFCOM announces export ban on tungsten to Japan, effective now"


def official(source_id: str, url: str) -> SourceSpec:
    return SourceSpec(source_id, source_id, "rss", url, 600, issuer="CN", allow_private=True, trust="official")


def recorded(db: Database) -> tuple[int, int]:
    """How many sources a check has recorded (a success or a failure), and how many items."""
    sources = db.execute("SELECT count(*) FROM sources WHERE last_checked_at IS NOT NULL").fetchone()[0]
    return sources, db.execute("SELECT count(*) FROM items").fetchone()[0]


async def test_a_check_of_every_source_loads_its_services_once_an_answer_is_in_and_records_only_then(
    tmp_path: Path,
) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    routes = {"/feed": Response(200, feed(TIGHTENING), RSS), "/gone": Response(404, "gone", RSS)}
    seen_at_load: list[tuple[int, tuple[int, int]]] = []
    async with LoopbackServer(routes) as server:
        db = open_database(settings.chokepoint_db, NOW)

        def load() -> Services:
            seen_at_load.append((len(server.requests), recorded(db)))
            return load_services(settings, db, NOW)

        sources = [official("feed", server.url("/feed")), official("gone", server.url("/gone"))]
        try:
            summary, services = await check_every_source(db, sources, load)
            assert recorded(db) == (2, 1)
            assert services.db is db
        finally:
            db.close()
    [(answered, recorded_then)] = seen_at_load  # loaded once: once a request had been answered, before any record
    assert answered >= 1
    assert recorded_then == (0, 0)
    document = summary.as_json()
    assert (document["changed"], document["failed"], document["new_items"], document["status_changes"]) == (1, 1, 1, 1)


async def test_a_check_of_no_source_still_loads_its_services(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    db = open_database(settings.chokepoint_db, NOW)
    try:
        summary, services = await check_every_source(db, [], lambda: load_services(settings, db, NOW))
    finally:
        db.close()
    assert summary.as_json()["checked"] == 0
    assert services.vocabulary.materials


async def test_services_that_cannot_load_end_the_check_and_close_its_fetcher_and_workers(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")

    def broken() -> Services:
        raise DataFileError("vocabulary.yaml: the top level must be a mapping")

    async with LoopbackServer({"/feed": Response(200, feed(TIGHTENING), RSS)}) as server:
        db = open_database(settings.chokepoint_db, NOW)
        try:
            with pytest.raises(DataFileError, match="top level must be a mapping"):
                await check_every_source(db, [official("feed", server.url("/feed"))], broken)
            assert recorded(db) == (0, 0)
        finally:
            db.close()
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
