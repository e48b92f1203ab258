"""`make bench NAME…` runs the benchmarks named, and a name that is not one gets the closest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import command, main

ROOT = Path(__file__).parent.parent


def test_make_passes_the_names_after_bench_to_the_benchmarks() -> None:
    shown = subprocess.run(["make", "-n", "bench", "peer", "measure"], cwd=ROOT, capture_output=True, text=True)

    assert shown.returncode == 0, shown.stderr
    assert "-m bench peer measure" in shown.stdout
    assert "No rule" not in shown.stderr


def test_make_bench_alone_runs_every_benchmark() -> None:
    shown = subprocess.run(["make", "-n", "bench"], cwd=ROOT, capture_output=True, text=True)

    assert shown.returncode == 0, shown.stderr
    assert [line.split()[1:] for line in shown.stdout.splitlines() if " -m bench" in line] == [["-m", "bench"]]


def test_a_name_that_is_no_benchmark_is_refused_with_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pear"]) == 2

    err = capsys.readouterr().err
    assert "no benchmark 'pear': the closest is 'peer'" in err
    assert "check, measure, deliver, charts, flood, peer" in err


def test_the_peer_spread_shows_both_ends_of_a_row_alike(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.peer import Figures, spread

    spread(
        [
            Figures(3.1, 9.0, 1_650.4, 2_500.0, 99.48, 0.19, 0.31),
            Figures(2.99, 9.5, 1_700.0, 2_600.0, 101.2, 0.21, 0.29),
        ]
    )

    shown = capsys.readouterr().out
    assert "99–101  aim ≤ 150: met" in shown
    assert "2.99–3.10  aim ≥ 3: not met" in shown and "1,650–1,700  aim ≥ 1500: met" in shown
    assert f"  {'the machine: the loop, s':34s} {'0.29–0.31':>17s}" in shown  # aligned with the aims above


def test_the_peer_spread_shows_each_row_in_its_own_unit_whatever_its_values(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.peer import Figures, spread

    spread(
        [
            Figures(3.02, 9.95, 1_604.0, 2_513.0, 99.05, 0.19, 0.29),
            Figures(3.24, 10.0, 1_633.0, 2_571.0, 99.7, 0.22, 0.36),
        ]
    )

    shown = capsys.readouterr().out
    assert "99–100  aim ≤ 150: met" in shown  # megabytes are whole, below 100 as above it
    assert "3.02–3.24  aim ≥ 3: met" in shown and "0.19–0.22  aim ≤ 0.3: met" in shown


def test_each_benchmark_runs_in_a_new_interpreter_and_one_that_fails_does_not_stop_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran: list[str] = []

    def run(module: str) -> int:
        ran.append(module)
        return 1 if module == "bench.deliver" else 0

    assert main(["peer", "deliver", "charts"], run=run) == 1
    assert ran == ["bench.deliver", "bench.charts", "bench.peer"]  # in the suite's order
    assert "bench: failed: deliver" in capsys.readouterr().err
    assert command("bench.charts") == [sys.executable, "-c", "import bench.charts; bench.charts.main()"]
