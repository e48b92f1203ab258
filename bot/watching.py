"""Wiring of the checks: the sources, one fetcher, the parser workers, the checker and their schedule."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.clock import utc_now
from bot.domain.datafiles import bundle_digest
from jobs.check import Checker, CheckSummary, HealthSink, ItemSink, RecordingGate, SourceReport
from jobs.fetch import Fetcher, Validators
from jobs.lane import ReadingLane
from jobs.reading import measure_in_worker
from jobs.sources import SourceSpec, bundled_sources_path, check_issuers, load_sources
from jobs.workers import ParserPool
from storage.connections import PlainDatabase, Transactional
from storage.heartbeats import CHECK
from storage.measures import a_suspension_has_run_out
from storage.meta import BUNDLE_KEY, read_meta
from storage.sources import get_source, list_sources, read_before_opening

if TYPE_CHECKING:  # the scheduler is for `run` only: a one-shot `check` starts faster without importing it
    from apscheduler.schedulers.base import BaseScheduler

    from bot.domain.vocab import Vocabulary
    from handlers.context import Services
    from storage.database import Database

logger = logging.getLogger(__name__)


@dataclass
class Watch:
    """What checking runs on, opened together and closed together."""

    sources: list[SourceSpec]
    fetcher: Fetcher
    pool: ParserPool
    checker: Checker

    async def close(self) -> None:
        """Close the HTTP client and stop the parser workers."""
        await self.fetcher.aclose()
        await self.pool.aclose()


def watched_sources_known(configured: Path | None, database: Path | None, vocabulary: Vocabulary) -> list[SourceSpec]:
    """The sources to watch, each issuer a country the vocabulary knows (`check_issuers`): what the bot starts with."""
    sources = load_watched_sources(configured, database)
    check_issuers(sources_path(configured), sources, vocabulary)
    return sources


def sources_path(configured: Path | None) -> Path:
    """CHOKEPOINT_SOURCES, or the bundled file."""
    return configured or bundled_sources_path()


def open_watch(
    services: Services,
    sources: list[SourceSpec],
    notify: Callable[[], None] = lambda: None,
    lane: ReadingLane | None = None,
) -> Watch:
    """A fetcher, parser workers and a checker over the services' database, measuring what it finds."""
    watch = _watch_over(services.db, sources, notify=notify, lane=lane, clock=services.clock)
    watch.checker.start_recording(*_sinks(services))
    return watch  # each check registers its sources; the schedule does too


async def check_every_source(
    open_services: Callable[[], Services],
    sources: list[SourceSpec],
    database: Path,
    *,
    on_checked: Callable[[SourceReport], None] | None = None,
    lane: ReadingLane | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> tuple[CheckSummary, Services | None]:
    """One check of every source that sends its requests before it opens the database and loads the knowledge and
    the measuring: the requests go with the validators read from DATABASE by the standard library alone (which
    refuses a database no check can use), and OPEN_SERVICES (~0.1 s: sqlite-utils, the migrations, the
    vocabulary and the data files) runs once the first answer arrives, while the others are on their way; no
    source records anything before it has. A database an upgrade has migrations for opens first instead: those may
    take long, and the requests' deadlines would run meanwhile.

    Where the first answer carries no body (a 304, a failure) and the database is there, the checks that find
    nothing new record through the standard library alone, and the services open only when a check needs them
    (new items, a failure, a source that was down recovering) or when they have work of their own (bundled
    measures not stored yet, a suspension that ran out): a cycle of 304s opens none. The services come back, or
    None when none were opened. What it raises ends the check; the caller closes the database that OPEN_SERVICES
    opened."""
    first = read_before_opening(database)
    opened_first = open_services() if first.upgrade_pending else None
    known = {source_id: Validators(*validators) for source_id, validators in first.validators.items()}
    gate = RecordingGate()
    watch = _watch_over(None, sources, lane=lane, gate=gate)
    checking = asyncio.create_task(watch.checker.check_all(sources, on_checked, known))
    services = _OnDemand(open_services, watch.checker, gate, opened_first)
    plain: PlainDatabase | None = None
    try:
        await _first_answer(checking, gate)
        if checking.done():
            checking.result()  # a check that failed outright raises here
        if opened_first is None and not gate.first_had_body and first.validators:
            plain = PlainDatabase(database)
            watch.checker.start_recording_quietly(plain, services.wanted)
        else:
            await services.wanted()
        summary = await checking
        if plain is not None and services.opened is None and _upkeep_due(plain, clock()):
            await services.wanted()
    finally:
        if not checking.done():
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
        await services.settle()
        await watch.close()
        if plain is not None:
            plain.close()
    return summary, services.opened


def _upkeep_due(db: Transactional, now: dt.datetime) -> bool:
    """Whether the services have work of their own: the bundled measures are not those last stored, or a
    suspension has run out (`load_services` stores the one and announces the other)."""
    return read_meta(db, BUNDLE_KEY) != bundle_digest() or a_suspension_has_run_out(db, now.date().isoformat())


class _OnDemand:
    """The services of a check of every source, opened once, by whichever needs them first."""

    def __init__(
        self, open_services: Callable[[], Services], checker: Checker, gate: RecordingGate, opened: Services | None
    ) -> None:
        self._open_services, self._checker, self._gate, self._first = open_services, checker, gate, opened
        self._opening: asyncio.Task[None] | None = None
        self.opened: Services | None = None

    async def wanted(self) -> None:
        """Open the services and start recording into them, unless that is done or under way; wait for it."""
        if self._opening is None:
            self._opening = asyncio.create_task(self._open())
        await asyncio.shield(self._opening)  # one check cancelled does not stop the opening the others wait for

    async def _open(self) -> None:
        services = self._first or await _opened(self._open_services, self._gate)
        self.opened = services
        self._checker.start_recording(*_sinks(services), db=services.db)

    async def settle(self) -> None:
        """Let an opening under way end (cancelled; it waits for its thread), so that what it opened is there to
        close."""
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._opening


async def _opened(open_services: Callable[[], Services], gate: RecordingGate) -> Services:
    """The services, opened where they cost the check least. After a first answer with a body, on this thread:
    bodies keep the event loop busy shipping them to the reading worker, and a loading thread would share the
    interpreter with it (a cold check of 1,000 sources took ~0.04 s longer, its gate open later). After one
    without (a 304, a failure), on a thread of their own (not the loop's default executor, where the address
    lookups of the requests queue): the loop mostly waits on the network, and the loading fills those waits
    instead of holding up the answers that arrive meanwhile (a warm check of 1,000 took ~0.045 s less)."""
    if gate.first_had_body:
        return open_services()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-services") as executor:
        opening = asyncio.get_running_loop().run_in_executor(executor, open_services)
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The thread cannot be stopped: let it finish, so that what it opened is there for the caller to
            # close, and nothing is closed under it.
            await asyncio.wait([opening])
            if not opening.cancelled() and opening.exception() is not None:
                logger.warning("opening the services failed after the check was cancelled: %s", opening.exception())
            raise


async def _first_answer(checking: asyncio.Task[CheckSummary], gate: RecordingGate) -> None:
    """Return once a source's fetch is done (its answer, or its failure) and it waits to record; or once the check
    is over, when there was no source to wait for. Every request that could go at once has gone by then."""
    reached = asyncio.create_task(gate.reached())
    try:
        await asyncio.wait([checking, reached], return_when=asyncio.FIRST_COMPLETED)
    finally:
        reached.cancel()


def _watch_over(
    db: Database | None,
    sources: list[SourceSpec],
    *,
    notify: Callable[[], None] = lambda: None,
    lane: ReadingLane | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    gate: RecordingGate | None = None,
) -> Watch:
    """The fetcher, the parser workers and a checker over DB (None: `start_recording` gives it, with the sinks)."""
    fetcher = Fetcher()
    pool = ParserPool(annotate=measure_in_worker, lane=lane or ReadingLane(measure_in_worker))
    checker = Checker(db, fetcher, parse=pool, notify=notify, clock=clock, gate=gate)
    return Watch(sources, fetcher, pool, checker)


def _sinks(services: Services) -> tuple[ItemSink, HealthSink]:
    """What a check records into: the measuring of new items, and the admins' word of a source's health."""
    from bot.domain.rules import load_rules  # the measuring modules: ~40 ms of imports a check needs only here
    from bot.services import alert_context
    from jobs.pipeline import MeasuringSink, RulesOnFirstUse, SourceHealthAlerts

    rules = RulesOnFirstUse(lambda: load_rules(services.vocabulary))
    return MeasuringSink(rules, alert_context(services)), SourceHealthAlerts(services.admins)


def summary_lines(summary: CheckSummary) -> list[str]:
    """A check's summary for people: the totals, then each source that changed or failed."""
    from bot.domain.html import counted  # here: a check that prints JSON goes without it

    totals = summary.as_json()
    lines = [
        f"Checked {counted(totals['checked'], 'source')} in {totals['seconds']:.1f} s: "
        f"{totals['unchanged']} unchanged, {totals['changed']} changed, {totals['failed']} failed; "
        f"{counted(totals['new_items'], 'new item')}, {counted(totals['status_changes'], 'status change')}."
    ]
    for report in summary.sources:
        if report.outcome == "failed":
            lines.append(f"  ✗ {report.id}: {report.error}")
        elif report.outcome == "changed":
            lines.append(f"  + {report.id}: {counted(report.new_items, 'new item')}")
    return lines


async def check_now(watch: Watch, ids: Sequence[str] | None) -> list[str]:
    """Check these sources (or all) now, whatever their schedule; the summary for the chat."""
    chosen = [source for source in watch.sources if ids is None or source.id in ids]
    return summary_lines(await watch.checker.check_all(chosen))


def start_checks(watch: Watch, scheduler: BaseScheduler, services: Services) -> None:
    """One job per source; each checks only when the database says it is due (not backing off)."""
    from bot.heartbeat import heartbeat  # it imports the Telegram library, which `check` does without
    from jobs.schedule import schedule_checks, should_run

    watch.checker.register(watch.sources)  # a new source has its row before the schedule reads when it is due
    next_checks = {row["id"]: row["next_check_at"] for row in list_sources(services.db)}

    beat = heartbeat(services, CHECK)

    async def run(source: SourceSpec) -> None:
        if should_run(get_source(services.db, source.id), services.clock(), source.every_seconds):
            await watch.checker.check(source)
            beat()

    schedule_checks(scheduler, watch.sources, next_checks, run, services.clock())
    logger.info("scheduled %d sources", len(watch.sources))


def load_watched_sources(configured: Path | None, database: Path | None = None) -> list[SourceSpec]:
    """The sources to watch; SourcesFileError names file, source and key. DATABASE: the bot's, beside which the
    parsed sources file is kept (`sources_cache_path`)."""
    return load_sources(sources_path(configured), sources_cache_path(database) if database else None)


def sources_cache_path(database: Path) -> Path | None:
    """Where the document of the last sources file read is kept: beside the database, as its lock file is; none
    for a database in memory."""
    if str(database) == ":memory:":
        return None
    return database.with_name(f"{database.name}.sources.json")
