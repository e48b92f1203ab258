"""The `chokepoint` command's entry point. A check of every source starts its reading worker (jobs/lane.py) before
it imports the rest of the bot: the worker's own start-up, ~0.3 s of imports and compiling the measuring rules, then
runs on the other core while the bot imports, opens its database and sends its first requests."""

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
    """The `chokepoint` script and `python -m bot`: run the command, then end the process at once.

    Every command has closed what it opened (the database, the workers, the reading lane) by the time `main`
    returns; what is left is freeing each object the process made, one by one, which after a check of 1,000
    sources takes ~0.1 s. Output and logs are flushed first; the exit code is the command's.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a reader that went away (`| head`): nothing more to tell it
            stream.flush()
    os._exit(code)


def checks_every_source(arguments: Sequence[str]) -> bool:
    """Whether the command line asks for a check of every source (not one source shown, not the help)."""
    options = {argument.split("=", 1)[0] for argument in arguments[1:]}
    return bool(arguments) and arguments[0] == "check" and not options.intersection(_NOT_EVERY_SOURCE)
