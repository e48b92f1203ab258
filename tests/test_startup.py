"""What a one-shot `chokepoint check` imports: only what checking needs, so that it starts fetching at once.

The drawing library (and numpy under it), the Telegram library, the scheduler, Babel and rich are each a tenth
of a second or more of imports that a check never uses; a module-level import of one of them anywhere on the
check's path would quietly bring it back. The parsers' libraries and the suggestions' matcher belong to the
reading worker and to the commands that suggest words: the checking process goes without them too. These tests
run whole checks in a child process and read what it imported: a structural check, not a timed one (`make bench
peer` prints the start-up time).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bot.launch import checks_every_source
from storage.db import open_database
from storage.subscribers import add_subscription, save_subscriber
from tests.loopback import Exchange, Request, Response, conditional, sequence, serve

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
HEAVY = {"matplotlib", "numpy", "telegram", "apscheduler", "babel", "rich"}
# The parsers' libraries and the suggestions' matcher: the reading worker reads and measures a feed's body, and a
# check suggests no words, so the checking process itself never loads them.
READ_ELSEWHERE = {"lxml", "selectolax", "rapidfuzz"}
ITEM = "<item><title>{title}</title><link>https://example.org/{n}</link><guid>{n}</guid></item>"
TITLES = ("Bank of Japan holds rates steady", "MOFCOM announces export ban on tungsten to Japan, effective now")
# Runs the command line in this process as the `chokepoint` script does (bot/launch.py: a check starts its reading
# worker first), then prints the modules it imported on a line of its own.
RUN_AND_LIST = (
    "import json, sys\nfrom bot.launch import main\ncode = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))"
)


def feed(items: int) -> str:
    """A feed of the first `items` titles."""
    body = "".join(ITEM.format(title=title, n=n) for n, title in enumerate(TITLES[:items]))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def subscribe_to_japan(path: Path) -> None:
    db = open_database(path, NOW)
    with db.atomic():
        save_subscriber(db, 1, "private", None, "UTC", NOW.isoformat())
        add_subscription(db, 1, "JP", "semiconductors", "", 0, NOW.isoformat())
    db.close()


def exposures_alerted(path: Path) -> list[str]:
    db = open_database(path, NOW)
    payloads = [json.loads(row[0]) for row in db.execute("SELECT payload FROM alerts WHERE kind = 'status'")]
    db.close()
    return [pair for payload in payloads for pair in payload["exposure"]]


def imported_by(*args: str, env: dict[str, str], cwd: Path) -> tuple[dict[str, object], set[str]]:
    """Run the command line in a child process: what it printed as JSON first, and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    *printed, listing = done.stdout.strip().splitlines()
    loaded = json.loads(listing)
    assert loaded["code"] == 0, done.stderr
    return json.loads("\n".join(printed)), set(loaded["modules"])


async def test_a_one_shot_check_imports_no_heavy_library_nor_what_its_reading_worker_reads_with(tmp_path: Path) -> None:
    """A first check (every item new) and a second one that measures a new item and moves a status."""
    env = {**os.environ, "CHOKEPOINT_DB": str(tmp_path / "check.db"), "TELEGRAM_BOT_TOKEN": ""}
    served = sequence(*(Response(200, feed(n), {"Content-Type": "application/rss+xml"}) for n in (1, 2)))
    async with serve({"/feed": served}) as base:
        sources = tmp_path / "sources.yaml"
        source = f"id: feed, name: feed, kind: rss, url: '{base}/feed', every: 10m, trust: official, issuer: CN"
        sources.write_text(f"sources:\n  - {{{source}, allow_private: true}}\n")  # the feed is on loopback
        runs = []
        for _ in range(2):
            runs.append(
                await asyncio.to_thread(
                    imported_by, "check", "--json", "--sources", str(sources), env=env, cwd=tmp_path
                )
            )
            subscribe_to_japan(tmp_path / "check.db")  # the second check's alert shows an exposure: no words needed
    (first, first_modules), (second, second_modules) = runs
    assert (first["new_items"], second["new_items"], second["status_changes"]) == (1, 1, 1)
    assert "JP:semiconductors" in exposures_alerted(tmp_path / "check.db")
    packages = {name.split(".")[0] for name in first_modules | second_modules}
    assert HEAVY & packages == set()
    assert READ_ELSEWHERE & packages == set()
    assert first_modules >= AFTER_THE_FIRST_ANSWER  # what the test below keeps out of the start is used by then


async def test_a_check_has_its_reading_worker_running_before_its_requests_go_out_even_where_304s_may_come(
    tmp_path: Path,
) -> None:
    """The worker's ~0.1 s of imports overlap the requests' wait on a database whose every source has a validator
    too: a feed that did change is then read at once (starting the worker on the first body instead made such a
    check ~0.07 s slower, for ~0.01 s saved where every answer was a 304)."""
    env = {**os.environ, "CHOKEPOINT_DB": str(tmp_path / "check.db"), "TELEGRAM_BOT_TOKEN": ""}
    answer = conditional(Response(200, feed(2), {"Content-Type": "application/rss+xml"}), etag='"v1"')
    checks: list[subprocess.Popen[str]] = []
    worker_running: list[bool] = []

    async def watched(request: Request, exchange: Exchange) -> Response | None:
        worker_running.append(any("jobs.lane" in " ".join(child.cmdline()) for child in children(checks[-1].pid)))
        return await answer(request, exchange)

    def check(sources: Path) -> str:
        command = [sys.executable, "-m", "bot", "check", "--json", "--sources", str(sources)]
        checks.append(subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True))
        printed, _ = checks[-1].communicate(timeout=120)
        assert checks[-1].returncode == 0
        return printed

    async with serve({"/feed": watched}) as base:
        sources = tmp_path / "sources.yaml"
        source = f"id: feed, name: feed, kind: rss, url: '{base}/feed', every: 10m, issuer: CN, allow_private: true"
        sources.write_text(f"sources:\n  - {{{source}}}\n")
        printed = [await asyncio.to_thread(check, sources) for _ in range(2)]
    assert json.loads(printed[1])["unchanged"] == 1  # the second check's answer was a 304
    assert worker_running == [True, True]


def children(pid: int) -> list[psutil.Process]:
    """The processes a process started (none once it has ended)."""
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize(
    ("arguments", "every_source"),
    [
        ("check", True),
        ("check --json --sources s.yaml", True),
        ("check --sources=s.yaml", True),
        ("check --show --source mofcom", False),
        ("check --source=mofcom --show", False),
        ("check --help", False),
        ("status gallium", False),
        ("", False),
    ],
)
def test_only_a_check_of_every_source_starts_its_reading_worker_first(arguments: str, every_source: bool) -> None:
    assert checks_every_source(arguments.split()) is every_source


def test_the_reading_worker_starts_and_runs_without_asyncio() -> None:
    """The check starts its worker before it imports asyncio (~20 ms), and the worker never uses it: not to start,
    compile the rules, nor read and measure a feed."""
    code = (
        "import sys\nfrom jobs.lane import ReadingLane, _annotation, _warm_up, answer\n"
        "from jobs.sources import SourceSpec\n"
        "ReadingLane('jobs.reading:measure_in_worker')\nannotate = _annotation('jobs.reading:measure_in_worker')\n"
        "_warm_up(annotate)\nurl = 'https://a.example/'\n"
        f"kind, _ = answer(SourceSpec('s', 's', 'rss', url, 600), {feed(1)!r}, url, annotate, slow=False)\n"
        "print(kind, 'asyncio' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["ok", "False"]


def test_the_heavy_packages_are_the_ones_the_bot_itself_imports() -> None:
    """The check above can fail: the bot's own wiring imports each of them."""
    code = "import sys, bot.app, bot.domain.chart_render, bot.progress\n" + (
        "from bot.domain.i18n import words\nfrom bot.domain.chart_render import ChartRenderer\n"
        "words('ja').date('2026-01-06'); ChartRenderer().warm()\n"
        "from bot.progress import progress_bar\nimport io\n"
        "with progress_bar(1, io.StringIO(), shown=True): pass\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert set(done.stdout.split()) >= HEAVY


# What a check of every source imports once its first answer is in (bot/watching.py, `check_every_source`): the
# database's library (storage/db.py) and the knowledge and the measuring.
AFTER_THE_FIRST_ANSWER = {
    "sqlite_utils", "storage.db", "bot.services", "bot.domain.knowledge", "bot.domain.measure", "bot.domain.rules",
    "bot.domain.measures", "handlers.context", "jobs.alerts", "jobs.pipeline",
}  # fmt: skip


def test_the_command_line_sends_a_checks_requests_before_opening_the_database_and_importing_the_measuring() -> None:
    """What the launcher imports before a check starts: the command line, the checker, the fetcher, storage."""
    code = "import sys, bot.launch, jobs.lane, bot.cli, bot.watching\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert AFTER_THE_FIRST_ANSWER & set(done.stdout.split()) == set()


def test_reading_a_body_here_and_suggesting_a_word_import_the_libraries_a_check_leaves_to_its_worker() -> None:
    """The check above can fail: reading a feed or a page in this process, or a suggestion, imports them."""
    code = (
        "import sys\nfrom jobs.parse import parse_items\nfrom bot.domain.vocab import Kind, load_vocabulary\n"
        f"parse_items('rss', {feed(1)!r}, base_url='https://x/')\n"
        "parse_items('html', '<a href=/a>Gallium exports halted</a>', base_url='https://x/', select='a')\n"
        "load_vocabulary().suggest(Kind.MATERIAL, 'galium')\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert set(done.stdout.split()) >= READ_ELSEWHERE


@pytest.mark.parametrize("first", ["storage.database", "storage.db", "bot.services"])
def test_sqlite_utils_comes_without_numpy_and_numpy_still_imports_after(first: str) -> None:
    code = (
        f"import sys, {first}\nassert 'numpy' not in sys.modules\nimport numpy, sqlite_utils.db\n"
        "print(numpy.__name__, sqlite_utils.db.np)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["numpy", "None"]  # numpy imports; sqlite-utils' optional use of it stays off


async def test_a_one_shot_check_that_finds_nothing_new_imports_neither_the_database_library_nor_the_knowledge(
    tmp_path: Path,
) -> None:
    """The second check of an unchanged feed (a 304), its sources file kept parsed: no sqlite-utils, no knowledge,
    no measuring, no YAML parser (bot/watching.py, `check_every_source`)."""
    env = {**os.environ, "CHOKEPOINT_DB": str(tmp_path / "check.db"), "TELEGRAM_BOT_TOKEN": ""}
    served = conditional(Response(200, feed(2), {"Content-Type": "application/rss+xml"}), etag='"v1"')
    async with serve({"/feed": served}) as base:
        sources = tmp_path / "sources.yaml"
        source = f"id: feed, name: feed, kind: rss, url: '{base}/feed', every: 10m, issuer: CN, allow_private: true"
        sources.write_text(f"sources:\n  - {{{source}}}\n")
        runs = [
            await asyncio.to_thread(imported_by, "check", "--json", "--sources", str(sources), env=env, cwd=tmp_path)
            for _ in range(2)
        ]
    (first, first_modules), (second, second_modules) = runs
    assert (first["changed"], second["unchanged"]) == (1, 1)
    assert {"sqlite_utils", "yaml"} <= first_modules
    assert (AFTER_THE_FIRST_ANSWER | {"yaml"}) & second_modules == set()
