"""`make bench`: every benchmark, one after another, printing its figures; `make bench peer` runs the ones named."""

from __future__ import annotations

import difflib
import importlib
import os
import platform
import sys
from collections.abc import Sequence

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


def main(arguments: Sequence[str]) -> int:
    """Run the benchmarks named in ARGUMENTS, or all of them; 2 for a name that is not a benchmark."""
    wanted = list(arguments) or list(NAMES)
    problems = unknown_names(wanted)
    if problems:
        print("\n".join(f"bench: {problem}" for problem in problems), file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for module, name in zip(BENCHMARKS, NAMES, strict=True):
        if name in wanted:
            print(f"\n== {module}")
            importlib.import_module(module).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
