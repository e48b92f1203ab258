"""Drawing the charts as PNG with matplotlib's Agg backend: a material's step chart, a country's grid, an exposure's
bars. Every word comes from a `ChartWords`.

matplotlib is imported when the first chart is drawn, not at import. Drawing is blocking work: callers run it in a
worker thread (handlers/charts.py); one renderer draws one chart at a time, since matplotlib's font cache is shared.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.domain.chart_data import Bar, CountryGrid, ExposureBars, MaterialChart
from bot.domain.chart_fonts import SAMPLE, font_families
from bot.domain.chart_words import ChartWords
from bot.domain.ladder import Level

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Chart = MaterialChart | CountryGrid | ExposureBars
LEVEL_COLOURS: dict[Level, str] = {
    Level.NORMAL: "#e9ecef",
    Level.WATCH: "#ffe08a",
    Level.LICENSING: "#ffb347",
    Level.REVIEW: "#f47c48",
    Level.RESTRICTED: "#d9433a",
    Level.BANNED: "#6e1423",
}
LINE_COLOURS = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#2c3e50")
DPI = 100
SIZE = (10.0, 5.6)
MARK_COLOURS = {"effective": "#555555", "suspended": "#2e8b57", "extended": "#2e8b57", "lapsed": "#c0392b",
                "lifted": "#2e8b57", "withdrawn": "#2e8b57"}  # fmt: skip


class ChartRenderer:
    """Draws charts to PNG bytes; finds the font once, on the first chart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: list[str] | None = None

    def render(self, chart: Chart, words: ChartWords) -> bytes:
        """The chart as a PNG image."""
        return self._drawn(lambda figure: draw(figure, chart, words))

    def warm(self) -> None:
        """Load matplotlib and the fonts, and set a line in every script the labels use, so that the first chart
        a person asks for costs no more than the next ones."""
        self._drawn(lambda figure: figure.text(0.1, 0.5, f"gallium {SAMPLE}"), size=(2.0, 1.0))

    def _drawn(self, drawing: Callable[[Figure], object], size: tuple[float, float] = SIZE) -> bytes:
        import matplotlib
        from matplotlib.figure import Figure

        with self._lock:
            if self._families is None:
                self._families = font_families()
            with matplotlib.rc_context({"font.family": self._families}):
                figure = Figure(figsize=size, dpi=DPI, layout="constrained")
                drawing(figure)
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=DPI)
            return buffer.getvalue()


def draw(figure: Figure, chart: Chart, words: ChartWords) -> None:
    """Draw a chart of any kind on a figure."""
    if isinstance(chart, MaterialChart):
        draw_material(figure, chart, words)
    elif isinstance(chart, CountryGrid):
        draw_grid(figure, chart, words)
    else:
        draw_bars(figure, chart, words)


def _level_axis(ax: Axes, words: ChartWords) -> None:
    ax.set_yticks([int(level) for level in Level], [words.levels[level] for level in Level])
    ax.set_ylim(-0.4, int(Level.BANNED) + 0.9)
    ax.set_ylabel(words.level_axis)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)


def draw_material(figure: Figure, chart: MaterialChart, words: ChartWords) -> None:
    """Effective level per destination as steps, instruments marked, today and suspension ends drawn."""
    ax = figure.add_subplot()
    figure.suptitle(words.material_title.format(material=words.name(chart.material), year=chart.start.year))
    for index, series in enumerate(chart.series):
        offset = 0.07 * (index - (len(chart.series) - 1) / 2)  # destinations at one level stay apart
        days = [_x(step.start) for step in series.steps] + [_x(chart.today)]
        levels = [int(step.level) + offset for step in series.steps]
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        ax.step(days, [*levels, levels[-1]], where="post", linewidth=2.2, color=colour,
                label=words.name(series.destination))  # fmt: skip
    top = int(Level.BANNED) + 0.55
    for marker in chart.markers:
        ax.axvline(_x(marker.on), color=MARK_COLOURS[marker.kind], linewidth=0.7, linestyle=":")
        ax.text(_x(marker.on), top, f" {marker.label}", rotation=90, fontsize=7, va="top", ha="right",
                color=MARK_COLOURS[marker.kind])  # fmt: skip
    _today_and_ends(ax, chart.today, chart.suspension_ends, words)
    ax.set_xlim(_x(chart.start), _x(_right_edge(chart.today, chart.suspension_ends)))
    _date_axis(ax)
    _level_axis(ax, words)
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=max(1, len(chart.series)), fontsize=8, frameon=False
    )


def _x(day: dt.date) -> float:
    """A day as matplotlib's date number."""
    from matplotlib.dates import date2num

    return float(date2num(day))  # type: ignore[no-untyped-call]


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _right_edge(today: dt.date, ends: Sequence[tuple[dt.date, str]]) -> dt.date:
    return max([today + dt.timedelta(days=30), *(end + dt.timedelta(days=30) for end, _ in ends)])


def _today_and_ends(ax: Axes, today: dt.date, ends: Sequence[tuple[dt.date, str]], words: ChartWords) -> None:
    ax.axvline(_x(today), color="#000000", linewidth=1.2, linestyle="--")
    ax.text(_x(today), -0.3, f" {words.today} {today.isoformat()}", fontsize=8, ha="right", va="bottom")
    for end, instrument in ends:
        ax.axvline(_x(end), color="#2e8b57", linewidth=1.2, linestyle="-.")
        note = words.suspended_until.format(instrument=instrument, date=end.isoformat())
        ax.text(_x(end), 0.3, f" {note}", fontsize=7, rotation=90, va="bottom", ha="right", color="#2e8b57")


def draw_grid(figure: Figure, chart: CountryGrid, words: ChartWords) -> None:
    """A country's key materials by month, each cell coloured by the highest level of the month."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    ax = figure.add_subplot()
    figure.suptitle(words.country_title.format(country=words.name(chart.country), year=chart.start.year))
    cells = [[int(level) for level in levels] for _, levels in chart.rows]
    colours = ListedColormap([LEVEL_COLOURS[level] for level in Level])
    norm = BoundaryNorm([level - 0.5 for level in range(len(Level) + 1)], len(Level))
    columns, rows = len(chart.months), len(chart.rows)
    ax.pcolormesh([i - 0.5 for i in range(columns + 1)], [i - 0.5 for i in range(rows + 1)], cells, cmap=colours,
                  norm=norm, edgecolors="#ffffff", linewidth=0.5)  # fmt: skip
    ax.set_ylim(rows - 0.5, -0.5)  # the first material on top
    ax.set_xlim(-0.5, columns - 0.5)
    ax.set_yticks(range(rows), [words.name(material) for material, _ in chart.rows])
    january = [i for i, month in enumerate(chart.months) if month.month in (1, 7)]
    ax.set_xticks(january, [chart.months[i].strftime("%Y-%m") for i in january])
    now = len(chart.months) - 1
    ax.axvline(now + 0.5, color="#000000", linewidth=1.5, linestyle="--")
    ax.text(now + 0.5, -0.7, f"{words.today} {chart.today.isoformat()}", fontsize=8, ha="right", va="bottom")
    notes = [words.suspended_until.format(instrument=i, date=d.isoformat()) for d, i in chart.suspension_ends]
    if notes:
        ax.set_xlabel("\n".join(notes), fontsize=8, color="#2e8b57")
    legend = [Patch(color=LEVEL_COLOURS[level], label=words.levels[level]) for level in Level]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(Level), fontsize=8,
              frameon=False)  # fmt: skip


def draw_bars(figure: Figure, chart: ExposureBars, words: ChartWords) -> None:
    """An exposure score's parts by material, largest on top, with the buffer noted."""
    ax = figure.add_subplot()
    title = words.exposure_title.format(
        country=words.name(chart.country),
        sector=words.name(chart.sector),
        score=chart.score,
        band=words.bands.get(chart.band, chart.band),
    )
    figure.suptitle(title)
    bars: Sequence[Bar] = list(reversed(chart.bars))
    positions = range(len(bars))
    ax.barh(positions, [bar.points for bar in bars], color=[LEVEL_COLOURS[bar.level] for bar in bars],
            edgecolor="#555555", linewidth=0.5)  # fmt: skip
    ax.set_yticks(positions, [words.name(bar.material) for bar in bars])
    widest = max([bar.points for bar in bars] + [1.0])
    for position, bar in zip(positions, bars, strict=True):
        note = words.bar_note.format(weight=bar.weight, share=bar.china_share, level=words.levels[bar.level])
        ax.text(bar.points + widest * 0.01, position, f"{bar.points:.1f} · {note}", va="center", fontsize=8)
    ax.set_xlim(0, widest * 1.6)
    ax.set_xlabel(words.bar_axis)
    if chart.buffer_months is None:
        footnote = words.no_buffer
    else:
        footnote = words.buffer.format(months=chart.buffer_months, factor=chart.buffer_factor)
    ax.set_title(footnote, fontsize=9, loc="left")
