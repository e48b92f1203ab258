"""Charts benchmark: the warm-up the bot does at start (matplotlib and the fonts), then the time to draw each kind
of chart to PNG against the budget of one second per chart; `--save DIR` writes them."""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from bot.domain.chart_render import ChartRenderer
from bot.domain.exposure import assess
from bot.domain.knowledge import load_exposure_table
from bot.domain.measure_file import load_measures
from bot.domain.vocab import load_vocabulary
from handlers.charts import ChartAnswer, chart_answer, exposure_chart_answer
from handlers.context import Services
from jobs.baseline import apply_baseline
from jobs.measures import apply_lapses
from storage.db import open_database

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
RUNS = 5
BUDGET = 1.0  # seconds per chart


def services() -> Services:
    """The bundled measures in an in-memory database, as on a first start."""
    vocabulary = load_vocabulary()
    db = open_database(":memory:", NOW)
    apply_baseline(db, load_measures(vocabulary), NOW, vocabulary)
    apply_lapses(db, vocabulary, NOW)
    return Services(db=db, vocabulary=vocabulary, table=load_exposure_table(vocabulary), clock=lambda: NOW)


def answers(opened: Services) -> dict[str, ChartAnswer]:
    """One chart of each kind: a material, a country, an exposure."""
    exposure = assess(opened.table, opened.status_book(), "JP", "autos", NOW.date())
    return {
        "/chart gallium": chart_answer(opened, ["gallium"]),
        "/chart japan": chart_answer(opened, ["japan"]),
        "exposure JP autos": exposure_chart_answer(opened, exposure),
    }


def main() -> None:
    """Print the warm-up time, then the time each chart takes to draw."""
    save = Path(sys.argv[sys.argv.index("--save") + 1]) if "--save" in sys.argv else None
    renderer = ChartRenderer()
    started = time.perf_counter()
    renderer.warm()
    print(f"warm-up (matplotlib and the fonts, once per process, at start): {time.perf_counter() - started:.2f} s")
    for name, answer in answers(services()).items():
        assert answer.chart is not None and answer.words is not None
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            picture = renderer.render(answer.chart, answer.words)
            times.append(time.perf_counter() - started)
        verdict = "within" if max(times) < BUDGET else "OVER"
        print(f"{name:18} median {statistics.median(times):.2f} s, worst {max(times):.2f} s over {RUNS} draws "
              f"({verdict} the {BUDGET:.0f} s budget), {len(picture) // 1024} KiB")  # fmt: skip
        if save is not None:
            (save / f"chart-{name.split()[-1].lower()}.png").write_bytes(picture)


if __name__ == "__main__":
    main()
