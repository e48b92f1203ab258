"""The chart data: the past of the measures rebuilt from their events, levels per day and per month."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlite_utils import Database

from bot.domain.chart_data import (
    History,
    MeasureEvent,
    country_grid,
    covers,
    exposure_bars,
    histories_from_rows,
    key_materials,
    level_on,
    level_steps,
    material_chart,
    monthly_levels,
    short_instrument,
)
from bot.domain.exposure import assess
from bot.domain.ladder import Level
from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary
from handlers.context import Services
from storage.measures import all_measure_events, all_measures
from tests.conftest import NOW

TODAY = NOW.date()
D = dt.date


def stored_histories(db: Database) -> list[History]:
    return histories_from_rows(all_measures(db), all_measure_events(db))


def steps_of(chart_series: tuple[object, ...], destination: str) -> list[tuple[dt.date, Level]]:
    [series] = [s for s in chart_series if getattr(s, "destination", None) == destination]
    return [(step.start, step.level) for step in series.steps]  # type: ignore[attr-defined]


def test_us_gallium_day_by_day_matches_the_status_history(services: Services, vocabulary: Vocabulary) -> None:
    chart = material_chart(stored_histories(services.db), vocabulary, "gallium", TODAY)
    assert steps_of(chart.series, "US") == [
        (D(2023, 1, 1), Level.NORMAL),
        (D(2023, 8, 1), Level.LICENSING),  # Announcement 23/2023 takes effect
        (D(2024, 12, 3), Level.BANNED),  # Announcement 46/2024 clause 2
        (D(2025, 11, 9), Level.LICENSING),  # suspended by Announcement 72/2025 until 2026-11-27
        (D(2026, 11, 28), Level.BANNED),  # the suspension ran out with no extension seen
    ]
    assert steps_of(chart.series, "ALL") == [(D(2023, 1, 1), Level.NORMAL), (D(2023, 8, 1), Level.LICENSING)]
    assert chart.series[0].destination == "ALL"


def test_us_gallium_per_month_takes_the_highest_level_of_the_month(services: Services, vocabulary: Vocabulary) -> None:
    chart = material_chart(stored_histories(services.db), vocabulary, "gallium", TODAY)
    [us] = [s for s in chart.series if s.destination == "US"]
    by_month = dict(monthly_levels(us.steps, chart.start, TODAY))
    assert by_month[D(2023, 7, 1)] == Level.NORMAL
    assert by_month[D(2023, 8, 1)] == Level.LICENSING
    assert by_month[D(2024, 11, 1)] == Level.LICENSING
    assert by_month[D(2024, 12, 1)] == Level.BANNED
    assert by_month[D(2025, 11, 1)] == Level.BANNED  # banned until the 8th
    assert by_month[D(2025, 12, 1)] == Level.LICENSING
    assert by_month[D(2026, 10, 1)] == Level.LICENSING
    assert by_month[D(2026, 11, 1)] == Level.BANNED  # banned again from the 28th
    assert max(by_month) == D(2026, 11, 1)


def test_the_instruments_and_the_suspension_are_marked(services: Services, vocabulary: Vocabulary) -> None:
    chart = material_chart(stored_histories(services.db), vocabulary, "gallium", TODAY)
    marks = {(m.on, m.kind, m.label) for m in chart.markers}
    assert (D(2023, 8, 1), "effective", "Ann. 23/2023") in marks
    assert (D(2025, 11, 9), "suspended", "Ann. 46/2024 c2") in marks
    assert (D(2026, 11, 28), "lapsed", "Ann. 46/2024 c2") in marks
    assert chart.suspension_ends == ()  # nothing suspended any more on 2026-11-29


def test_a_running_suspension_end_is_given(services: Services, vocabulary: Vocabulary) -> None:
    chart = material_chart(stored_histories(services.db), vocabulary, "gallium", D(2026, 6, 1))
    assert chart.suspension_ends == ((D(2026, 11, 27), "Ann. 46/2024 c2"),)
    [us] = [s for s in chart.series if s.destination == "US"]
    assert us.steps[-1].level == Level.LICENSING


def test_a_group_chart_shows_the_measures_on_its_members(services: Services, vocabulary: Vocabulary) -> None:
    chart = material_chart(stored_histories(services.db), vocabulary, "rare_earths", TODAY)
    assert steps_of(chart.series, "ALL")[-1] == (D(2025, 4, 4), Level.LICENSING)  # 18/2025, on seven members
    assert steps_of(chart.series, "JP")[-1][1] == Level.RESTRICTED  # the reported halt on dysprosium and terbium
    gallium = material_chart(stored_histories(services.db), vocabulary, "gallium", TODAY)
    assert not any("18/2025" in marker.label for marker in gallium.markers)  # none of that is gallium's
    assert any("18/2025" in marker.label for marker in chart.markers)


def measure(**changes: object) -> Measure:
    base = Measure(
        id="M", issuer="CN", instrument="MOFCOM Announcement 9/2025", title="t", source="s", url=None,
        targets=("JP",), materials=("gallium",), end_use="any", level=Level.BANNED, provenance="official",
        announced=D(2025, 1, 10), effective=D(2025, 2, 1),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_suspension_extended_then_lifted() -> None:
    history = History(
        measure(),
        (
            MeasureEvent("announced", D(2025, 1, 10)),
            MeasureEvent("suspended", D(2025, 5, 1), D(2025, 6, 30)),
            MeasureEvent("extended", D(2025, 6, 20), D(2025, 9, 30)),
            MeasureEvent("lifted", D(2025, 12, 1)),
        ),
    )
    assert history.state_on(D(2025, 1, 9)) is None
    assert history.state_on(D(2025, 1, 20)) == "announced"
    assert [(s.start, s.level) for s in level_steps([history], D(2025, 1, 1), D(2026, 1, 1))] == [
        (D(2025, 1, 1), Level.NORMAL),
        (D(2025, 2, 1), Level.BANNED),
        (D(2025, 5, 1), Level.NORMAL),
        (D(2025, 10, 1), Level.BANNED),  # the extended suspension ran out
        (D(2025, 12, 1), Level.NORMAL),
    ]


def test_japan_grid_rows_are_its_key_materials(services: Services, vocabulary: Vocabulary) -> None:
    needs = {code: sector.needs for code, sector in services.table.sectors.items()}
    materials = key_materials(needs)
    assert len(materials) == 10
    grid = country_grid(stored_histories(services.db), vocabulary, "JP", materials, TODAY)
    assert grid.months[0] == D(2023, 1, 1) and grid.months[-1] == D(2026, 11, 1)
    rows = dict(grid.rows)
    assert all(len(levels) == len(grid.months) for levels in rows.values())
    assert rows["gallium"][grid.months.index(D(2023, 7, 1))] == Level.NORMAL
    assert rows["gallium"][grid.months.index(D(2023, 8, 1))] == Level.LICENSING
    assert rows["dysprosium"][grid.months.index(D(2026, 11, 1))] == Level.RESTRICTED


def test_exposure_bars_add_up_to_the_score_before_the_buffer(services: Services) -> None:
    exposure = assess(services.table, services.status_book(), "JP", "autos", TODAY)
    bars = exposure_bars(exposure)
    total = sum(bar.points for bar in bars.bars)
    assert round(min(100.0, total * bars.buffer_factor)) == bars.score
    assert [bar.material for bar in bars.bars] == [part.material for part in exposure.materials]


def test_short_instrument_names() -> None:
    assert short_instrument(measure(instrument="MOFCOM Announcement 46/2024, clause 2")) == "Ann. 46/2024 c2"
    assert short_instrument(measure(instrument=None, title="Reported halt of samarium exports to US firms")) == (
        "Reported halt of samari…"
    )


def test_the_rebuilt_level_today_is_the_status_level_everywhere(services: Services, vocabulary: Vocabulary) -> None:
    """The past rebuilt from the events ends where the derived statuses are, for every country and material."""
    histories = stored_histories(services.db)
    book = services.status_book()
    compared = 0
    for country in vocabulary.countries:
        for material in vocabulary.materials:
            bearing = [h for h in histories if covers(h, vocabulary, country, material)]
            steps = level_steps(bearing, dt.date(2023, 1, 1), TODAY)
            assert steps[-1].level == book.level(country, material), (country, material)
            compared += steps[-1].level > Level.NORMAL
    assert compared > 100  # most pairs are under some measure: the comparison is not of zeros


def test_the_rebuilt_level_a_year_ago_is_what_the_measures_said_then(
    services: Services, vocabulary: Vocabulary
) -> None:
    """A past day reads as the measures then stood: the US gallium ban before its suspension, Japan's dysprosium
    under the licences of April 2025 before the October measures."""
    day = dt.date(2025, 6, 1)
    histories = stored_histories(services.db)
    us_gallium = [h for h in histories if covers(h, vocabulary, "US", "gallium")]
    assert level_on(level_steps(us_gallium, dt.date(2023, 1, 1), TODAY), day) == Level.BANNED
    japan_dysprosium = [h for h in histories if covers(h, vocabulary, "JP", "dysprosium")]
    assert level_on(level_steps(japan_dysprosium, dt.date(2023, 1, 1), TODAY), day) == Level.LICENSING
