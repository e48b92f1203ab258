"""The exposure model: arithmetic on a small table of cases, then the bundled data's answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.domain.answers import exposure_message
from bot.domain.exposure import (
    ASSUMED_SHARE,
    DRIVERS_SHOWN,
    assess,
    band_for,
    buffer_factor,
    china_share,
    exposure_score,
    rank_sectors,
)
from bot.domain.html import esc
from bot.domain.i18n import words
from bot.domain.knowledge import Buffer, ExposureTable, Figure, Sector
from bot.domain.ladder import Level
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from handlers.context import Services

TODAY = dt.date(2026, 11, 29)


def status(target: str, material: str, level: Level, day: str = "2026-01-06", until: str | None = None) -> Status:
    return Status(
        issuer="CN",
        target=target,
        material=material,
        level=level,
        since=dt.datetime.fromisoformat(f"{day}T00:00:00+00:00"),
        title=f"{material} to {target}",
        source=f"Announcement on {day}",
        until=dt.date.fromisoformat(until) if until else None,
    )


def small_table(buffer_months: float | None = None) -> ExposureTable:
    return ExposureTable(
        world={"gallium": Figure(0.99, 2025, "world gallium")},
        by_country={"JP": {"dysprosium": Figure(1.0, 2024, "jp dy"), "rare_earths": Figure(0.6, 2024, "jp re")}},
        sectors={"autos": Sector("autos", {"dysprosium": 0.5, "neodymium": 0.25, "gallium": 0.25}, "")},
        buffers={"JP": Buffer(buffer_months, "jp buffer")} if buffer_months is not None else {},
    )


@pytest.mark.parametrize(
    ("statuses", "buffer_months", "expected_score"),
    [
        # nothing in force: nothing at risk
        ([], None, 0),
        # Dy banned: 0.5 weight × 1.0 share × 1.0 severity
        ([status("JP", "dysprosium", Level.BANNED)], None, 50),
        # a measure on ALL applies to Japan: licensing 0.4 × 0.5 = 20
        ([status("ALL", "dysprosium", Level.LICENSING)], None, 20),
        # a group measure applies to members: rare_earths restricted hits Dy (0.5×1×0.85) and Nd (0.25×0.6×0.85)
        ([status("JP", "rare_earths", Level.RESTRICTED)], None, 55),
        # the highest of the country's own and ALL's counts
        ([status("ALL", "dysprosium", Level.WATCH), status("JP", "dysprosium", Level.REVIEW)], None, 30),
        # gallium with no Japanese figure uses China's world share: 0.25 × 0.99 × 1.0
        ([status("JP", "gallium", Level.BANNED)], None, 25),
        # a short buffer amplifies (1.3 − 0.1 × 1 = 1.2): 50 × 1.2
        ([status("JP", "dysprosium", Level.BANNED)], 1.0, 60),
        # a long buffer damps (floor 0.7): 50 × 0.7
        ([status("JP", "dysprosium", Level.BANNED)], 12.0, 35),
        # everything banned with no buffer caps at 100 only after the buffer factor
        ([status("JP", m, Level.BANNED) for m in ("dysprosium", "neodymium", "gallium")], 0.0, 100),
    ],
)
def test_score_is_weight_times_share_times_severity_times_buffer(
    vocabulary: Vocabulary, statuses: list[Status], buffer_months: float | None, expected_score: int
) -> None:
    book = StatusBook(statuses, vocabulary)
    result = assess(small_table(buffer_months), book, "JP", "autos", TODAY)
    assert result.score == expected_score
    assert result.band == band_for(expected_score)


@pytest.mark.parametrize(("score", "band"), [(0, "low"), (24, "low"), (25, "moderate"), (50, "high"), (75, "severe")])
def test_bands(score: int, band: str) -> None:
    assert band_for(score) == band


def test_buffer_factor_is_bounded() -> None:
    assert buffer_factor(None) == 1.0
    assert buffer_factor(Buffer(0, "")) == pytest.approx(1.3)
    assert buffer_factor(Buffer(3, "")) == pytest.approx(1.0)
    assert buffer_factor(Buffer(60, "")) == pytest.approx(0.7)


def test_share_falls_back_from_country_to_group_to_bloc_to_world(vocabulary: Vocabulary) -> None:
    table = small_table()
    assert china_share(table, vocabulary, "JP", "dysprosium").source == "jp dy"
    assert china_share(table, vocabulary, "JP", "terbium").source == "jp re"
    assert china_share(table, vocabulary, "US", "gallium").source == "world gallium"
    assert china_share(table, vocabulary, "US", "indium") == ASSUMED_SHARE


def test_other_issuers_do_not_count_as_chinese_measures(vocabulary: Vocabulary) -> None:
    us_measure = Status("US", "JP", "dysprosium", Level.BANNED, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "t", "s")
    assert assess(small_table(), StatusBook([us_measure], vocabulary), "JP", "autos", TODAY).score == 0


def test_effective_status_of_equal_levels_is_the_oldest(vocabulary: Vocabulary) -> None:
    older = status("JP", "dual_use", Level.RESTRICTED, "2026-01-06")
    newer = status("JP", "dysprosium", Level.RESTRICTED, "2026-01-10")
    assert StatusBook([newer, older], vocabulary).effective("JP", "dysprosium") == older


def test_drivers_name_material_share_source_level_and_event(vocabulary: Vocabulary) -> None:
    book = StatusBook([status("JP", "dysprosium", Level.BANNED)], vocabulary)
    result = assess(small_table(2), book, "JP", "autos", TODAY)
    assert result.drivers[0] == (
        "Dysprosium: 100% from China (jp dy); banned since 2026-01-06 (Announcement on 2026-01-06)."
    )
    assert result.drivers[-1] == "Buffer: about 2 months of supply (jp buffer)."


def test_a_measure_in_force_again_after_its_suspension_ran_out_says_both(vocabulary: Vocabulary) -> None:
    back = replace(status("JP", "gallium", Level.BANNED, "2026-11-28"), lapsed=dt.date(2026, 11, 27))
    result = assess(small_table(), StatusBook([back], vocabulary), "JP", "autos", TODAY)
    assert result.materials[0].level == Level.BANNED  # scored at the measure's own level
    assert any("in force again since the suspension ran out on 2026-11-27, no extension seen" in s
               for s in result.drivers)  # fmt: skip


def test_military_only_measures_count_for_defence_only(vocabulary: Vocabulary, table: ExposureTable) -> None:
    military = replace(status("JP", "dual_use", Level.RESTRICTED), end_use="military")
    book = StatusBook([military], vocabulary)
    assert book.level("JP", "gallium") == Level.NORMAL
    assert book.level("JP", "gallium", military=True) == Level.RESTRICTED
    assert assess(table, book, "JP", "semiconductors", TODAY).score == 0
    defence = assess(table, book, "JP", "defense", TODAY)
    assert defence.score > 0 and "for military end users" in " ".join(defence.drivers)


def test_japan_autos_is_high_or_severe_driven_by_heavy_rare_earths(services: Services) -> None:
    result = assess(services.table, services.status_book(), "JP", "autos", TODAY)
    assert result.band in ("high", "severe")
    assert {part.material for part in result.materials[:3]} >= {"dysprosium", "terbium"}
    drivers = " ".join(result.drivers)
    assert "100% from China (Nomura Research Institute" in drivers
    assert "reported, not confirmed by the issuer" in drivers  # the civilian halt of January 2026 (WSJ, Kyodo)
    assert "MOFCOM Announcement 1/2026" not in drivers  # military end users only: not autos
    assert "2 months" in drivers


@pytest.mark.parametrize("language", ["en", "ja", "zh"])
def test_the_chat_answer_names_the_source_of_every_share_it_shows(services: Services, language: str) -> None:
    """Each material's line shows its share from China; the drivers name the source of the first three, and a
    line under the materials names the others' (graphite's and neodymium's for Japan's autos)."""
    result = assess(services.table, services.status_book(), "JP", "autos", TODAY)
    message = exposure_message(result, services.vocabulary, words(language))
    assert len(result.materials) > DRIVERS_SHOWN
    for part in result.materials:
        assert esc(part.figure.source) in message, part.material


def test_ranking_covers_every_sector_most_exposed_first(services: Services) -> None:
    ranked = rank_sectors(services.table, services.status_book(), "JP", TODAY)
    assert [e.sector for e in ranked] != []
    assert sorted(e.sector for e in ranked) == sorted(services.vocabulary.sectors)
    assert [e.score for e in ranked] == sorted((e.score for e in ranked), reverse=True)


def test_an_alert_s_score_without_words_is_the_score_of_the_answer(services: Services) -> None:
    book = services.status_book()
    scores = {
        (country, sector): exposure_score(services.table, book, country, sector)
        for country in ("JP", "US", "DE", "KR", "TW", "IN")
        for sector in services.table.sectors
    }
    assert scores == {key: assess(services.table, book, *key, TODAY).score for key in scores}
    assert len(set(scores.values())) > 5  # scores that differ, not one figure everywhere


def test_germany_inherits_eu_measures(services: Services) -> None:
    de = assess(services.table, services.status_book(), "DE", "defense", TODAY)
    dual_use_levels = {part.material: part.level for part in de.materials}
    assert dual_use_levels["samarium"] == Level.LICENSING


def test_a_buffer_counts_only_for_the_sectors_it_was_measured_for(services: Services) -> None:
    book = services.status_book()
    de_autos = assess(services.table, book, "DE", "autos", TODAY)
    de_defense = assess(services.table, book, "DE", "defense", TODAY)
    assert de_autos.buffer is not None and de_autos.buffer.source.startswith("CLEPA")
    assert de_defense.buffer is None and de_defense.buffer_factor == 1.0
    us_chips = assess(services.table, book, "US", "semiconductors", TODAY)
    us_batteries = assess(services.table, book, "US", "batteries", TODAY)
    assert us_chips.buffer is not None and us_batteries.buffer is None
