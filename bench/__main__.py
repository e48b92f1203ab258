"""`make bench`: every benchmark, one after another, printing its figures."""

from __future__ import annotations

import importlib
import os
import platform
import sys

BENCHMARKS = ("bench.check", "bench.measure", "bench.deliver", "bench.charts", "bench.flood", "bench.peer")


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    wanted = sys.argv[1:] or [name.split(".")[-1] for name in BENCHMARKS]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name in BENCHMARKS:
        if name.split(".")[-1] in wanted:
            print(f"\n== {name}")
            importlib.import_module(name).main()


main()
