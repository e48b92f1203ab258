"""`make bench`: every benchmark, one after another, printing its figures; `make bench peer` runs the ones named.

Each runs in a process of its own: what one loads (matplotlib, the bot's modules, its caches) would otherwise
make the next one's start-up figures look cheaper than a fresh process's (the charts' warm-up read 0.02 s
after the others, 0.64 s alone)."""

from __future__ import annotations

import difflib
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence

BENCHMARKS = ("bench.check", "bench.measure", "bench.deliver", "bench.charts", "bench.flood", "bench.peer")
NAMES = tuple(module.split(".")[-1] for module in BENCHMARKS)


def unknown_names(wanted: Sequence[str]) -> list[str]:
    """One line per name that is not a benchmark, with the closest one."""
    problems = []
    for name in wanted:
        if name not in NAMES:
            closest = difflib.get_close_matches(name, NAMES, n=1, cutoff=0.0)[0]
            problems.append(f"no benchmark '{name}': the closest is '{closest}' (the benchmarks: {', '.join(NAMES)})")
    return problems


def command(module: str) -> list[str]:
    """The command that runs one benchmark in a new interpreter."""
    return [sys.executable, "-c", f"import {module}; {module}.main()"]


def run_alone(module: str) -> int:
    """Run one benchmark in a process of its own, its output in line with this one's; its exit code."""
    sys.stdout.flush()
    return subprocess.run(command(module), check=False).returncode


def main(arguments: Sequence[str], run: Callable[[str], int] = run_alone) -> int:
    """Run the benchmarks named in ARGUMENTS, or all of them, each through RUN; 2 for a name that is not a
    benchmark, 1 when one of them failed (the others still run)."""
    wanted = list(arguments) or list(NAMES)
    problems = unknown_names(wanted)
    if problems:
        print("\n".join(f"bench: {problem}" for problem in problems), file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    failed = []
    for module, name in zip(BENCHMARKS, NAMES, strict=True):
        if name in wanted:
            print(f"\n== {module}")
            if run(module) != 0:
                failed.append(name)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
