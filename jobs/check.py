"""Checking sources: fetch → parse → store new items → measure, per source, with health and backoff.

A check never raises for what a source does: every failure is recorded on that source and returned as data,
so one bad source never stops the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from bot.domain.datafiles import JsonObject
from jobs.fetch import Fetcher, FetchResult, Validators
from jobs.parse import ParsedItem, ParseError, items_fingerprint
from jobs.reading import Reading, read_source
from jobs.sources import SourceSpec
from storage.connections import Transactional
from storage.items import insert_new_items
from storage.rows import Row
from storage.sources import (
    IDENTITY,
    QuietSuccess,
    SourceHealth,
    down_among,
    get_source,
    record_failure,
    record_quiet_successes,
    record_success,
    sources_by_id,
    sync_sources,
)

if TYPE_CHECKING:
    from bot.domain.measure import Measurement
    from storage.database import Database

logger = logging.getLogger(__name__)

Outcome = Literal["unchanged", "changed", "failed"]
HealthEvent = Literal["down", "recovered"]  # what the admins are told of a source
QUIET_BATCH_SECONDS = 0.01  # how long a quiet success waits for others to share its transaction


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When a source counts as down, and how far its checks back off while it fails."""

    down_after: int = 5  # consecutive failures
    max_backoff: dt.timedelta = dt.timedelta(days=1)
    # On a source's first check, and for items this old, items are recorded but move no status:
    # a feed's back catalogue is not news.
    fresh_for: dt.timedelta = dt.timedelta(days=3)
    # An item dated further ahead than this counts as undated: a wrong clock or a placeholder, not news to trust.
    ahead_at_most: dt.timedelta = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class NewItem:
    """A stored item handed to measuring, with what measuring needs to know of its source."""

    id: int
    source: SourceSpec
    title: str
    summary: str
    link: str | None
    published: dt.datetime | None
    fresh: bool  # False: recorded only, moves no status
    measurement: Measurement | None = None  # what the reader made of it, where measuring ran there


class ItemSink(Protocol):
    """What happens to new items inside the source's transaction: measuring, moving statuses, raising alerts.

    Returns the number of status changes made.
    """

    def __call__(self, db: Database, items: Sequence[NewItem], now: dt.datetime) -> int: ...


class HealthSink(Protocol):
    """Told when a source goes down or recovers, inside the transaction that records it."""

    def __call__(self, db: Database, source: SourceSpec, event: HealthEvent, detail: str, now: dt.datetime) -> None: ...


Reader = Callable[[SourceSpec, str, str], Awaitable[list[Reading]]]


async def read_inline(source: SourceSpec, text: str, base_url: str) -> list[Reading]:
    """Parse on the event loop: for tests and one-off checks of a few sources."""
    return read_source(source, text, base_url)


def keep_items(db: Database, items: Sequence[NewItem], now: dt.datetime) -> int:
    """The sink that only stores: no measuring."""
    return 0


def ignore_health(db: Database, source: SourceSpec, event: HealthEvent, detail: str, now: dt.datetime) -> None:
    """The health sink that tells no one."""


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one source's check came to."""

    id: str
    outcome: Outcome
    new_items: int = 0
    status_changes: int = 0
    error: str | None = None

    def as_json(self) -> JsonObject:
        """The per-source object of `check --json`."""
        return {"id": self.id, "outcome": self.outcome, "new_items": self.new_items, "error": self.error}


@dataclass(slots=True)
class CheckSummary:
    """The summary of one check of many sources."""

    sources: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        """How many sources came to this outcome."""
        return sum(1 for report in self.sources if report.outcome == outcome)

    def as_json(self) -> JsonObject:
        """The `check --json` shape of docs/ARCHITECTURE.md."""
        return {
            "checked": len(self.sources),
            "unchanged": self.count("unchanged"),
            "changed": self.count("changed"),
            "failed": self.count("failed"),
            "new_items": sum(report.new_items for report in self.sources),
            "status_changes": sum(report.status_changes for report in self.sources),
            "seconds": round(self.seconds, 3),
            "sources": [report.as_json() for report in self.sources],
        }


def backoff(every_seconds: int, failures: int, cap: dt.timedelta) -> dt.timedelta:
    """How long to wait after `failures` consecutive failures: the interval, doubling, capped."""
    return min(dt.timedelta(seconds=every_seconds * 2 ** max(0, failures - 1)), cap)


def health_after_failure(failures: int, policy: HealthPolicy) -> SourceHealth:
    """'degraded' after a failure, 'down' after `down_after` in a row."""
    return "down" if failures >= policy.down_after else "degraded"


def _fresh(published: dt.datetime | None, first_check: bool, now: dt.datetime, policy: HealthPolicy) -> bool:
    if published is not None and published <= now + policy.ahead_at_most:
        return published >= now - policy.fresh_for
    return not first_check  # undated, or dated in the future: on a first check it is back catalogue


def body_digest(result: FetchResult) -> bytes:
    """A digest of a fetched body and the address it came from (links are resolved against that)."""
    digest = hashlib.blake2b(result.text.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(result.final_url.encode("utf-8", "surrogatepass"))
    return digest.digest()


def _item_row(item: ParsedItem) -> Row:
    published = item.published.isoformat() if item.published else None
    return {
        "guid": item.guid,
        "title": item.title,
        "summary": item.summary,
        "link": item.link,
        "published_at": published,
    }


@dataclass(frozen=True, slots=True)
class _QuietCheck:
    """A check with nothing new to store, waiting to be recorded with the others of its turn of the event loop."""

    source: SourceSpec
    success: QuietSuccess
    recorded: asyncio.Future[SourceReport | None]  # None: to be recorded through the services (it was down)


class ServicesFailed(Exception):
    """The services a recording waited for could not open: the check of every source ends with ERROR."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class RecordingGate:
    """Where a checker's checks wait to record, each once it has fetched and read its body, until the gate opens.

    A one-shot check opens its database and loads what its sinks need (~0.1 s) only once its first answer has
    arrived: its requests went out first, and the loading overlaps the wait for the rest and the reading worker's
    work on the bodies already in (bot/watching.py, `check_every_source`). Whether that first answer carried a
    body tells the check where to load (a cycle of bodies keeps the event loop busy; one of 304s leaves it
    waiting on the network)."""

    def __init__(self) -> None:
        self._reached = asyncio.Event()
        self._open = asyncio.Event()
        self.first_had_body = False

    async def reached(self) -> None:
        """Return once a check has its answer (or its failure): by then every request that could go at once has
        gone."""
        await self._reached.wait()

    def answered(self, result: FetchResult) -> None:
        """A check has its answer, and goes on to read it before it waits here."""
        if not self._reached.is_set():
            self.first_had_body = result.outcome == "fetched"
        self._reached.set()

    async def passed(self) -> None:
        """Wait here until the gate opens."""
        self._reached.set()
        await self._open.wait()

    def open(self) -> None:
        """Let every check waiting here, and every later one, record."""
        self._open.set()


class _UnderWay:
    """How many checks are under way on the event loop that runs them, begun or yet to begin: once every one of
    them waits to be recorded as a quiet success, none is left to join them. Counted for one loop at a time: the
    checks of a loop that ended without them never end, and a new loop starts the count again."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.count = 0

    def add(self, loop: asyncio.AbstractEventLoop, checks: int = 1) -> None:
        if loop is not self.loop:
            self.loop, self.count = loop, 0
        self.count += checks

    def ended(self, loop: asyncio.AbstractEventLoop, checks: int = 1) -> None:
        if loop is self.loop:  # not a check of a loop gone, ended as its coroutine is collected
            self.count -= checks


class Checker:
    """Checks sources through one fetcher into one database, handing new items to a sink."""

    def __init__(
        self,
        db: Database | None,
        fetcher: Fetcher,
        *,
        sink: ItemSink = keep_items,
        on_health: HealthSink = ignore_health,
        parse: Reader = read_inline,
        notify: Callable[[], None] = lambda: None,
        policy: HealthPolicy | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        gate: RecordingGate | None = None,
        quiet_wait: float = QUIET_BATCH_SECONDS,
    ) -> None:
        """GATE: checks fetch at once, but record nothing until `start_recording` gives the sinks and opens it.
        DB: None for a checker with a gate whose database opens while its first requests are out; its checks
        then fetch with the validators `check_all` is given, and `start_recording` gives the database.
        QUIET_WAIT: seconds a quiet success waits for others to share its transaction (`_succeeded_quietly`)."""
        self._db = db
        self.fetcher = fetcher
        self.sink = sink
        self.parse = parse
        self.notify = notify  # told after a commit that raised alerts: delivery wakes at once
        self.on_health = on_health
        self.policy = policy or HealthPolicy()
        self.clock = clock
        # The digest of each source's last body read and stored: the same body again is not parsed again.
        self._bodies: dict[str, bytes] = {}
        self._gate = gate
        self._unregistered: list[SourceSpec] = []  # checked before the database was open: rows still to make
        # The rows of the sources checked before the database was open, read with one statement when the first of
        # them needs its row (a body to compare with the last one kept): a cycle of 304s reads none. Each source's
        # own check is the only one that changes its row, so a row read late is still the one its check found.
        self._rows_at_opening: dict[str, Row] | None = None
        self._rows_to_read = False
        self._quiet: list[_QuietCheck] = []  # quiet successes waiting to be recorded together
        self._quiet_wait = quiet_wait
        self._under_way = _UnderWay()
        self._quiet_timer: asyncio.TimerHandle | None = None  # when they will be
        self._quiet_loop: asyncio.AbstractEventLoop | None = None  # the loop of that timer
        # Before the services open (`start_recording_quietly`): where quiet successes are recorded, and what opens
        # the services for any other recording.
        self._plain_db: Transactional | None = None
        self._want_services: Callable[[], Awaitable[None]] | None = None

    @property
    def db(self) -> Database:
        """The database the checks record into."""
        if self._db is None:
            raise RuntimeError("this checker records only once start_recording has given it its database")
        return self._db

    def start_recording(self, sink: ItemSink, on_health: HealthSink, db: Database | None = None) -> None:
        """Record from now on, into these sinks and DB if given (a checker with a gate waits for this)."""
        if db is not None:
            self._db = db
        self._make_rows(self.db)
        self.sink, self.on_health = sink, on_health
        if self._gate is not None:
            self._gate.open()

    def start_recording_quietly(self, db: Transactional, want_services: Callable[[], Awaitable[None]]) -> None:
        """Record the checks that found nothing new into DB from now on, and open the gate. Any other recording
        (new items, a failure, a source that was down recovering) first awaits WANT_SERVICES, which opens the
        services and gives them with `start_recording` (bot/watching.py, `check_every_source`)."""
        self._plain_db, self._want_services = db, want_services
        self._make_rows(db)
        if self._gate is not None:
            self._gate.open()

    def _make_rows(self, db: Transactional) -> None:
        """Make the rows of the sources checked before the database was open."""
        if self._unregistered:
            self.register(self._unregistered, db)
            self._unregistered = []
            self._rows_to_read = True

    def register(self, sources: Iterable[SourceSpec], db: Transactional | None = None) -> None:
        """Make sure every source has its row."""
        into = db or self.db
        with into.atomic():
            sync_sources(into, ({key: getattr(source, key) for key in IDENTITY} for source in sources))

    async def _services(self) -> None:
        """Make sure the services are open, for a recording that needs more than the quiet ones."""
        if self._db is None and self._want_services is not None:
            try:
                await self._want_services()
            except Exception as error:  # no source's fault: it ends the check (`check_all`)
                raise ServicesFailed(error) from error

    def _recording_db(self) -> Transactional:
        """Where quiet successes are recorded: the services' database, else the plain one."""
        if self._db is not None:
            return self._db
        if self._plain_db is not None:
            return self._plain_db
        return self.db  # raises: nothing to record into yet

    async def check_all(
        self,
        sources: Sequence[SourceSpec],
        on_checked: Callable[[SourceReport], None] | None = None,
        known: Mapping[str, Validators] | None = None,
    ) -> CheckSummary:
        """Check every source now, concurrently (the fetcher bounds the concurrency); `on_checked` hears of each
        source as its check ends (a progress bar). KNOWN: each source's validators, for a checker whose database
        is not open yet (`read_before_opening`); their rows are made once it is (`start_recording`)."""
        started = time.monotonic()
        if self._db is None:
            self._unregistered = list(sources)
        else:
            self.register(sources)
        loop = asyncio.get_running_loop()
        begun: list[SourceSpec] = []  # each check counts itself out as it ends; those cancelled first, here
        checks = [asyncio.ensure_future(self._check_and_tell(source, on_checked, known, begun)) for source in sources]
        self._under_way.add(loop, len(checks))
        try:
            reports = await asyncio.gather(*checks)
        except BaseException as ended:
            for check in checks:  # what ends one check ends them all: none goes on once its caller has gone
                check.cancel()
            await asyncio.gather(*checks, return_exceptions=True)
            self._under_way.ended(loop, len(checks) - len(begun))
            if isinstance(ended, ServicesFailed):
                raise ended.error from None
            raise
        return CheckSummary(list(reports), time.monotonic() - started)

    async def _check_and_tell(
        self,
        source: SourceSpec,
        on_checked: Callable[[SourceReport], None] | None,
        known: Mapping[str, Validators] | None,
        begun: list[SourceSpec],
    ) -> SourceReport:
        begun.append(source)
        loop = asyncio.get_running_loop()
        try:
            report = await self._check(source, known)
        finally:
            self._under_way.ended(loop)
        if on_checked is not None:
            on_checked(report)
        return report

    async def check(self, source: SourceSpec, known: Mapping[str, Validators] | None = None) -> SourceReport:
        """Check one source; never raises for what the source does. KNOWN: as for `check_all`."""
        loop = asyncio.get_running_loop()
        self._under_way.add(loop)
        try:
            return await self._check(source, known)
        finally:
            self._under_way.ended(loop)

    async def _check(self, source: SourceSpec, known: Mapping[str, Validators] | None) -> SourceReport:
        started = self.clock()  # the next check is due an interval after this one started
        row, validators = self._stored_state(source, known)
        # A bug of ours on one source must not stop the others (a check of many is one gather): it is logged with
        # its traceback and the source fails.
        try:
            result = await self.fetcher.fetch(source.url, validators, allow_private=source.allow_private)
        except Exception:
            logger.exception("check of %s failed while fetching", source.id)
            result = FetchResult("failed", source.url, source.url, None, error="internal error while fetching (logged)")
        # Read before the gate: reading needs no database, so a one-shot check's worker reads its first bodies while
        # the check opens its database and loads its knowledge.
        if self._gate is not None:
            self._gate.answered(result)
        try:
            read = await self._read(source, result)
        except Exception:
            logger.exception("check of %s failed while reading", source.id)
            read = ParseError("internal error while reading (logged)")
        if self._gate is not None:
            await self._gate.passed()
        try:
            if known is not None and isinstance(read, list):  # its row was not read before the fetch
                row = self._row_at_opening(source.id)
            return await self._record(source, row, result, read, started)
        except ServicesFailed:
            raise
        except Exception:
            logger.exception("check of %s failed while recording", source.id)
            await self._services()
            return self._failed(source, "internal error while recording (logged)", started)

    def _row_at_opening(self, source_id: str) -> Row | None:
        """A source's row, of those read once for the checks that waited at the gate (read alone for a source that
        is not among them: a checker with no gate, or a source new since)."""
        if self._rows_to_read:
            self._rows_at_opening, self._rows_to_read = sources_by_id(self._recording_db()), False
        if self._rows_at_opening is not None and source_id in self._rows_at_opening:
            return self._rows_at_opening[source_id]
        return get_source(self._recording_db(), source_id)

    def _stored_state(
        self, source: SourceSpec, known: Mapping[str, Validators] | None
    ) -> tuple[Row | None, Validators]:
        """The source's row (made if it is new) and the validators to fetch it with; from KNOWN alone when given."""
        if known is not None:
            return None, known.get(source.id, Validators())
        row = get_source(self.db, source.id)
        if row is None:
            self.register([source])
        return row, Validators(row["etag"], row["last_modified"]) if row else Validators()

    async def _read(self, source: SourceSpec, result: FetchResult) -> list[Reading] | ParseError | None:
        """The readings of a fetched body, or why it could not be read; None when there is nothing to read (a
        failure, a 304, or the very body read and stored last time)."""
        if result.outcome != "fetched" or self._bodies.get(source.id) == body_digest(result):
            return None
        try:
            return await self.parse(source, result.text, result.final_url)
        except ParseError as error:
            return error

    async def _record(
        self,
        source: SourceSpec,
        row: Row | None,
        result: FetchResult,
        read: list[Reading] | ParseError | None,
        started: dt.datetime,
    ) -> SourceReport:
        if read is None and result.outcome != "failed":
            return await self._succeeded_quietly(source, result, None, started)
        fingerprint = items_fingerprint([reading.item for reading in read]) if isinstance(read, list) else None
        if fingerprint is not None and row is not None and row["fingerprint"] == fingerprint:
            report = await self._succeeded_quietly(source, result, fingerprint, started)
            self._bodies[source.id] = body_digest(result)
            return report
        await self._services()
        if result.outcome == "failed":
            return self._failed(source, result.error or "failed", started)
        if not isinstance(read, list):
            return self._failed(source, str(read), started)
        report = self._succeeded(source, result, fingerprint, read, started)
        self._bodies[source.id] = body_digest(result)  # only once its items are stored: a failed recording reads again
        return report

    def _succeeded(
        self,
        source: SourceSpec,
        result: FetchResult,
        fingerprint: str | None,
        readings: list[Reading],
        started: dt.datetime,
    ) -> SourceReport:
        if self._quiet:
            self._record_quiet()  # answered before this one: recorded before it
        now = self.clock()
        with self.db.atomic():
            before = get_source(self.db, source.id)
            first_check = before is None or before["last_success_at"] is None
            rows = (_item_row(reading.item) for reading in readings)
            stored = insert_new_items(self.db, source.id, rows, now.isoformat())
            notes = {reading.item.guid: reading.measurement for reading in readings}
            new = self._new_items(source, stored, notes, first_check, now)
            changes = self.sink(self.db, new, now) if stored else 0
            record_success(
                self.db, source.id, now=now.isoformat(),
                next_check_at=(started + dt.timedelta(seconds=source.every_seconds)).isoformat(),
                etag=result.validators.etag, last_modified=result.validators.last_modified,
                fingerprint=fingerprint, new_items=len(stored),
            )  # fmt: skip
            recovered = before is not None and before["health"] == "down"
            if recovered:
                detail = f"back after {before['consecutive_failures']} failures"  # type: ignore[index]
                self.on_health(self.db, source, "recovered", detail, now)
        if changes or recovered:
            self.notify()
        outcome: Outcome = "changed" if stored else "unchanged"
        return SourceReport(source.id, outcome, len(stored), changes)

    async def _succeeded_quietly(
        self, source: SourceSpec, result: FetchResult, fingerprint: str | None, started: dt.datetime
    ) -> SourceReport:
        """A success with nothing new to store (a 304, or the same items again), recorded with the others that end
        within the checker's quiet wait (QUIET_BATCH_SECONDS) of it: one transaction for them all instead of one
        each. A warm check of 1,000 sources spent ~60 ms of its CPU on those transactions and on reading each
        source's row again; batched per turn of the event loop, about four checks shared one, and the gain was a
        quarter of that. Once every check under way waits, none is left to join them, and they are recorded at
        once (the last of a cycle waited the whole 10 ms). A check that is cancelled while it waits is recorded at
        once, as one recorded alone was: it has its answer."""
        loop = asyncio.get_running_loop()
        next_check_at = (started + dt.timedelta(seconds=source.every_seconds)).isoformat()
        validators = result.validators
        success = QuietSuccess(source.id, next_check_at, validators.etag, validators.last_modified, fingerprint)
        check = _QuietCheck(source, success, loop.create_future())
        self._quiet.append(check)
        if len(self._quiet) >= self._under_way.count:  # every check under way waits here: none is left to join them
            self._record_quiet()
        elif self._quiet_timer is None or self._quiet_loop is not loop:  # none yet, or one of a loop now gone
            self._quiet_timer, self._quiet_loop = loop.call_later(self._quiet_wait, self._record_quiet), loop
        try:
            report = await asyncio.shield(check.recorded)
        except asyncio.CancelledError:
            self._record_quiet()
            problem = check.recorded.exception() if check.recorded.done() else None
            if problem is not None:
                logger.warning("check of %s cancelled, and its success could not be recorded: %s", source.id, problem)
            raise
        if report is None:  # it was down: the admins hear of its recovery through the services
            await self._services()
            [report] = self._record_quiet_together([check])
            assert report is not None  # with the services open, no source is left out
        return report

    def _record_quiet(self) -> None:
        """Record the quiet successes waiting in one transaction; should that fail, each on its own, so that one
        source's trouble stays that source's. Called when the wait is over, and before any other recording, so
        that what was answered first is recorded first (a scheduled check and /check may meet on one source)."""
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None
        loop = asyncio.get_running_loop()
        waiting = [check for check in self._quiet if check.recorded.get_loop() is loop and not check.recorded.done()]
        self._quiet = []  # a check of a loop that has ended will never be awaited again
        if not waiting:
            return
        try:
            reports = self._record_quiet_together(waiting)
        except Exception:
            logger.warning(
                "recording %d quiet checks together failed; recording each alone", len(waiting), exc_info=True
            )
            for check in waiting:
                self._record_quiet_alone(check)
            return
        for check, report in zip(waiting, reports, strict=True):
            check.recorded.set_result(report)

    def _record_quiet_together(self, waiting: Sequence[_QuietCheck]) -> list[SourceReport | None]:
        """Each check's report, recorded in one transaction; None for a source that was down, left out while the
        services are not open: the admins hear of its recovery through them."""
        now = self.clock()
        db = self._recording_db()
        with db.atomic():
            down = down_among(db, [check.source.id for check in waiting])
            left_out = set(down) if self._db is None else set()
            recording = [check for check in waiting if check.source.id not in left_out]
            record_quiet_successes(db, [check.success for check in recording], now.isoformat())
            recovered: dict[str, _QuietCheck] = {}  # a source checked twice recovers once, as two transactions did
            for check in recording:
                if check.source.id in down:
                    recovered.setdefault(check.source.id, check)
            for source_id, check in recovered.items():
                detail = f"back after {down[source_id]} failures"
                self.on_health(self.db, check.source, "recovered", detail, now)
        if recovered:
            self.notify()
        return [
            None if check.source.id in left_out else SourceReport(check.source.id, "unchanged") for check in waiting
        ]

    def _record_quiet_alone(self, check: _QuietCheck) -> None:
        """One quiet success in its own transaction; what fails reaches the check, which records the failure."""
        try:
            [report] = self._record_quiet_together([check])
        except Exception as error:
            check.recorded.set_exception(error)
        else:
            check.recorded.set_result(report)

    def _new_items(
        self,
        source: SourceSpec,
        stored: list[Row],
        notes: Mapping[str, Measurement | None],
        first_check: bool,
        now: dt.datetime,
    ) -> list[NewItem]:
        items = []
        for row in stored:
            published = dt.datetime.fromisoformat(row["published_at"]) if row["published_at"] else None
            fresh = _fresh(published, first_check, now, self.policy)
            item = NewItem(
                row["id"], source, row["title"], row["summary"], row["link"], published, fresh, notes.get(row["guid"])
            )
            items.append(item)
        return items

    def _failed(self, source: SourceSpec, error: str, started: dt.datetime) -> SourceReport:
        if self._quiet:
            self._record_quiet()  # answered before this one: recorded before it
        now = self.clock()
        with self.db.atomic():
            before = get_source(self.db, source.id)
            failures = (before["consecutive_failures"] if before else 0) + 1
            health = health_after_failure(failures, self.policy)
            delay = backoff(source.every_seconds, failures, self.policy.max_backoff)
            record_failure(self.db, source.id, now=now.isoformat(), next_check_at=(started + delay).isoformat(),
                           error=error[:200], health=health)  # fmt: skip
            went_down = health == "down" and (before is None or before["health"] != "down")
            if went_down:
                self.on_health(self.db, source, "down", error, now)
        if went_down:
            self.notify()
        logger.warning("source %s failed (%d in a row): %s", source.id, failures, error)
        return SourceReport(source.id, "failed", error=error[:200])
