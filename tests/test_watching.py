"""The wiring of checks: the collector is relaxed for the many short-lived objects of a cycle; a check of every
source sends its requests before it opens its database and loads its knowledge, and records nothing before."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.datafiles import DataFileError
from bot.runtime import GC_FIRST_GENERATION, relax_garbage_collection
from bot.services import load_services
from bot.watching import _opened, check_every_source
from handlers.context import Services
from jobs.check import CheckSummary, RecordingGate
from jobs.lane import ReadingLane
from jobs.reading import measure_in_worker
from jobs.sources import SourceSpec
from storage.database import Database
from storage.db import open_database
from storage.schema import SchemaTooNew, schema_version
from storage.sources import FirstRead, read_before_opening, sync_sources
from tests.loopback import LoopbackServer, Response, sequence
from tests.test_check import NOW, RSS, feed


def test_garbage_collection_is_relaxed_in_its_first_generation_only() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        relax_garbage_collection()
        assert gc.get_threshold() == (GC_FIRST_GENERATION, 10, 10)
    finally:
        gc.set_threshold(*before)


# --- a check of every source: requests first; database, knowledge and measuring once the first answer is in -----

TIGHTENING = "MOFCOM announces export ban on tungsten to Japan, effective now"


def official(source_id: str, url: str) -> SourceSpec:
    return SourceSpec(source_id, source_id, "rss", url, 600, issuer="CN", allow_private=True, trust="official")


def recorded(path: Path) -> tuple[int, int]:
    """How many sources the database at PATH has seen checked (a success or a failure), and how many items."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        sources = db.execute("SELECT count(*) FROM sources WHERE last_checked_at IS NOT NULL").fetchone()[0]
        return sources, db.execute("SELECT count(*) FROM items").fetchone()[0]


class Opener:
    """The services of a one-shot check, opened as the command line does; what the server and the database had
    seen when they were."""

    def __init__(self, settings: Settings, server: LoopbackServer, lane: ReadingLane | None = None) -> None:
        self.settings, self.server, self.lane = settings, server, lane
        self.opened: list[Database] = []
        self.seen: list[tuple[int, tuple[int, int]]] = []  # (requests answered, recorded) at each opening
        self.reading: list[bool] = []  # whether the reading lane's worker had been given a body, at each opening
        self.threads: list[int] = []  # the thread each opening ran on

    def __call__(self) -> Services:
        path = self.settings.chokepoint_db
        self.seen.append((len(self.server.requests), recorded(path) if path.is_file() else (0, 0)))
        self.reading.append(self.lane is not None and self.lane.pid() is not None)
        self.threads.append(threading.get_ident())
        self.opened.append(open_database(path, NOW))
        return load_services(self.settings, self.opened[-1], NOW)

    def close(self) -> None:
        for db in self.opened:
            db.close()


async def check_with(
    settings: Settings, server: LoopbackServer, sources: list[SourceSpec], lane: ReadingLane | None = None
) -> tuple[CheckSummary, Services | None, Opener]:
    """A check of every source as the command line runs it; its database closed after."""
    opener = Opener(settings, server, lane)
    try:
        summary, services = await check_every_source(opener, sources, settings.chokepoint_db, lane=lane)
    finally:
        opener.close()
    return summary, services, opener


async def test_the_first_bodies_go_to_the_reading_worker_before_the_database_opens(tmp_path: Path) -> None:
    """Reading needs no database: the worker reads while the check opens its database and its knowledge."""
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    lane = ReadingLane(measure_in_worker)  # started on its first body, as a check's own lane is
    try:
        async with LoopbackServer({"/feed": Response(200, feed(TIGHTENING), RSS)}) as server:
            summary, _, opener = await check_with(settings, server, [official("feed", server.url("/feed"))], lane)
    finally:
        lane.close()
    assert opener.reading == [True]
    assert summary.as_json()["new_items"] == 1


async def test_a_check_of_every_source_opens_its_database_once_an_answer_is_in_and_records_only_then(
    tmp_path: Path,
) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    routes = {"/feed": Response(200, feed(TIGHTENING), RSS), "/gone": Response(404, "gone", RSS)}
    async with LoopbackServer(routes) as server:
        sources = [official("feed", server.url("/feed")), official("gone", server.url("/gone"))]
        summary, services, opener = await check_with(settings, server, sources)
    assert services.db is opener.opened[0]
    [(answered, recorded_then)] = opener.seen  # opened once: once a request had been answered, before any record
    assert answered >= 1
    assert recorded_then == (0, 0)
    assert recorded(settings.chokepoint_db) == (2, 1)
    document = summary.as_json()
    assert (document["changed"], document["failed"], document["new_items"], document["status_changes"]) == (1, 1, 1, 1)


async def test_the_requests_sent_before_the_database_opens_carry_the_validators_it_holds(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    tagged = {**RSS, "ETag": '"v1"', "Last-Modified": "Sun, 29 Nov 2026 08:00:00 GMT"}
    routes = {"/feed": sequence(Response(200, feed(TIGHTENING), tagged), Response(304, "", tagged))}
    async with LoopbackServer(routes) as server:
        for _ in range(2):
            summary, _, _ = await check_with(settings, server, [official("feed", server.url("/feed"))])
    first, second = server.requests_to("/feed")
    assert "if-none-match" not in first.headers
    assert (second.headers["if-none-match"], second.headers["if-modified-since"]) == (
        '"v1"',
        "Sun, 29 Nov 2026 08:00:00 GMT",
    )
    assert summary.as_json()["unchanged"] == 1


async def test_the_services_open_on_the_event_loop_after_a_body_and_on_a_thread_after_a_304(tmp_path: Path) -> None:
    """Bodies keep the event loop busy, so the loading waits its turn there; 304s leave the loop waiting on the
    network, so the loading, when a check needs it (here a source that fails), fills those waits on a thread."""
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    tagged = {**RSS, "ETag": '"v1"'}
    routes = {
        "/feed": sequence(Response(200, feed(TIGHTENING), tagged), Response(304, "", tagged)),
        "/flaky": sequence(Response(200, feed("Rates steady"), tagged), Response(500, "oops", tagged)),
    }
    openings = []
    async with LoopbackServer(routes) as server:
        sources = [official("feed", server.url("/feed")), official("flaky", server.url("/flaky"))]
        for _ in range(2):
            summary, _, opener = await check_with(settings, server, sources)
            openings.append(opener.threads)
    assert openings[0] == [threading.get_ident()]
    [elsewhere] = openings[1]
    assert elsewhere != threading.get_ident()
    assert (summary.as_json()["unchanged"], summary.as_json()["failed"]) == (1, 1)


def stored_successes(path: Path) -> dict[str, tuple[str | None, str]]:
    """Each source's last success and health, read with the standard library."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, last_success_at, health FROM sources")}


async def check_twice(settings: Settings, routes: dict[str, list[Response]], between: str = "") -> tuple[
    CheckSummary, Services | None, Opener, dict[str, tuple[str | None, str]]
]:  # fmt: skip
    """A first check (bodies), SQL run on the database between, a second check; what the second came to, and
    the sources' successes as the first left them."""
    async with LoopbackServer(routes) as server:
        sources = [official(path.strip("/"), server.url(path)) for path in routes]
        await check_with(settings, server, sources)
        if between:
            with contextlib.closing(sqlite3.connect(settings.chokepoint_db)) as db:
                db.executescript(between)
        before = stored_successes(settings.chokepoint_db)
        summary, services, opener = await check_with(settings, server, sources)
    return summary, services, opener, before


def tagged_then_not_modified(title: str) -> list[Response]:
    tagged = {**RSS, "ETag": f'"{title}"'}
    return sequence(Response(200, feed(title), tagged), Response(304, "", tagged))


async def test_a_cycle_of_304s_opens_no_services_and_records_every_success(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    routes = {"/a": tagged_then_not_modified("Rates steady"), "/b": tagged_then_not_modified("Yen weakens")}
    summary, services, opener, before = await check_twice(settings, routes)
    assert summary.as_json()["unchanged"] == 2
    assert services is None and opener.opened == []
    after = stored_successes(settings.chokepoint_db)
    assert all(after[source][0] > before[source][0] for source in ("a", "b"))  # type: ignore[operator]
    assert {health for _, health in after.values()} == {"ok"}


@pytest.mark.parametrize(
    "between",
    [
        "DELETE FROM meta",  # the bundled measures changed since they were stored (or were never marked)
        "UPDATE measures SET state = 'suspended', until = '2020-01-01' WHERE id = (SELECT min(id) FROM measures)",
    ],
    ids=["bundled measures changed", "a suspension ran out"],
)
async def test_a_cycle_of_304s_opens_the_services_when_they_have_work_of_their_own(
    tmp_path: Path, between: str
) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    routes = {"/a": tagged_then_not_modified("Rates steady")}
    summary, services, opener, _ = await check_twice(settings, routes, between)
    assert summary.as_json()["unchanged"] == 1
    assert services is not None and len(opener.opened) == 1
    with contextlib.closing(sqlite3.connect(settings.chokepoint_db)) as db:
        assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 1
        assert (
            db.execute("SELECT count(*) FROM measures WHERE until = '2020-01-01' AND state = 'suspended'").fetchone()[0]
            == 0
        )


async def test_a_source_that_was_down_recovers_through_the_services_in_a_cycle_of_304s(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db", chokepoint_admins=frozenset({42}))
    routes = {"/a": tagged_then_not_modified("Rates steady"), "/b": tagged_then_not_modified("Yen weakens")}
    down = "UPDATE sources SET health = 'down', consecutive_failures = 5 WHERE id = 'b'"
    summary, services, opener, _ = await check_twice(settings, routes, down)
    assert summary.as_json()["unchanged"] == 2
    assert services is not None and len(opener.opened) == 1
    assert {source: health for source, (_, health) in stored_successes(settings.chokepoint_db).items()} == {
        "a": "ok", "b": "ok",
    }  # fmt: skip
    with contextlib.closing(sqlite3.connect(settings.chokepoint_db)) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM alerts WHERE kind = 'admin'")]
    assert len(keys) == 1 and keys[0].startswith("source-recovered:b:")


async def test_a_new_source_among_known_ones_is_fetched_plainly_and_gets_its_row(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    tagged = {**RSS, "ETag": '"v1"'}
    routes = {
        "/known": sequence(Response(200, feed(TIGHTENING), tagged), Response(304, "", tagged)),
        "/new": Response(200, feed("Gallium exports resume to the EU"), RSS),
    }
    async with LoopbackServer(routes) as server:
        known, new = official("known", server.url("/known")), official("new", server.url("/new"))
        summaries = []
        for sources in ([known], [known, new]):
            summaries.append((await check_with(settings, server, sources))[0])
    outcomes = {report.id: (report.outcome, report.new_items) for report in summaries[1].sources}
    assert outcomes == {"known": ("unchanged", 0), "new": ("changed", 1)}
    assert "if-none-match" not in server.requests_to("/new")[0].headers
    assert recorded(settings.chokepoint_db) == (2, 2)


def test_the_first_read_finds_the_validators_and_nothing_where_there_is_no_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    assert read_before_opening(path) == FirstRead({}, upgrade_pending=False)  # no file yet: nothing is created
    assert not path.exists()
    path.write_bytes(b"")
    assert read_before_opening(path).validators == {}  # an empty file is an empty database: opening it migrates
    path.unlink()
    db = open_database(path, NOW)
    sync_sources(db, [{"id": "a", "name": "a", "kind": "rss", "url": "http://127.0.0.1/a", "every_seconds": 600}])
    db.execute("UPDATE sources SET etag = ?, last_modified = NULL WHERE id = 'a'", ['"x"'])
    db.conn.commit()
    try:
        assert read_before_opening(path) == FirstRead({"a": ('"x"', None)}, upgrade_pending=False)
    finally:
        db.close()


def test_a_database_no_check_can_use_is_refused_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"not a database at all, but long enough to have a header" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        read_before_opening(path)
    path.unlink()
    db = open_database(path, NOW)
    db.execute("INSERT INTO migrations (number, name, applied_at) VALUES (99, 'from the future', 'x')")
    db.close()
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        read_before_opening(path)


def schema_before_the_last_migration(path: Path) -> None:
    """A database as the version before the last migration left it (migration 14 moved this column to a table)."""
    db = open_database(path, NOW)
    assert schema_version() == 14, "undo the new last migration here"
    db.execute("DROP TABLE desk_reports")
    db.execute("ALTER TABLE desk_items ADD COLUMN also_reported_by TEXT NOT NULL DEFAULT '[]'")
    db.execute("DELETE FROM migrations WHERE number = ?", [schema_version()])
    db.conn.commit()
    db.close()


async def test_a_database_an_upgrade_must_migrate_opens_before_any_request(tmp_path: Path) -> None:
    """Migrations may take long: run while requests are in flight, they would eat into their deadlines."""
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    schema_before_the_last_migration(settings.chokepoint_db)
    assert read_before_opening(settings.chokepoint_db).upgrade_pending
    async with LoopbackServer({"/feed": Response(200, feed(TIGHTENING), RSS)}) as server:
        summary, _, opener = await check_with(settings, server, [official("feed", server.url("/feed"))])
    assert [answered for answered, _ in opener.seen] == [0]  # opened once, before the first request
    assert summary.as_json()["new_items"] == 1
    assert not read_before_opening(settings.chokepoint_db).upgrade_pending


async def test_a_check_of_no_source_still_opens_its_services(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    async with LoopbackServer({}) as server:
        summary, services, _ = await check_with(settings, server, [])
    assert summary.as_json()["checked"] == 0
    assert services.vocabulary.materials


async def test_services_that_cannot_load_end_the_check_and_close_its_fetcher_and_workers(tmp_path: Path) -> None:
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    open_database(settings.chokepoint_db, NOW).close()

    def broken() -> Services:
        raise DataFileError("vocabulary.yaml: the top level must be a mapping")

    async with LoopbackServer({"/feed": Response(200, feed(TIGHTENING), RSS)}) as server:
        with pytest.raises(DataFileError, match="top level must be a mapping"):
            await check_every_source(broken, [official("feed", server.url("/feed"))], settings.chokepoint_db)
    assert recorded(settings.chokepoint_db) == (0, 0)
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []


async def test_a_check_cancelled_while_its_services_open_on_a_thread_waits_for_them_to_be_opened() -> None:
    """The thread cannot be stopped: the cancellation waits for it, so that what it opened is there to close and
    nothing is closed under it."""
    release, started, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_to_open() -> Services:
        started.set()
        release.wait(timeout=30)
        finished.set()
        raise DataFileError("vocabulary.yaml: unreadable")  # whatever it came to, it is over

    gate = RecordingGate()  # no answer with a body: the services open on a thread
    opening = asyncio.create_task(_opened(slow_to_open, gate))
    assert await asyncio.to_thread(started.wait, 30)
    opening.cancel()
    await asyncio.sleep(0.05)
    assert not opening.done()  # still waiting for the thread
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert finished.is_set()


async def test_services_that_cannot_open_in_the_middle_of_a_check_end_it_with_no_check_left_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cycle of 304s records without the services; a failing source then needs them, and they cannot open."""
    settings = Settings(chokepoint_db=tmp_path / "bot.db")
    routes = {
        "/a": tagged_then_not_modified("Rates steady"),
        "/b": sequence(Response(200, feed("Yen weakens"), {**RSS, "ETag": '"b"'}), Response(500, "oops")),
    }

    def broken() -> Services:
        raise DataFileError("vocabulary.yaml: the top level must be a mapping")

    async with LoopbackServer(routes) as server:
        sources = [official(path.strip("/"), server.url(path)) for path in routes]
        await check_with(settings, server, sources)
        with pytest.raises(DataFileError, match="top level must be a mapping"):
            await check_every_source(broken, sources, settings.chokepoint_db)
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
    assert "failed while recording" not in caplog.text
