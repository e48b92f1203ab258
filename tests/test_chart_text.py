"""The text that goes with a chart: captions with the same facts, within Telegram's caption limit."""

from __future__ import annotations

import datetime as dt

from bot.domain.chart_data import CountryGrid
from bot.domain.chart_text import CAPTION_LIMIT, country_caption, fit_caption, not_drawn
from bot.domain.chart_words import ChartWords
from bot.domain.ladder import Level

D = dt.date
WORDS = ChartWords(names={"JP": "Japan", "gallium": "gallium", "graphite": "graphite"})


def test_a_long_caption_keeps_whole_lines_within_the_limit() -> None:
    lines = [f"• line {n}: " + "x" * 80 for n in range(40)]
    caption = fit_caption(lines)
    assert len(caption) <= CAPTION_LIMIT
    assert caption.endswith("\n…") and caption.split("\n")[-2] in lines
    assert fit_caption(lines[:3]) == "\n".join(lines[:3])


def test_a_country_caption_gives_each_material_its_level_and_since_when() -> None:
    months = (D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1))
    grid = CountryGrid(
        "JP", D(2026, 9, 1), D(2026, 11, 29), months,
        (("gallium", (Level.LICENSING, Level.BANNED, Level.BANNED)), ("graphite", (Level.NORMAL,) * 3)),
        ((D(2026, 12, 31), "Ann. 9/2026"),),
    )  # fmt: skip
    assert country_caption(grid, WORDS).split("\n") == [
        "<b>Japan</b>: key materials by month, 2026-09-01 to 2026-11-29.",
        "• gallium: banned since 2026-10",
        "• graphite: normal",
        "Suspended until 2026-12-31: Ann. 9/2026.",
    ]


def test_a_chart_not_drawn_is_told_with_its_facts() -> None:
    assert not_drawn("<b>Japan</b>: …") == "The chart could not be drawn; here is what it would show.\n<b>Japan</b>: …"
