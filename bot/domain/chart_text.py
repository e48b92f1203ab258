"""The text that goes with a chart: its caption (the same facts in words), and the answer when it cannot be drawn.

Every message is built by one function here, so that a message catalog can take them over; names come from the
chart's `ChartWords`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from babel.dates import format_date

from bot.domain import i18n
from bot.domain.chart_data import CountryGrid, ExposureBars, MaterialChart, Series
from bot.domain.chart_words import ChartWords
from bot.domain.html import esc
from bot.domain.i18n import N_, Words, known_language
from bot.domain.ladder import Level

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption, tags included
NOT_DRAWN = N_("The chart could not be drawn; here is what it would show.")
CHART_USAGE = N_("Usage: /chart COUNTRY|MATERIAL") + "\n" + N_("Examples: /chart japan, /chart gallium")


def _w(words: ChartWords) -> Words:
    return i18n.words(known_language(words.language))


def nothing_to_chart(name: str, start: dt.date, w: Words | None = None) -> str:
    """The answer when no measure since `start` bears on what was asked."""
    w = w or i18n.words()
    return w._(
        "No export control has applied to %(name)s since %(date)s: there is nothing to chart.",
        name=esc(name),
        date=w.date(start),
    )


def not_drawn(caption: str, w: Words | None = None) -> str:
    """The answer when drawing failed: the caption's facts as text."""
    return f"{(w or i18n.words())._(NOT_DRAWN)}\n{caption}"


def material_caption(chart: MaterialChart, words: ChartWords) -> str:
    """The facts of a material's chart: the level each destination has today, since when, set by what."""
    w = _w(words)
    lines = [
        w._(
            "<b>%(material)s</b>: level in force by destination, %(start)s to %(end)s.",
            material=esc(words.name(chart.material)),
            start=w.date(chart.start),
            end=w.date(chart.today),
        )
    ]
    lines += [_series_line(series, words, w) for series in chart.series]
    lines += _suspension_lines(chart.suspension_ends, w)
    return fit_caption(lines)


def _series_line(series: Series, words: ChartWords, w: Words) -> str:
    last = series.steps[-1]
    by = f" ({esc(last.measure.instrument or last.measure.title)})" if last.measure else ""
    moves = len(series.steps) - 1
    line = w._(
        "%(destination)s: %(level)s since %(date)s",
        destination=esc(words.name(series.destination)),
        level=esc(words.levels[last.level]),
        date=w.date(last.start),
    )
    changes = w.ngettext(
        "%(n)s change since %(year)s", "%(n)s changes since %(year)s", moves, year=series.steps[0].start.year
    )
    return f"• {line}{by}; {changes}"


def _suspension_lines(ends: Sequence[tuple[dt.date, str]], w: Words) -> list[str]:
    return [
        w._("Suspended until %(date)s: %(instrument)s.", date=w.date(end), instrument=esc(instrument))
        for end, instrument in ends
    ]


def country_caption(grid: CountryGrid, words: ChartWords) -> str:
    """The facts of a country's grid: each key material's level this month and since which month."""
    w = _w(words)
    lines = [
        w._(
            "<b>%(country)s</b>: key materials by month, %(start)s to %(end)s.",
            country=esc(words.name(grid.country)),
            start=w.date(grid.start),
            end=w.date(grid.today),
        )
    ]
    for material, levels in grid.rows:
        since = _run_start(levels)
        line = f"• {esc(words.name(material))}: {esc(words.levels[levels[-1]])}"
        if levels[-1] > Level.NORMAL:
            month = format_date(grid.months[since], "yyyy-MM", locale=w.locale)
            line += w._(" since %(month)s", month=month)
        lines.append(line)
    lines += _suspension_lines(grid.suspension_ends, w)
    return fit_caption(lines)


def _run_start(levels: Sequence[Level]) -> int:
    index = len(levels) - 1
    while index > 0 and levels[index - 1] == levels[-1]:
        index -= 1
    return index


def exposure_caption(chart: ExposureBars, words: ChartWords) -> str:
    """The facts of an exposure's breakdown: the score, each material's points and why, the buffer."""
    w = _w(words)
    lines = [
        w._(
            "<b>%(country)s · %(sector)s</b>: exposure %(score)s/100 (%(band)s) on %(date)s.",
            country=esc(words.name(chart.country)),
            sector=esc(words.name(chart.sector)),
            score=chart.score,
            band=esc(words.bands.get(chart.band, chart.band)),
            date=w.date(chart.as_of),
        )
    ]
    for bar in chart.bars:
        note = words.bar_note.format(weight=bar.weight, share=bar.china_share, level=words.levels[bar.level])
        points = w._("%(points)s points", points=w.number(bar.points, "0.0"))
        lines.append(f"• {esc(words.name(bar.material))}: {points} ({esc(note)})")
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
