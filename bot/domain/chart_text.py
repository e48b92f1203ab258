"""The text that goes with a chart: its caption (the same facts in words), and the answer when it cannot be drawn.

Every message is built by one function here, so that a message catalog can take them over; names come from the
chart's `ChartWords`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.domain.chart_data import CountryGrid, ExposureBars, MaterialChart, Series
from bot.domain.chart_words import ChartWords
from bot.domain.html import esc
from bot.domain.ladder import Level

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption, tags included
NOT_DRAWN = "The chart could not be drawn; here is what it would show."
CHART_USAGE = "Usage: /chart COUNTRY|MATERIAL\nExamples: /chart japan, /chart gallium"


def nothing_to_chart(name: str, start: dt.date) -> str:
    """The answer when no measure since `start` bears on what was asked."""
    return f"No export control has applied to {esc(name)} since {start.isoformat()}: there is nothing to chart."


def not_drawn(caption: str) -> str:
    """The answer when drawing failed: the caption's facts as text."""
    return f"{NOT_DRAWN}\n{caption}"


def material_caption(chart: MaterialChart, words: ChartWords) -> str:
    """The facts of a material's chart: the level each destination has today, since when, set by what."""
    lines = [f"<b>{esc(words.name(chart.material))}</b>: level in force by destination, {_period(chart)}"]
    lines += [_series_line(series, words) for series in chart.series]
    lines += _suspension_lines(chart.suspension_ends)
    return fit_caption(lines)


def _period(chart: MaterialChart | CountryGrid) -> str:
    return f"{chart.start.isoformat()} to {chart.today.isoformat()}."


def _series_line(series: Series, words: ChartWords) -> str:
    last = series.steps[-1]
    by = f" ({esc(last.measure.instrument or last.measure.title)})" if last.measure else ""
    moves = len(series.steps) - 1
    return (
        f"• {esc(words.name(series.destination))}: {esc(words.levels[last.level])} since "
        f"{last.start.isoformat()}{by}; {moves} change{'s' if moves != 1 else ''} since {series.steps[0].start.year}"
    )


def _suspension_lines(ends: Sequence[tuple[dt.date, str]]) -> list[str]:
    return [f"Suspended until {end.isoformat()}: {esc(instrument)}." for end, instrument in ends]


def country_caption(grid: CountryGrid, words: ChartWords) -> str:
    """The facts of a country's grid: each key material's level this month and since which month."""
    lines = [f"<b>{esc(words.name(grid.country))}</b>: key materials by month, {_period(grid)}"]
    for material, levels in grid.rows:
        since = _run_start(levels)
        lines.append(
            f"• {esc(words.name(material))}: {esc(words.levels[levels[-1]])}"
            + (f" since {grid.months[since].strftime('%Y-%m')}" if levels[-1] > Level.NORMAL else "")
        )
    lines += _suspension_lines(grid.suspension_ends)
    return fit_caption(lines)


def _run_start(levels: Sequence[Level]) -> int:
    index = len(levels) - 1
    while index > 0 and levels[index - 1] == levels[-1]:
        index -= 1
    return index


def exposure_caption(chart: ExposureBars, words: ChartWords) -> str:
    """The facts of an exposure's breakdown: the score, each material's points and why, the buffer."""
    title = f"{esc(words.name(chart.country))} · {esc(words.name(chart.sector))}"
    lines = [f"<b>{title}</b>: exposure {chart.score}/100 ({esc(chart.band)}) on {chart.as_of.isoformat()}."]
    for bar in chart.bars:
        note = words.bar_note.format(weight=bar.weight, share=bar.china_share, level=words.levels[bar.level])
        lines.append(f"• {esc(words.name(bar.material))}: {bar.points:.1f} points ({esc(note)})")
    if chart.buffer_months is None:
        lines.append(esc(words.no_buffer) + ".")
    else:
        lines.append(esc(words.buffer.format(months=chart.buffer_months, factor=chart.buffer_factor)) + ".")
    return fit_caption(lines)


def fit_caption(lines: Sequence[str]) -> str:
    """Lines joined to fit a photo caption: whole lines only, '…' where some were left out."""
    kept: list[str] = []
    for line in lines:
        if len("\n".join([*kept, line, "…"])) > CAPTION_LIMIT:
            return "\n".join([*kept, "…"])
        kept.append(line)
    return "\n".join(kept)
