"""The reading lane: one worker process that reads and measures the bodies the fast path takes (feeds lxml reads,
JSON), so that reading and measuring run on a second core while the event loop fetches and stores.

The lane only moves work. What the fast path reads is bounded and linear (jobs/parse.py), so whenever the lane
cannot take a body (too many characters in flight, its worker ended or could not start, the lane is closed) the
caller reads it in the checking process as before. One outcome is the lane's own: a body the worker spends more
than the deadline on fails with "parse took too long" and the worker is replaced, as in the parser pool
(jobs/workers.py). Bodies and answers travel over one socket as length-prefixed pickles, which the event loop
writes and reads without ever blocking, so neither side can wait on the other with both directions full.

Measured (docs/ARCHITECTURE.md, "Speed"): reading and measuring were about a third of a cold check's CPU; with the
lane, the checking process of a cold check of 1,000 feeds spends 1.7-2.4 s of CPU instead of 3.1-3.9 s.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

# Reading itself is imported where it is used: a check starts the worker before it imports the rest of the bot
# (bot/launch.py), so this module imports little. asyncio too (~20 ms): the worker never needs it, and the check
# starts the worker sooner without it.
if TYPE_CHECKING:
    import asyncio

    from jobs.reading import Annotate, Reading
    from jobs.sources import SourceSpec

logger = logging.getLogger(__name__)

IN_FLIGHT_CHARS = 32_000_000  # characters of bodies sent and not yet answered; past this the caller reads here
DEADLINE = 20.0  # seconds the worker may spend on one body, before it is taken for stuck
START_TIMEOUT = 60.0  # seconds a new worker may take to import what it needs and compile the rules
_STOP_GRACE = 1.0  # seconds the worker has to exit once its socket closes, before it is killed
_PARENT_POLL = 0.5  # seconds between the worker's looks at whether its parent is alive
_HEADER = struct.Struct("!I")  # the length of the pickle that follows
_READY = 0  # the request id of the worker's first message: it has its first body, and has compiled the rules
_HOME = Path(__file__).resolve().parent.parent  # the folder that holds this package
_READ_LIMIT = 2**26  # the stream's buffer limit; answers are far smaller (capped items, capped text)

Answer = tuple[str, Any]  # ("ok", packed readings) | ("slow", why) | ("error", reason) | ("bug", what it was)


@dataclass(eq=False)
class _Request:
    """A body in flight: who waits for its answer, and how many characters it holds."""

    answer: asyncio.Future[Answer | None]  # None: not answered by the worker, read it here
    chars: int


@dataclass(eq=False)
class _Worker:
    """One worker process and our end of its socket, which an event loop takes when it first sends a body."""

    process: subprocess.Popen[bytes]
    sock: socket.socket
    loop: asyncio.AbstractEventLoop | None = None
    writer: asyncio.StreamWriter | None = None
    answers: asyncio.Task[None] | None = None
    requests: dict[int, _Request] = field(default_factory=dict)  # in the order sent, which is the order answered
    chars: int = 0  # of the requests in flight
    ready: bool = False  # it said so once it had its first body and had compiled the rules
    watch: asyncio.TimerHandle | None = None  # its start-up's timeout, then the deadline of the body it is on


class ReadingLane:
    """Read bodies in one worker process, pipelined; `read` answers None when the caller should read it itself."""

    def __init__(
        self,
        annotate: Annotate | str | None = None,
        *,
        in_flight_chars: int = IN_FLIGHT_CHARS,
        deadline: float = DEADLINE,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self._annotate = _name_of(annotate)  # a module-level function, which the worker imports by its name
        self._in_flight_chars = in_flight_chars
        self._deadline = deadline
        self._start_timeout = start_timeout
        self._worker: _Worker | None = None
        self._attaching: asyncio.Future[None] | None = None
        self._next_id = 0
        self._broken = False  # a worker could not start: the lane stays off
        self._closed = False

    def start(self) -> None:
        """Start the worker now rather than on the first body: its ~0.1 s of imports then overlap the check's own
        imports, opening its database and sending its first requests. It compiles the measuring rules (~0.15 s of
        CPU) when its first body comes: a check of 304s never needs them, and on two cores that compile slowed its
        first requests and the feed server answering them (a warm check of 1,000 sources took ~0.03 s longer)."""
        if self._worker is None and not (self._closed or self._broken):
            try:
                self._worker = self._spawn()
            except OSError:  # no process or socket to be had (a limit reached): reading stays in this process
                logger.exception("the reading lane's worker could not start; bodies are read here from now on")
                self._broken = True

    async def read(self, source: SourceSpec, text: str, base_url: str) -> list[Reading] | None:
        """The body's readings, read in the worker; None when the lane did not take it (read it here instead).

        ParseError as the worker raised it, or for a body the worker spent more than the deadline on; SlowPath
        for a body the fast path does not take.
        """
        import asyncio

        if len(text) > self._in_flight_chars:  # never to be sent: attaching would time a start-up no body ends
            return None
        worker = await self._attached()
        if worker is None or worker.writer is None or worker.chars + len(text) > self._in_flight_chars:
            return None
        request_id = self._next_id + 1
        frame = pickle.dumps((request_id, source, text, base_url), pickle.HIGHEST_PROTOCOL)  # before any state
        self._next_id = request_id
        request = worker.requests[request_id] = _Request(asyncio.get_running_loop().create_future(), len(text))
        worker.chars += request.chars
        worker.writer.writelines([_HEADER.pack(len(frame)), frame])
        if len(worker.requests) == 1:
            self._watch(worker)  # the worker's next body: its deadline starts now
        answer = await request.answer
        return None if answer is None else _readings(*answer)

    def pid(self) -> int | None:
        """The worker's process id, while one runs."""
        return self._worker.process.pid if self._worker else None

    def close(self) -> None:
        """Stop the worker (it exits once its socket closes, else it is killed); bodies in flight are read here."""
        self._closed = True
        if self._worker is not None:
            self._stop(self._worker)

    async def aclose(self) -> None:
        """Close, and wait for the task that took the worker's answers to end (at the loop's next turn)."""
        import asyncio

        answers = self._worker.answers if self._worker is not None else None
        self.close()
        if answers is not None and answers is not asyncio.current_task():
            await asyncio.wait([answers])

    async def _attached(self) -> _Worker | None:
        """The worker, started if needed and attached to the running event loop; None when the lane is off."""
        import asyncio

        loop = asyncio.get_running_loop()
        while self._attaching is not None and not self._attaching.done():
            await asyncio.shield(self._attaching)
        worker = self._worker
        if worker is not None and worker.loop is None and worker.process.poll() is not None:
            self._give_up(worker, "ended as it started")  # started early (bot/launch.py), gone before its first body
            return None
        if worker is not None and (worker.process.poll() is not None or worker.loop not in (None, loop)):
            self._stop(worker)  # it ended, or it is another loop's (tests run several)
        self.start()
        worker = self._worker
        if worker is None or worker.loop is loop:
            return worker
        self._attaching = loop.create_future()
        try:
            reader, writer = await asyncio.open_connection(sock=worker.sock, limit=_READ_LIMIT)
        except BaseException:  # cancelled, say: the socket may be closed, so the next body starts a new worker
            self._stop(worker)
            raise
        finally:
            self._attaching.set_result(None)
        if worker is not self._worker:  # closed or replaced meanwhile
            writer.close()
            return None
        worker.loop, worker.writer = loop, writer
        worker.answers = loop.create_task(self._answers(worker, reader))
        self._watch(worker)
        return worker

    def _spawn(self) -> _Worker:
        """A new worker: a plain interpreter running this module, which imports what reading needs and nothing
        of the checking process (multiprocessing's spawn would import the process's main script, the CLI, again).
        It runs in a process group of its own, so a Ctrl-C at the terminal reaches only the checking process,
        which then closes the lane."""
        ours, theirs = socket.socketpair()
        try:
            with theirs:
                process = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(theirs.fileno()), str(os.getpid()), self._annotate],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    cwd=_HOME,  # `-m` looks in the folder it starts in first: this package's, not the user's
                    process_group=0,
                )
        except BaseException:
            ours.close()
            raise
        return _Worker(process, ours)

    async def _answers(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        """Hand each answer to its request, until the socket closes (the worker ended)."""
        import asyncio

        try:
            while True:
                (length,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                self._take(worker, *pickle.loads(await reader.readexactly(length)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:  # the lane stops the worker, or the event loop is ending
            if worker.writer is not None:
                worker.writer.close()
            raise
        except Exception:
            logger.exception("the reading lane could not take its worker's answer; replacing the worker")
        if worker is self._worker and not self._closed:
            if not worker.ready:
                self._give_up(worker, "ended as it started")
                return
            logger.warning("the reading lane's worker ended; its %d bodies are read here", len(worker.requests))
        self._stop(worker)

    def _take(self, worker: _Worker, request_id: int, kind: str, value: Any) -> None:
        """One message of the worker: that it is ready, or the answer for the body it was on."""
        if request_id == _READY:
            worker.ready = True
        else:
            self._settle(worker, request_id, (kind, value))
        self._watch(worker)

    def _watch(self, worker: _Worker) -> None:
        """Time what the worker does now: its start-up until it is ready, then the body it is on (the oldest in
        flight: it answers in order), from the moment it could begin it."""
        if worker.loop is None:
            return
        if not worker.ready:
            if worker.watch is None:  # its start-up is timed once, from when the loop took its socket
                worker.watch = worker.loop.call_later(
                    self._start_timeout, self._give_up, worker, "did not start in time"
                )
            return
        if worker.watch is not None:
            worker.watch.cancel()
            worker.watch = None
        if worker.requests:
            worker.watch = worker.loop.call_later(self._deadline, self._late, worker)

    def _settle(self, worker: _Worker, request_id: int, answer: Answer | None) -> None:
        """Give a request its answer (None: read it here) and take it out of flight."""
        request = worker.requests.pop(request_id, None)
        if request is None:
            return
        worker.chars -= request.chars
        if not request.answer.done():
            request.answer.set_result(answer)

    def _late(self, worker: _Worker) -> None:
        """The worker spent the whole deadline on one body: that body fails, the worker is replaced."""
        if not worker.requests:
            return
        logger.warning("the reading lane's worker spent over %.0f s on one body; replacing it", self._deadline)
        self._settle(worker, next(iter(worker.requests)), ("error", "parse took too long"))
        worker.process.kill()
        self._stop(worker)

    def _give_up(self, worker: _Worker, what: str) -> None:
        """A worker that could not start: the lane stays off, and every body is read in the checking process."""
        logger.error("the reading lane's worker %s; bodies are read here from now on", what)
        self._broken = True
        worker.process.kill()
        self._stop(worker)

    def _stop(self, worker: _Worker) -> None:
        """End a worker; the bodies it had not answered go back to their callers, to be read here. Waits for the
        process to exit (at most _STOP_GRACE, milliseconds when it is idle)."""
        if worker is self._worker:
            self._worker = None
        if worker.watch is not None:
            worker.watch.cancel()
            worker.watch = None
        if worker.requests or not worker.ready:  # its work in hand is no longer wanted: no need to wait for it
            worker.process.kill()
        for request_id in list(worker.requests):
            self._settle(worker, request_id, None)
        with contextlib.suppress(OSError):  # the worker sees the end of its requests now, not when the loop ends
            worker.sock.shutdown(socket.SHUT_RDWR)
        if worker.writer is not None and worker.loop is not None and not worker.loop.is_closed():
            worker.writer.close()
            if worker.answers is not None and worker.answers is not _current_task(worker.loop):
                worker.answers.cancel()
        else:
            worker.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(_STOP_GRACE)
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def _current_task(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    """The task running now, if LOOP is the loop running here."""
    import asyncio

    try:
        return asyncio.current_task() if asyncio.get_running_loop() is loop else None
    except RuntimeError:  # no loop runs here
        return None


def _readings(kind: str, value: Any) -> list[Reading]:
    """The worker's answer as readings, or the exception it stands for."""
    from jobs.parse import ParseError, SlowPath
    from jobs.reading import unpack

    if kind == "ok":
        return unpack(value)
    if kind == "slow":
        raise SlowPath(value)
    if kind == "error":
        raise ParseError(value)
    logger.error("the reading lane's worker failed: %s", value)
    raise ParseError("internal error while parsing (logged)")


def _name_of(annotate: Annotate | str | None) -> str:
    """How the worker finds the annotation: "module:function", or "-" for none."""
    if annotate is None or isinstance(annotate, str):
        return annotate or "-"
    return f"{annotate.__module__}:{annotate.__qualname__}"


# --- in the worker ----------------------------------------------------------------------------------------


def _annotation(name: str) -> Annotate | None:
    """The annotation a name from _name_of stands for."""
    if name == "-":
        return None
    module, function = name.split(":")
    annotate: Annotate = getattr(importlib.import_module(module), function)
    return annotate


def serve(sock: socket.socket, annotate: Annotate | None, parent: int) -> None:
    """The worker's life: answer each body in order, until the socket closes or the parent dies. It compiles the
    measuring rules when the first body comes, and says it is ready once they are (`ReadingLane.start`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then closes the lane
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
    ready = False
    # a checking process that ended with answers unread resets the socket: the same end as closing it
    with sock, sock.makefile("rb") as requests, contextlib.suppress(ConnectionResetError):
        while (frame := _next_frame(requests)) is not None:
            if not ready:
                _warm_up(annotate)
                ready = _send(sock, (_READY, "ready", None))
                if not ready:
                    return
            request_id, source, text, base_url = pickle.loads(frame)
            if not _send(sock, (request_id, *answer(source, text, base_url, annotate, slow=False))):
                return


def _next_frame(requests: BinaryIO) -> bytes | None:
    """The next body's frame; None once the socket has closed, or in the middle of a body (the checking process
    was killed, say)."""
    header = requests.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    frame = requests.read(length)
    return frame if len(frame) == length else None


def _send(sock: socket.socket, message: tuple[int, str, Any]) -> bool:
    """Send one message; False when the checking process has closed the lane."""
    frame = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    try:
        sock.sendall(_HEADER.pack(len(frame)) + frame)
    except OSError:
        return False
    return True


def _warm_up(annotate: Annotate | None) -> None:
    """Annotate one headline before the first body is read: measuring compiles its rules on first use (~0.15 s),
    which is then the worker's start-up, not time counted against that body's deadline. A failure here shows
    again on the bodies themselves."""
    from jobs.parse import ParsedItem
    from jobs.sources import SourceSpec

    if annotate is not None:
        probe = SourceSpec("warm-up", "warm-up", "rss", "https://warm-up.invalid/", 3600)
        with contextlib.suppress(Exception):
            annotate(probe, ParsedItem("warm-up", "China restricts gallium exports", None, "", None))


def answer(source: SourceSpec, text: str, base_url: str, annotate: Annotate | None, *, slow: bool) -> Answer:
    """What a worker (this lane's, or a parser pool's with slow=True) makes of one body."""
    from jobs.parse import ParseError, SlowPath
    from jobs.reading import pack, read_source

    try:
        return "ok", pack(read_source(source, text, base_url, annotate, slow=slow))
    except SlowPath as slow:
        return "slow", str(slow)
    except ParseError as error:
        return "error", str(error)
    except Exception as error:  # a bug of ours on one body must not end the worker
        return "bug", f"{type(error).__name__}: {error}"


def exit_with_parent(parent: int) -> None:
    """End a worker when its parent is gone (killed, say), even in the middle of a body."""
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL)
    os._exit(0)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), _annotation(sys.argv[3]), parent=int(sys.argv[2]))
    sys.stderr.flush()
    os._exit(0)  # without freeing every object first (~50 ms after a thousand feeds), which the lane waits for
