"""Parser worker processes: each parse has a deadline, a stuck worker is killed and replaced, a dead one too.

A parse of hostile markup may take minutes (an HTML engine is quadratic in nesting depth, feedparser on deep
XML worse), so what may be slow runs here, never on the event loop: a worker past the deadline is killed, the
source fails with "parse took too long", and a fresh worker takes its place. A worker that died (the OOM
killer, a crash) is replaced and the parse tried once more on the new one. Workers exit when the process that
started them dies, and closing the pool ends them within seconds whatever they are parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from jobs.lane import ReadingLane, answer, exit_with_parent
from jobs.parse import ParseError, SlowPath
from jobs.reading import Reading, read_source, unpack
from jobs.sources import SourceSpec

if TYPE_CHECKING:
    from jobs.reading import Annotate

logger = logging.getLogger(__name__)

DEADLINE = 20.0  # seconds one parse may take
START_TIMEOUT = 60.0  # seconds a new worker may take to import what it needs, before the deadline counts
_STOP_GRACE = 1.0  # seconds a worker has to exit when asked, before it is killed
_READY = ("ready", None)


class WorkerDied(Exception):
    """The worker process ended before it answered."""


@dataclass(slots=True, eq=False)  # compared and hashed by identity
class _Worker:
    """One worker process and our end of its pipe."""

    process: BaseProcess
    connection: Connection
    ready: bool = False  # it said so once its imports were done


class ParserPool:
    """Parse (and annotate) in worker processes, each parse bounded by a deadline. Workers start when needed; the
    reading lane, when given, takes the fast path's bodies and closes with the pool."""

    def __init__(
        self,
        workers: int = 2,
        annotate: Annotate | None = None,
        deadline: float = DEADLINE,
        lane: ReadingLane | None = None,
    ) -> None:
        self._size = workers
        self._lane = lane
        self._annotate = annotate  # a module-level function: it travels to the workers by name
        self._deadline = deadline
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def __call__(self, source: SourceSpec, text: str, base_url: str) -> list[Reading]:
        """Read a body: in the reading lane or here when that is quick and bounded, else in a worker.

        Feeds that lxml reads, and JSON, take the fast path: bounded (libxml2 and the JSON reader are linear and
        refuse deep nesting, markup is stripped in one linear pass, entries are capped), so it may run here. It
        runs in the reading lane's worker beside the event loop (jobs/lane.py, under its own deadline) or, when
        the lane does not take the body, here. HTML pages and feeds that only feedparser reads go to a pool
        worker, under the deadline.
        """
        try:
            readings = await self._lane.read(source, text, base_url) if self._lane else None
            return read_source(source, text, base_url, slow=False) if readings is None else readings
        except SlowPath:
            return await self.in_worker(source, text, base_url)

    async def in_worker(self, source: SourceSpec, text: str, base_url: str) -> list[Reading]:
        """Read in a worker; ParseError as raised there, or for a parse past the deadline or a worker lost twice."""
        async with self._slot():
            worker = self._take()
            try:
                return await self._ask(worker, (source, text, base_url))
            except WorkerDied:
                logger.warning("a parser worker died while reading %s; trying once more on a new one", source.id)
            worker = self._take()
            try:
                return await self._ask(worker, (source, text, base_url))
            except WorkerDied:
                raise ParseError("the parser worker died twice on this body") from None

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [worker.process.pid for worker in [*self._idle, *self._busy] if worker.process.pid is not None]

    def warm(self) -> None:
        """Start every worker now, and wait until each is ready, rather than on the first source that needs one."""
        while len(self._idle) + len(self._busy) < self._size:
            self._idle.append(self._start())
        for worker in self._idle:
            if not worker.ready and worker.connection.poll(START_TIMEOUT):
                worker.ready = worker.connection.recv() == _READY

    async def aclose(self) -> None:
        """Close, and wait for the reading lane's tasks to end. The pool takes no body from the start (those the
        lane hands back as it stops would start a worker), and its workers stop even if the wait is cancelled."""
        self._closed = True
        try:
            if self._lane is not None:
                await self._lane.aclose()
        finally:
            self.close()

    def close(self) -> None:
        """Stop every worker: idle ones are asked, busy ones killed; returns within a few seconds."""
        self._closed = True
        if self._lane is not None:
            self._lane.close()
        idle, self._idle = self._idle, []
        for worker in idle:
            _ask_to_stop(worker)
        for worker in list(self._busy):
            _kill(worker)
        deadline = time.monotonic() + _STOP_GRACE
        for worker in idle:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _kill(worker)

    def _slot(self) -> asyncio.Semaphore:
        """At most `workers` parses at a time (one semaphore per event loop: tests run several loops)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self._size), loop
        return self._slots

    def _take(self) -> _Worker:
        """An idle worker, or a new one."""
        if self._closed:
            raise ParseError("the parser is shutting down")
        worker = self._idle.pop() if self._idle else self._start()
        self._busy.add(worker)
        return worker

    def _start(self) -> _Worker:
        """A new worker process."""
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(theirs, self._annotate, os.getpid()), daemon=True, name="chokepoint-parser"
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    async def _ask(self, worker: _Worker, request: tuple[SourceSpec, str, str]) -> list[Reading]:
        """Send one request and wait for its answer, at most the deadline; the worker goes back when it answered."""
        try:
            if not worker.ready:
                async with asyncio.timeout(START_TIMEOUT):
                    worker.ready = await asyncio.to_thread(_receive, worker.connection) == _READY
            async with asyncio.timeout(self._deadline):
                kind, value = await asyncio.to_thread(_exchange, worker.connection, request)
        except TimeoutError:
            self._discard(worker)
            raise ParseError("parse took too long") from None
        except BaseException:
            self._discard(worker)
            raise
        self._busy.discard(worker)
        if self._closed:
            _ask_to_stop(worker)
        else:
            self._idle.append(worker)
        return _readings(kind, value)

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker that is late or dead; the next parse starts a new one."""
        self._busy.discard(worker)
        _kill(worker)


def _readings(kind: str, value: Any) -> list[Reading]:
    """A worker's answer as readings, or the ParseError it stands for."""
    if kind == "error":
        raise ParseError(value)
    if kind == "bug":
        logger.error("a parser worker failed: %s", value)
        raise ParseError("internal error while parsing (logged)")
    return unpack(value)


def _exchange(connection: Connection, request: tuple[SourceSpec, str, str]) -> tuple[str, Any]:
    """Send a request and wait for the answer (in a thread: both may block)."""
    try:
        connection.send(request)
    except OSError:
        raise WorkerDied from None
    answer: tuple[str, Any] = _receive(connection)
    return answer


def _receive(connection: Connection) -> Any:
    """The next message from a worker."""
    try:
        return connection.recv()
    except (EOFError, OSError):
        raise WorkerDied from None


def _ask_to_stop(worker: _Worker) -> None:
    """Tell an idle worker to exit."""
    with contextlib.suppress(OSError):  # already gone
        worker.connection.send(None)
    worker.connection.close()


def _kill(worker: _Worker) -> None:
    """End a worker at once (it may be deep in C code, where nothing else reaches it)."""
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join(_STOP_GRACE)
    worker.connection.close()


# --- in the worker ----------------------------------------------------------------------------------------


def serve(connection: Connection, annotate: Annotate | None, parent: int) -> None:
    """A worker's life: read requests until told to stop, the pipe closes or the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then closes the pool
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
    if not _sent(connection, _READY):
        return
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        source, text, base_url = request
        if not _sent(connection, answer(source, text, base_url, annotate, slow=True)):
            return


def _sent(connection: Connection, message: object) -> bool:
    """Send one message; False when the parent's end is closed (the parent died, say): the worker's end."""
    try:
        connection.send(message)
    except OSError:
        return False
    return True
