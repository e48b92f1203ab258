"""The `chokepoint` command's entry point. A check of every source starts its reading worker (jobs/lane.py) before
it imports the rest of the bot: the worker's imports (~0.1 s) then run on the other core while the bot imports, opens
its database and sends its first requests; it compiles the measuring rules when its first body comes."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence

MEASURING = "jobs.reading:measure_in_worker"  # the lane's annotation, named: importing it here would cost ~0.1 s
_NOT_EVERY_SOURCE = ("--show", "--source", "-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command of the command line (bot/cli.py)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    lane = None
    if checks_every_source(arguments):
        from jobs.lane import ReadingLane

        lane = ReadingLane(MEASURING)
        lane.start()
    try:
        from bot.cli import main as run_command

        return run_command(arguments, reading_lane=lane)
    finally:
        if lane is not None:
            lane.close()


def run() -> None:
    """The `chokepoint` script and `python -m bot`: run the command and exit with its code.

    A check of every source then ends its process at once: it has closed what it opened (the database, the
    workers, the reading lane), and freeing each object it made, one by one, would take ~0.1 s after 1,000
    sources. Its output and logs are flushed first, and output that cannot be written is an error (exit 120, as
    Python's own exit gives), not a silent loss. Every other command exits the usual way, running what was
    registered to run at exit (matplotlib removes its temporary folder) and waiting for its threads.
    """
    arguments = sys.argv[1:]
    code = main(arguments)
    if not checks_every_source(arguments):
        raise SystemExit(_flushed(code))
    logging.shutdown()
    code = _flushed(code)
    os._exit(code)


def _flushed(code: int) -> int:
    """Write out what the streams hold; the exit code, made 120 when the output could not be written."""
    from bot.runtime import discard_output  # here, not at the top: the lane starts before the bot's own imports

    try:
        sys.stdout.flush()
    except BrokenPipeError:  # a reader that went away (`| head`): nothing more to tell it
        discard_output()
    except OSError as error:
        discard_output()
        with contextlib.suppress(OSError):
            print(f"chokepoint: the output could not be written: {error}", file=sys.stderr)
        code = code or 120
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    return code


def checks_every_source(arguments: Sequence[str]) -> bool:
    """Whether the command line asks for a check of every source (not one source shown, not the help)."""
    options = {argument.split("=", 1)[0] for argument in arguments[1:]}
    return bool(arguments) and arguments[0] == "check" and not options.intersection(_NOT_EVERY_SOURCE)
