"""The command line of Chokepoint: the bot itself (run, console), one-shot answers (check, classify, exposure,
status) and a live copy of the database (backup). Settings come from the environment or .env (see .env.example)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings, SettingsError, env_file_warning, load_settings
from bot.domain.clock import utc_now
from bot.domain.datafiles import DataFileError
from bot.progress import progress_bar, wants_progress
from bot.runtime import (
    discard_output,
    log_to_file,
    prepare_database,
    quiet_noisy_loggers,
    redact_secrets,
    relax_garbage_collection,
)
from bot.watching import check_every_source, load_watched_sources, sources_path, summary_lines, watched_sources_known
from jobs.sources import SourcesFileError, SourceSpec, check_issuers, parse_interval
from storage.heartbeats import heartbeats_in
from storage.instance_lock import AlreadyRunning, InstanceLock
from storage.schema import SchemaTooNew

if TYPE_CHECKING:
    from bot.domain.i18n import Words
    from bot.domain.measure import Measurement
    from bot.domain.measures import Measure
    from bot.domain.vocab import Vocabulary
    from handlers.context import Services
    from jobs.lane import ReadingLane
    from storage.database import Database

# The Telegram library, the application, the handlers, the knowledge, the measuring and sqlite-utils (storage/db.py)
# are imported by the commands that use them: a one-shot `check` sends its first requests before it opens its
# database and imports the knowledge and the measuring (bot/watching.py, `check_every_source`), instead of after a
# second of imports (tests/test_startup.py holds the heavy libraries out of its imports).

logger = logging.getLogger("chokepoint")

NO_TOKEN_HELP = """No TELEGRAM_BOT_TOKEN is set, so Chokepoint starts in console mode.
To run it in Telegram: talk to @BotFather, send /newbot, and put the token it gives you in .env:
    TELEGRAM_BOT_TOKEN=123456:ABC...
(see .env.example), then `make run` again."""


NO_TOKEN_NO_TERMINAL_HELP = """No TELEGRAM_BOT_TOKEN is set, and there is no terminal for console mode.
Talk to @BotFather in Telegram, send /newbot, and set the token it gives you in .env or in the service's
environment:
    TELEGRAM_BOT_TOKEN=123456:ABC...
(see .env.example). `chokepoint console` chats with the bot in a terminal without one."""


REJECTED_TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN was rejected by the Bot API server (TELEGRAM_BASE_URL). "
    "Copy it again from @BotFather (/mybots → API Token) into .env."
)


def argument_parser() -> argparse.ArgumentParser:
    """Every command and its arguments."""
    parser = argparse.ArgumentParser(prog="chokepoint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="the bot: Telegram polling, scheduled checks and delivery")
    commands.add_parser("console", help="chat with the bot in this terminal")
    exposure = commands.add_parser("exposure", help="a country's exposure, as /exposure answers it")
    exposure.add_argument("words", nargs="+", metavar="COUNTRY [SECTOR]")
    exposure.add_argument(
        "--json",
        action="store_true",
        help="print JSON: country, sector, score, band, materials, buffer_months, drivers, as_of",
    )
    check = commands.add_parser("check", help="check every source once now and print a summary")
    check.add_argument("--sources", type=Path, metavar="FILE", help="a sources file (default: CHOKEPOINT_SOURCES)")
    check.add_argument(
        "--json",
        action="store_true",
        help="print JSON: checked, unchanged, changed, failed, new_items, status_changes, seconds, sources",
    )
    check.add_argument("--source", metavar="ID", help="with --show: the source to fetch")
    check.add_argument(
        "--show",
        action="store_true",
        help="fetch one source now and print each item parsed with what measuring made of it; stores nothing",
    )
    backup = commands.add_parser("backup", help="a consistent copy of the database, taken while the bot runs")
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy (replaced if it exists)")
    health = commands.add_parser("health", help="exit 0 when the running bot polls and checks, 1 when it is stale")
    health.add_argument("--max-poll-age", type=_duration, metavar="DURATION", help="default 5m")
    health.add_argument(
        "--max-check-age", type=_duration, metavar="DURATION", help="default 3 × the shortest source interval, 15m+"
    )
    status = commands.add_parser("status", help="current statuses, as /status answers them")
    status.add_argument("words", nargs="*", metavar="COUNTRY|MATERIAL")
    status.add_argument("--json", action="store_true", help="print JSON")
    classify = commands.add_parser("classify", help="measure a headline: issuer, targets, materials, level")
    classify.add_argument("text", nargs="+", metavar="TEXT", help="the headline (words joined); - reads one per line")
    classify.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per headline: relevant, direction, issuer, targets, materials, level, evidence",
    )
    return parser


def _duration(text: str) -> dt.timedelta:
    """An argument such as 90s, 5m or 2h."""
    try:
        return dt.timedelta(seconds=parse_interval(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def _exposure(args: argparse.Namespace, services: Services) -> int:
    from bot.domain.answers import exposure_json
    from bot.domain.html import to_plain
    from handlers.exposure import exposure_answer, exposure_query

    if not args.json:
        print(to_plain(exposure_answer(services, args.words)))
        return 0
    _, result = exposure_query(services, args.words)
    _print_json([exposure_json(e) for e in result] if isinstance(result, list) else exposure_json(result))
    return 0


def _status(args: argparse.Namespace, services: Services) -> int:
    from bot.domain.html import to_plain
    from handlers.status import status_answer, status_document

    if args.json:
        _print_json(status_document(services, args.words))
    else:
        print(to_plain(status_answer(services, args.words)))
    return 0


def _stdin_lines() -> Iterator[str]:
    """Lines of standard input without their ends; undecodable bytes are replaced, never raised."""
    stream = getattr(sys.stdin, "buffer", None)
    lines = (raw.decode("utf-8", "replace") for raw in stream) if stream is not None else iter(sys.stdin)
    return (line.rstrip("\r\n") for line in lines)


def with_remaining_level(
    measurement: Measurement, measures: Sequence[Measure], vocabulary: Vocabulary, today: dt.date
) -> Measurement:
    """An easing's level: what its text says stays in force, else what the bundled measures leave."""
    from bot.domain.measures import level_after_easing  # with the rules, which `classify` and `--show` load
    from bot.domain.values import EASE

    if measurement.direction != EASE:
        return measurement
    return replace(measurement, level=int(level_after_easing(measures, measurement, vocabulary, today)))


def _summary(measurement: Measurement) -> str:
    evidence = json.dumps(list(measurement.evidence), ensure_ascii=False)
    if not measurement.relevant:
        return f"none: no export-control signal {evidence}"
    qualifiers = [
        word
        for word, applies in (
            ("reported", measurement.provenance == "reported"),
            ("military end users", measurement.end_use == "military"),
        )
        if applies
    ]
    said = f" ({', '.join(qualifiers)})" if qualifiers else ""
    return (
        f"{measurement.direction} {measurement.level_name} ({measurement.level}){said}: {measurement.issuer or '?'}"
        f" → {', '.join(measurement.targets)}: {', '.join(measurement.materials)} {evidence}"
    )


def _classify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.measure import measure
    from bot.domain.measure_file import load_measures
    from bot.domain.rules import load_rules
    from bot.domain.vocab import load_vocabulary

    vocabulary = load_vocabulary()
    rules, measures, today = load_rules(vocabulary), load_measures(vocabulary), utc_now().date()
    headlines = _stdin_lines() if args.text == ["-"] else iter([" ".join(args.text)])
    for headline in headlines:
        measurement = with_remaining_level(measure(headline, "", rules), measures, vocabulary, today)
        line = json.dumps(measurement.as_json(headline), ensure_ascii=False) if args.json else _summary(measurement)
        print(line, flush=True)
    return 0


def with_services(
    action: Callable[[argparse.Namespace, Services], int],
) -> Callable[[argparse.Namespace, Settings], int]:
    """Run a one-shot command with the database and knowledge open; bad input exits 2 with its message."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        from bot.services import close_services, open_services
        from handlers.context import UsageError

        services = open_services(settings)
        try:
            return action(args, services)
        except (UsageError, ValueError) as problem:
            from handlers.exposure import known_hint

            hint = known_hint(services, problem)
            print(f"chokepoint: {problem}" + (f"\n{hint}" if hint else ""), file=sys.stderr)
            return 2
        finally:
            close_services(services)

    return run


async def _check_once(args: argparse.Namespace, settings: Settings, lane: ReadingLane | None) -> int:
    sources = load_watched_sources(args.sources or settings.chokepoint_sources, settings.chokepoint_db)
    opened: list[Database] = []

    def open_services() -> Services:
        from bot.services import load_services  # once the first requests are sent (bot/watching.py)
        from storage.db import open_database

        opened.append(open_database(settings.chokepoint_db, utc_now()))
        services = load_services(settings, opened[0])
        check_issuers(sources_path(args.sources or settings.chokepoint_sources), sources, services.vocabulary)
        return services

    shown = wants_progress(sys.stdout, json_output=args.json)
    try:
        with progress_bar(len(sources), sys.stdout, shown=shown) as tick:
            summary, services = await check_every_source(
                open_services, sources, settings.chokepoint_db, on_checked=lambda report: tick(report.id), lane=lane
            )
        if services is not None:  # else nothing was found that needs them, and no suspension has run out
            from bot.services import announce_lapses_now

            announce_lapses_now(services)  # a one-off check raises the alerts of suspensions that ran out too
    finally:
        for db in opened:
            db.close()
    if args.json:
        _print_json(summary.as_json())
    else:
        print("\n".join(summary_lines(summary)))
    return 0


def _check(args: argparse.Namespace, settings: Settings, reading_lane: ReadingLane | None = None) -> int:
    """One check of every source; failing sources are data (exit 0), an unusable run is not (exit 2).

    READING_LANE: the reading worker, when bot/launch.py started it early; else the check starts its own."""
    if args.show or args.source:
        try:
            return asyncio.run(_show_source(args, settings))
        except ValueError as problem:
            print(f"chokepoint: {problem}", file=sys.stderr)
            return 2
    return asyncio.run(_check_once(args, settings, reading_lane))


def pick_source(sources: Sequence[SourceSpec], wanted: str | None) -> SourceSpec:
    """The source with this id, or a ValueError naming the closest ids."""
    by_id = {source.id: source for source in sources}
    if wanted in by_id:
        return by_id[str(wanted)]
    import difflib  # here: only a wrong --source needs it

    closest = difflib.get_close_matches(wanted or "", list(by_id), n=3, cutoff=0.0)
    problem = "--show needs --source ID" if not wanted else f"unknown source '{wanted}'"
    raise ValueError(f"{problem}. Closest: {', '.join(closest) or 'none: the sources file is empty'}.")


async def _show_source(args: argparse.Namespace, settings: Settings) -> int:
    """Fetch one source now and print what it holds and what measuring makes of each item; nothing is stored,
    so an operator can check a selector and the reading against the live page."""
    from bot.domain.measure import as_vouched_for, measure  # deferred: a plain check starts without them
    from bot.domain.measure_file import load_measures
    from bot.domain.rules import load_rules
    from bot.domain.vocab import load_vocabulary
    from jobs.fetch import Fetcher
    from jobs.parse import ParseError
    from jobs.workers import ParserPool

    if not args.show:
        raise ValueError("--source goes with --show (a check of one source that stores nothing)")
    source = pick_source(load_watched_sources(args.sources or settings.chokepoint_sources), args.source)
    vocabulary = load_vocabulary()
    rules, measures, today = load_rules(vocabulary), load_measures(vocabulary), utc_now().date()
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(source.url, allow_private=source.allow_private)
    if result.outcome == "failed":
        print(f"{source.id}: {result.error}")
        return 1
    pool = ParserPool(workers=1)  # read as a check reads: an HTML page in a worker, under the reading deadline
    try:
        readings = await pool(source, result.text, result.final_url)
    except ParseError as error:
        print(f"{source.id}: {error}")
        return 1
    finally:
        await pool.aclose()
    print(
        f"{source.id} ({source.name}, {source.kind}, trust {source.trust}): {len(readings)} items, {result.final_url}"
    )
    for reading in readings:
        item = reading.item
        read = measure(item.title, item.summary, rules, default_issuer=source.issuer)
        measurement = as_vouched_for(read, source.trust, source.issuer)
        measured = with_remaining_level(measurement, measures, vocabulary, today)
        when = item.published.date().isoformat() if item.published else "undated"
        print(f"\n• {when} {item.title}\n  {item.link or '(no link)'}\n  → {_summary(measured)}")
    return 0


async def run_console(settings: Settings) -> None:
    """The bot's handlers and jobs, chatting in this terminal until the end of input."""
    from bot.app import build_application
    from bot.console import CONSOLE_CHAT_ID, ConsoleRequest, chat_in_terminal
    from bot.domain.vocab import load_vocabulary
    from bot.lifecycle import running

    local = replace(settings, chokepoint_admins=settings.chokepoint_admins | {CONSOLE_CHAT_ID})
    sources = watched_sources_known(settings.chokepoint_sources, settings.chokepoint_db, load_vocabulary())
    charts = settings.chokepoint_db.parent / "charts"
    request = ConsoleRequest(charts=charts)
    app = build_application(local, sources, token="0:console", request=request, pace_replies=False)
    request.words = lambda: console_words(app.bot_data.services)
    log_file = settings.chokepoint_db.with_suffix(".log")
    log_to_file(log_file)  # the terminal is the chat: checks and retries would interleave with the replies
    print(
        f"Chokepoint console: type /help, /exposure japan autos, /status gallium. Ctrl-D ends. Log: {log_file}",
        file=sys.stderr,
    )
    async with running(app):
        await chat_in_terminal(app)


def console_words(services: Services) -> Words:
    """The console chat's words: the language it chose with /language, else English."""
    from bot.console import CONSOLE_CHAT_ID
    from bot.domain.i18n import known_language, words
    from storage.subscribers import chosen_language

    return words(known_language(chosen_language(services.db, CONSOLE_CHAT_ID)))


def _console(args: argparse.Namespace, settings: Settings) -> int:
    with InstanceLock(settings.chokepoint_db):
        prepare_database(settings)
        asyncio.run(run_console(settings))
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.token is None:
        if not sys.stdin.isatty():  # a service manager or a container: no one to chat with, so say what to do
            print(f"chokepoint: {NO_TOKEN_NO_TERMINAL_HELP}", file=sys.stderr)
            return 2
        print(NO_TOKEN_HELP, file=sys.stderr)
        return _console(args, settings)
    with InstanceLock(settings.chokepoint_db):
        prepare_database(settings)  # a database this version cannot use stops the start, not the first check
        return _poll(settings, settings.token)


def _poll(settings: Settings, token: str) -> int:
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.app import build_application
    from bot.domain.vocab import load_vocabulary

    sources = watched_sources_known(settings.chokepoint_sources, settings.chokepoint_db, load_vocabulary())
    app = build_application(settings, sources, token=token)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print(f"chokepoint: {REJECTED_TOKEN_HELP}", file=sys.stderr)
        return 2
    except NetworkError as error:
        print(f"chokepoint: cannot reach the Bot API server at TELEGRAM_BASE_URL: {error.message}", file=sys.stderr)
        return 2
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the database while the bot may be writing to it; exit 1 when the copy does not check out."""
    from storage.db import backup_database, integrity_problems

    refused = backup_target_problem(args.file, settings.chokepoint_db)
    if refused:
        print(f"chokepoint: cannot write the backup {args.file}: {refused}", file=sys.stderr)
        return 2
    size = backup_database(settings.chokepoint_db, args.file)
    problems = integrity_problems(args.file)
    if problems:
        print(f"chokepoint: the copy in {args.file} failed its integrity check: {problems[0]}", file=sys.stderr)
        return 1
    print(f"Copied {settings.chokepoint_db} to {args.file}: {size:,} bytes, integrity check ok.")
    return 0


def backup_target_problem(target: Path, database: Path) -> str | None:
    """Why a backup may not go to TARGET, or None. The copy is renamed over the target: that must not replace a
    device, a folder or the live database itself."""
    if not target.parent.is_dir():  # else SQLite's "unable to open database file" would seem to be about the database
        return f"there is no folder {target.parent}"
    if target.exists() and not target.is_file():
        return "it is not a regular file (a folder or a device); name a file"
    if target.exists() and database.exists() and target.samefile(database):
        return "it is the database itself (CHOKEPOINT_DB); name another file"
    return None


def _health(args: argparse.Namespace, settings: Settings) -> int:
    """Judge the heartbeats the running bot records in its database (a container's HEALTHCHECK)."""
    from bot.domain.health import HealthLimits, check_limit, health_verdict  # here: a check goes without

    beats = {name: dt.datetime.fromisoformat(at) for name, at in heartbeats_in(settings.chokepoint_db).items()}
    shortest = min(source.every_seconds for source in load_watched_sources(settings.chokepoint_sources))
    limits = HealthLimits(
        poll=args.max_poll_age or HealthLimits().poll,
        check=args.max_check_age or check_limit(dt.timedelta(seconds=shortest)),
    )
    verdict = health_verdict(beats, dt.datetime.now(dt.UTC), limits)
    print(verdict.reason, file=sys.stdout if verdict.healthy else sys.stderr)
    return 0 if verdict.healthy else 1


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": _run,
    "console": _console,
    "check": _check,
    "exposure": with_services(_exposure),
    "status": with_services(_status),
    "classify": _classify,
    "backup": _backup,
    "health": _health,
}


def main(argv: Sequence[str] | None = None, reading_lane: ReadingLane | None = None) -> int:
    """Run one command (bot/launch.py is the `chokepoint` script's entry point, and hands over READING_LANE when it
    started the reading worker of a check)."""
    args = argument_parser().parse_args(argv)
    # Opt in to PTB's coming RetryAfter.retry_after as a timedelta; the sender reads either form.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_noisy_loggers()
    relax_garbage_collection()
    database: Path | None = None
    try:
        settings = load_settings()
        database = settings.chokepoint_db
        redact_secrets([settings.token or ""])
        warning = env_file_warning(Path(".env"))
        if warning:
            print(f"chokepoint: warning: {warning}", file=sys.stderr)
        if args.command == "check":
            return _check(args, settings, reading_lane)
        return COMMANDS[args.command](args, settings)
    except (SettingsError, DataFileError, SourcesFileError, AlreadyRunning, SchemaTooNew) as problem:
        print(f"chokepoint: {problem}", file=sys.stderr)
        return 2
    except sqlite3.Error as problem:
        print(f"chokepoint: {database_problem(problem, database)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head -2`): it has what it wanted
        discard_output()
        return 0
    except OSError as problem:  # a folder the bot cannot write in (its database, lock or log file), or the output
        if problem.filename is None and problem.errno in _OUTPUT_FULL:  # unbuffered output hits it while printing
            discard_output()
            print(f"chokepoint: the output could not be written: {problem}", file=sys.stderr)
            return 120
        print(f"chokepoint: {file_problem(problem)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# The errors of a write that found no room: with no file named, the output's (the bot's own writes name their file:
# the lock file's, storage/instance_lock.py; the database's come as sqlite3 errors).
_OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})

# What to do about SQLite's commonest refusals, by words of its message.
_DATABASE_ADVICE = (
    ("unable to open database file", "its folder must exist and be writable by the user running Chokepoint, and "
     "the path must name a file, not a folder"),
    ("readonly database", "the file and its folder must be writable by the user running Chokepoint"),
    ("malformed", "the file is damaged: restore a copy made by `chokepoint backup FILE`"),
    ("file is not a database", "name a Chokepoint database, or a file that does not exist yet"),
)  # fmt: skip


def database_problem(error: sqlite3.Error, path: Path | None) -> str:
    """One line for a database the bot cannot use: which file, SQLite's reason and what to do about it."""
    where = f"the database {path} (CHOKEPOINT_DB)" if path is not None else "the database (CHOKEPOINT_DB)"
    advice = next((advice for words, advice in _DATABASE_ADVICE if words in str(error)), None)
    return f"{where} cannot be used: {error}" + (f"; {advice}" if advice else "")


def file_problem(error: OSError) -> str:
    """One line for a file the bot cannot use, with what to check."""
    if error.filename is None:
        return str(error)
    reason = error.strerror or type(error).__name__
    return (
        f"cannot use {error.filename}: {reason}. The folder of CHOKEPOINT_DB holds the database, its lock and "
        "console mode's log: it must exist and be writable by the user running Chokepoint."
    )
