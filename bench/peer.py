"""Side by side with urlwatch 2.29: whole processes on 1,000 RSS feeds of 20 items, 30 loopback hosts, 50 ms each.

`chokepoint check --json` and `urlwatch` each run as their own process on the same feeds: a cold cycle (a new
database or cache, every item new) then a warm one (ETag → 304). Printed for each of three runs in a row: each
time, the ratio, warm sources/s, the peak memory of each process tree, and chokepoint's start-up (process start
to its first request); then each figure's spread over the runs against its aim.
urlwatch goes into a temporary virtual environment; where pip cannot install it, only chokepoint's figures are
printed, with the reason.
"""

from __future__ import annotations

import compileall
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.check import start_server

FEEDS = 1_000
HOSTS = 30
DELAY_MS = 50
URLWATCH = "urlwatch==2.29"
STARTUP_RUNS = 5
TREE_EVERY = 0.1  # seconds between listings of the measured process tree
PAGE = os.sysconf("SC_PAGE_SIZE")
RUNS = 3  # the aims must hold on three runs in a row


@dataclass(frozen=True)
class Run:
    """One whole process: wall time, CPU time (its own and its children's), the peak resident memory of its
    tree, and what it printed."""

    seconds: float
    cpu: float
    peak_mb: float
    output: str


def feed_urls(port: int) -> list[str]:
    """The feeds, spread over HOSTS loopback addresses."""
    return [f"http://127.0.0.{1 + n % HOSTS}:{port}/feed/{n}" for n in range(FEEDS)]


def sources_yaml(urls: Sequence[str]) -> str:
    """A chokepoint sources file watching these feeds."""
    rows = [
        f"  - id: feed-{n}\n    name: Feed {n}\n    kind: rss\n    url: {url}\n    every: 10m\n"
        "    allow_private: true\n"  # the feeds are on loopback
        for n, url in enumerate(urls)
    ]
    return "sources:\n" + "".join(rows)


def urls_yaml(urls: Sequence[str]) -> str:
    """An urlwatch job list watching these feeds."""
    return "---\n".join(f"name: feed {n}\nurl: {url}\n" for n, url in enumerate(urls))


def measure(command: Sequence[str], env: dict[str, str]) -> Run:
    """Run a command to its end, sampling the resident memory of its process tree every 10 ms.

    CPU time is reported beside wall time: on a shared machine the wall time also counts waiting for a core.
    The tree is listed again every 0.1 s, not at each sample: listing reads every process on the machine (~1 ms
    of CPU), which at every sample took about a tenth of a core from the run being measured. The end is taken
    when a thread waiting on the process reaps it, not at the next sample: polling between samples counted up
    to 10 ms after the exit.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read() if process.stdout else ""))
    reader.start()
    ended: list[tuple[float, int, Any]] = []  # when, the wait status, the resource usage

    def reap() -> None:
        _, status, usage = os.wait4(process.pid, 0)
        ended.append((time.perf_counter(), status, usage))

    reaper = threading.Thread(target=reap)
    reaper.start()
    peak, tree, listed = 0, [process.pid], started
    while reaper.is_alive():
        if time.perf_counter() - listed >= TREE_EVERY:
            tree, listed = process_tree(process.pid), time.perf_counter()
        peak = max(peak, sum(resident(member) for member in tree))
        reaper.join(0.01)
    [(finished, status, usage)] = ended
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by the thread, with its resource usage
    reader.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {process.returncode}")
    return Run(finished - started, usage.ru_utime + usage.ru_stime, peak / 2**20, "".join(output))


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (empty once it is gone)."""
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def resident(pid: int) -> int:
    """The resident bytes of one process (0 once it is gone), from /proc: ~0.02 ms."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def install_urlwatch(folder: Path) -> Path | None:
    """urlwatch 2.29 in a new virtual environment; None (after saying why) when pip cannot install it."""
    environment = folder / "urlwatch-venv"
    venv.create(environment, with_pip=True)
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, URLWATCH], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        print(f"urlwatch: skipped, `pip install {URLWATCH}` failed: {last}")
        return None
    return environment / "bin" / "urlwatch"


def chokepoint_cycle(folder: Path) -> tuple[Run, dict[str, Any]]:
    """One `chokepoint check --json` over the sources file, on the database in FOLDER."""
    env = {**os.environ, "CHOKEPOINT_DB": str(folder / "chokepoint.db")}
    command = [str(Path(sys.executable).parent / "chokepoint"), "check", "--json", "--sources", str(folder / "s.yaml")]
    run = measure(command, env)
    summary: dict[str, Any] = json.loads(run.output)
    return run, summary


def urlwatch_cycle(urlwatch: Path, folder: Path) -> Run:
    """One urlwatch run over its job list, with its cache and configuration in FOLDER."""
    env = {**os.environ, "HOME": str(folder)}
    files = {"--urls": "urls.yaml", "--config": "urlwatch.yaml", "--cache": "cache.db", "--hooks": "hooks.py"}
    return measure([str(urlwatch), *(part for flag, name in files.items() for part in (flag, str(folder / name)))], env)


def compile_bytecode() -> None:
    """Write the bytecode of chokepoint's own modules, as `pip install` does for an installed package (and did for
    urlwatch): a checkout run under PYTHONDONTWRITEBYTECODE compiles every module again at each start, ~0.15 s
    here that an installed chokepoint never spends."""
    for package in ("bot", "handlers", "jobs", "storage"):
        compileall.compile_dir(Path(__file__).parent.parent / package, quiet=1)


def startup(folder: Path) -> float:
    """Median seconds from starting `chokepoint check` to its first request, over STARTUP_RUNS new databases."""
    times = []
    for n in range(STARTUP_RUNS):
        with socket.create_server(("127.0.0.1", 0)) as listener:
            sources = folder / f"startup-{n}.yaml"
            sources.write_text(sources_yaml([f"http://127.0.0.1:{listener.getsockname()[1]}/feed/0"]))
            env = {**os.environ, "CHOKEPOINT_DB": str(folder / f"startup-{n}.db")}
            command = [str(Path(sys.executable).parent / "chokepoint"), "check", "--sources", str(sources)]
            started = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            connection, _ = listener.accept()
            times.append(time.perf_counter() - started)
            process.kill()
            process.wait(timeout=60)
            connection.close()
    return statistics.median(times)


def report(
    ours: tuple[Run, Run], summaries: tuple[dict[str, Any], dict[str, Any]], theirs: tuple[Run, Run] | None
) -> None:
    """The side-by-side table: wall time (and CPU time) of each whole process, and their ratio."""
    print(f"{FEEDS} RSS feeds of 20 items on {HOSTS} loopback hosts, each answering after {DELAY_MS} ms")
    print(f"{'cycle':5s} {'chokepoint':>19s} {'urlwatch 2.29':>19s} {'ratio':>6s}  (CPU)   chokepoint in-process")
    for name, mine, summary, other in zip(("cold", "warm"), ours, summaries, theirs or (None, None), strict=True):
        versus = f"{other.seconds:7.2f} s ({other.cpu:5.2f})" if other else f"{'-':>19s}"
        ratio = f"{other.seconds / mine.seconds:5.1f}× ({other.cpu / mine.cpu:4.1f}×)" if other else ""
        print(f"{name:5s} {mine.seconds:7.2f} s ({mine.cpu:5.2f}) {versus} {ratio}  {summary['seconds']:.2f} s")
    warm, in_process = ours[1], float(summaries[1]["seconds"])
    print(f"warm: {FEEDS / warm.seconds:.0f} sources/s whole process, {FEEDS / in_process:.0f} in-process")
    peaks = f"chokepoint {max(run.peak_mb for run in ours):.0f} MB"
    if theirs:
        peaks += f", urlwatch {max(run.peak_mb for run in theirs):.0f} MB"
    print(f"peak memory of the process tree: {peaks}")


def check_summaries(cold: dict[str, Any], warm: dict[str, Any]) -> None:
    """Refuse figures from a run that did not do the work."""
    if cold["failed"] or cold["changed"] != FEEDS or warm["unchanged"] != FEEDS:
        raise RuntimeError(f"unexpected check results: cold {cold}, warm {warm}")


@dataclass(frozen=True)
class Figures:
    """One side-by-side run's figures, against the aims of a check cycle."""

    cold_ratio: float | None  # urlwatch's time over chokepoint's, whole processes
    warm_ratio: float | None
    warm_whole: float  # sources/s of the whole warm process
    warm_in_process: float  # sources/s of the warm cycle as the check times itself
    peak_mb: float
    startup: float
    pace: float  # seconds a ten-million-step Python loop took before the run: the machine's hour


@dataclass(frozen=True)
class Aim:
    """What a figure is held to: its name, how it is read from a run's figures, the aim, whether higher is better,
    and the decimals it is written with (ratios and seconds two, sources/s and megabytes none)."""

    name: str
    figure: Callable[[Figures], float | None]
    aim: float
    higher: bool
    decimals: int


AIMS = (
    Aim("cold vs urlwatch", lambda f: f.cold_ratio, 3.0, True, 2),
    Aim("warm vs urlwatch", lambda f: f.warm_ratio, 4.0, True, 2),
    Aim("warm sources/s, in-process", lambda f: f.warm_in_process, 1_500.0, True, 0),
    Aim("warm sources/s, whole process", lambda f: f.warm_whole, 1_500.0, True, 0),
    Aim("peak memory of the tree, MB", lambda f: f.peak_mb, 150.0, False, 0),
    Aim("start-up to the first request, s", lambda f: f.startup, 0.3, False, 2),
)


def one_run(folder: Path, urls: Sequence[str], urlwatch: Path | None) -> Figures:
    """A cold and a warm cycle of each tool, each in a new database or cache in FOLDER; the start-up."""
    pace = machine_pace()
    print(f"machine: a ten-million-step Python loop took {pace:.2f} s")
    folder.mkdir()
    (folder / "s.yaml").write_text(sources_yaml(urls))
    (folder / "urls.yaml").write_text(urls_yaml(urls))
    cold, cold_summary = chokepoint_cycle(folder)
    other_cold = urlwatch_cycle(urlwatch, folder) if urlwatch else None
    warm, warm_summary = chokepoint_cycle(folder)
    other_warm = urlwatch_cycle(urlwatch, folder) if urlwatch else None
    check_summaries(cold_summary, warm_summary)
    theirs = (other_cold, other_warm) if other_cold and other_warm else None
    report((cold, warm), (cold_summary, warm_summary), theirs)
    first = startup(folder)
    print(f"start-up of `chokepoint check` to its first request: {first:.2f} s (median of {STARTUP_RUNS})")
    return Figures(
        cold_ratio=other_cold.seconds / cold.seconds if other_cold else None,
        warm_ratio=other_warm.seconds / warm.seconds if other_warm else None,
        warm_whole=FEEDS / warm.seconds,
        warm_in_process=FEEDS / float(warm_summary["seconds"]),
        peak_mb=max(cold.peak_mb, warm.peak_mb),
        startup=first,
        pace=pace,
    )


def machine_pace() -> float:
    """Seconds a ten-million-step Python loop takes now, at a module's top level in a new interpreter (the figure the
    README gives beside each set). On a shared machine the same work takes 20–50 % longer in some hours than in
    others: chokepoint's cold check is bound by CPU and urlwatch's by latency, so the ratios move with it, and this
    figure says which hour a run had."""
    loop = "import time\nt = time.perf_counter()\nfor i in range(10_000_000): pass\nprint(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", loop], capture_output=True, text=True, check=True).stdout)


def spread(runs: Sequence[Figures]) -> None:
    """Each aim: its lowest and highest figure over the runs, and whether every run met it."""
    print(f"\nover {len(runs)} runs in a row:")
    for aim in AIMS:
        values = [value for value in (aim.figure(run) for run in runs) if value is not None]
        if not values:
            print(f"  {aim.name:34s} -")
            continue
        met = all(value >= aim.aim if aim.higher else value <= aim.aim for value in values)
        shown = f"{min(values):,.{aim.decimals}f}–{max(values):,.{aim.decimals}f}"
        against = f"aim {'≥' if aim.higher else '≤'} {aim.aim:g}: {'met' if met else 'not met'}"
        print(f"  {aim.name:34s} {shown:>17s}  {against}")
    paces = [run.pace for run in runs]
    print(f"  {'the machine: the loop, s':34s} {f'{min(paces):.2f}–{max(paces):.2f}':>17s}")


def main() -> None:
    """`make bench peer`: RUNS side-by-side runs in a row, then the spread of each figure against its aim."""
    compile_bytecode()
    server, port = start_server(HOSTS, DELAY_MS)
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            urls = feed_urls(port)
            urlwatch = install_urlwatch(folder)
            os.sync()  # the install's writes go to the disk now, not during the first run's (a database's) writes
            runs = []
            for n in range(RUNS):
                print(f"\nrun {n + 1} of {RUNS}")
                runs.append(one_run(folder / f"run-{n}", urls, urlwatch))
            spread(runs)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
