"""The answers behind /exposure, /status and /history: right for good input, clear for bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain.chart_data import country_grid, histories_from_rows
from bot.domain.ladder import Level
from bot.domain.vocab import UnknownTerm, Vocabulary
from bot.domain.zones import known_time_zone
from handlers.context import Services, UsageError
from handlers.exposure import exposure_answer
from handlers.sources import latest_answer
from handlers.status import history_answer, status_answer, status_document
from storage.measures import all_measure_events, all_measures
from storage.sources import record_success, sync_sources
from tests.conftest import NOW


def test_exposure_names_band_score_and_sources(services: Services) -> None:
    answer = exposure_answer(services, ["japan", "autos"])
    assert answer.startswith("<b>Japan · autos: ")
    assert "high exposure" in answer or "severe exposure" in answer
    assert "100% from China" in answer


def test_multi_word_country_and_sector_names(services: Services) -> None:
    assert "<b>South Korea · electric vehicles" in exposure_answer(services, ["south", "korea", "electric", "vehicles"])
    assert "<b>United States · semiconductors" in exposure_answer(services, ["united", "states", "chips"])


def test_exposure_without_sector_ranks_the_sectors(services: Services) -> None:
    answer = exposure_answer(services, ["日本"])
    assert answer.startswith("<b>Japan: exposure by sector</b>")
    assert answer.count("/100") == len(services.vocabulary.sectors)


def test_exposure_alone_gives_usage_with_an_example(services: Services) -> None:
    with pytest.raises(UsageError, match=r"Usage: /exposure COUNTRY \[SECTOR\]\nExample: /exposure japan autos"):
        exposure_answer(services, [])


def test_unknown_country_names_the_closest(services: Services) -> None:
    with pytest.raises(UnknownTerm, match=r"unknown country 'japon'\. Closest: Japan \(JP\)"):
        exposure_answer(services, ["japon", "autos"])


def test_unknown_sector_names_the_closest(services: Services) -> None:
    with pytest.raises(UnknownTerm, match="unknown sector 'knitting'"):
        exposure_answer(services, ["japan", "knitting"])


@pytest.mark.parametrize(
    "argument",
    ["x" * 10_000, "🦄🦄🦄", "'; DROP TABLE statuses; --", "<b>bold</b>", "\x00\x01", "日本" * 40],
)
def test_hostile_arguments_get_a_clear_answer(services: Services, argument: str) -> None:
    with pytest.raises(ValueError) as caught:
        exposure_answer(services, [argument, "autos"])
    assert len(str(caught.value)) < 400
    assert services.db.execute("SELECT count(*) FROM statuses").fetchone()[0] > 0


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e", "\ufeff", "\u2066"])
def test_invisible_characters_pasted_with_a_name_are_ignored(services: Services, invisible: str) -> None:
    assert status_answer(services, [f"gal{invisible}lium"]).startswith("<b>Export controls: gallium</b>")
    assert exposure_answer(services, [f"{invisible}japan", f"autos{invisible}"]).startswith("<b>Japan · autos: ")


def test_too_many_arguments_give_usage(services: Services) -> None:
    with pytest.raises(UsageError, match=r"^Usage: /exposure"):
        exposure_answer(services, ["japan"] * 20)


def test_status_of_a_material_lists_every_measure_on_it_and_its_groups(services: Services) -> None:
    answer = status_answer(services, ["gallium"])
    assert "MOFCOM and GAC Announcement 23/2023 — 2023-07-03" in answer
    assert "licensing</b> gallium, germanium → all destinations: in force since 2023-08-01" in answer
    assert "dual-use items → Japan: in force since 2026-01-06 <i>(military end users and uses only)</i>" in answer
    assert (
        "banned</b> gallium, germanium, antimony, superhard materials → United States: in force again since the "
        "suspension ran out on 2026-11-27; no extension seen" in answer
    )


@pytest.mark.parametrize("name", [["rare", "earths"], ["レアアース"], ["稀土"]])
def test_status_of_a_group_lists_the_measures_on_its_members_too(services: Services, name: list[str]) -> None:
    answer = status_answer(services, name)
    assert "No measure in force" not in answer
    assert "MOFCOM and GAC Announcement 18/2025 — 2025-04-04" in answer  # on seven of its members
    assert "dysprosium, terbium, rare-earth magnets → Japan" in answer  # a report on two members and magnets


def test_history_and_json_of_a_group_take_in_its_members(services: Services) -> None:
    assert "Announcement 18/2025" in history_answer(services, ["rare", "earths", "50"])
    document = status_document(services, ["rare", "earths"])
    assert {"dysprosium", "terbium"} <= {status["material"] for status in document["statuses"]}
    assert "MOFCOM-18-2025" in {measure["id"] for measure in document["measures"]}


def test_history_says_a_report_was_reported(services: Services) -> None:
    lines = history_answer(services, ["dysprosium", "50"]).splitlines()
    assert any(line.startswith("2026-01-10 <b>reported</b>: reported measure") for line in lines)
    assert any(line.startswith("2025-04-04 <b>announced</b>: MOFCOM and GAC Announcement 18/2025") for line in lines)


def test_status_of_a_member_leaves_out_the_measures_on_other_members(services: Services) -> None:
    answer = status_answer(services, ["gallium"])
    assert "Announcement 18/2025" not in answer  # rare earths are no concern of gallium's


def test_status_of_a_country_lists_what_applies_to_it(services: Services) -> None:
    answer = status_answer(services, ["germany"])
    assert "rare-earth magnets → European Union" in answer
    assert "→ Japan" not in answer


def test_status_json_shape(services: Services) -> None:
    document = status_document(services, ["JP"])
    assert document["query"] == {"kind": "country", "code": "JP"}
    assert document["as_of"] == "2026-11-29"
    first = document["statuses"][0]
    assert set(first) == {"issuer", "target", "material", "level", "level_name", "since", "title", "source", "url",
                          "until", "measure", "instrument", "state", "end_use", "provenance", "effective",
                          "lapsed"}  # fmt: skip
    by_key = {(s["target"], s["material"], s["end_use"]): s for s in document["statuses"]}
    military = by_key[("JP", "dual_use", "military")]
    assert (military["level_name"], military["measure"], military["state"]) == ("restricted", "MOFCOM-1-2026",
                                                                                   "in_force")  # fmt: skip
    halt = by_key[("JP", "dysprosium", "any")]
    assert (halt["level_name"], halt["provenance"]) == ("restricted", "reported")
    assert {m["id"] for m in document["measures"]} >= {"MOFCOM-1-2026", "MOFCOM-23-2023"}


def test_status_of_something_unknown_suggests_countries_and_materials(services: Services) -> None:
    with pytest.raises(UnknownTerm, match=r"unknown country or material 'galium'\. Closest: gallium, "):
        status_answer(services, ["galium"])


def test_history_is_newest_first_and_bounded(services: Services) -> None:
    answer = history_answer(services, ["japan", "3"])
    lines = answer.splitlines()[1:]
    assert len(lines) == 3
    assert lines[0].startswith("2026-11-11 <b>in force again</b>: MOFCOM Announcement")
    with pytest.raises(UsageError, match="N must be from 1 to 50"):
        history_answer(services, ["japan", "500"])


def test_status_puts_the_materials_of_one_event_on_one_line(services: Services) -> None:
    lines = status_answer(services, ["japan"]).splitlines()
    at = lines.index("MOFCOM and GAC Announcement 23/2023 — 2023-07-03")
    assert lines[at + 1].startswith("🟡 <b>licensing</b> gallium, germanium → all destinations: in force since")
    assert sum("Announcement 18/2025" in line for line in lines) == 1


def test_history_of_everything_is_titled_as_such(services: Services) -> None:
    assert history_answer(services, ["2"]).startswith("<b>History: every measure</b>")


@pytest.mark.parametrize("number", ["-1", "-0", "+0", "+-5"])
def test_a_negative_or_zero_n_is_refused_as_n(services: Services, number: str) -> None:
    with pytest.raises(UsageError, match="N must be from 1 to 50"):
        history_answer(services, ["japan", number])


def test_a_plus_sign_before_n_is_read_as_n(services: Services) -> None:
    assert len(history_answer(services, ["japan", "+2"]).splitlines()) == 3  # the title and two events


@pytest.mark.parametrize("number", ["²", "٣", "３", "1²"])
def test_only_ascii_digits_count_as_n_and_others_get_the_usage(services: Services, number: str) -> None:
    with pytest.raises(UsageError, match=r"Usage: /history"):
        history_answer(services, ["japan", number])
    with pytest.raises(UsageError, match=r"Usage: /latest"):
        latest_answer(services, [number])


@pytest.mark.parametrize("country", ["china", "中国", "all"])
def test_exposure_of_the_issuer_or_of_everyone_is_refused_with_usage(services: Services, country: str) -> None:
    with pytest.raises(UsageError, match="depends on Chinese supply"):
        exposure_answer(services, [country, "autos"])


def test_an_answer_says_when_no_source_has_been_read(services: Services) -> None:
    line = "<i>No source has been read yet: this answer rests on the bundled record of measures alone.</i>"
    assert status_answer(services, ["gallium"]).endswith("\n" + line)
    assert exposure_answer(services, ["japan", "autos"]).endswith("\n" + line)


def test_an_answer_says_how_fresh_the_sources_are(services: Services) -> None:
    sync_sources(services.db, [{"id": i, "name": i, "kind": "rss", "url": f"https://{i}.example/", "every_seconds": 600}
                               for i in ("wire", "ministry")])  # fmt: skip
    read = (NOW - dt.timedelta(minutes=5)).isoformat()
    record_success(services.db, "wire", now=read, next_check_at=read, etag=None, last_modified=None,
                   fingerprint=None, new_items=0)  # fmt: skip
    line = "<i>Sources: 1 of 2 healthy, last read 5 min ago (/sources).</i>"
    assert status_answer(services, ["japan"]).endswith("\n" + line)
    assert exposure_answer(services, ["japan"]).endswith("\n" + line)


def test_sources_read_seconds_ago_were_read_now(services: Services) -> None:
    sync_sources(services.db, [{"id": "wire", "name": "W", "kind": "rss", "url": "https://w.example/",
                                "every_seconds": 600}])  # fmt: skip
    read = (NOW - dt.timedelta(seconds=10)).isoformat()
    record_success(services.db, "wire", now=read, next_check_at=read, etag=None, last_modified=None,
                   fingerprint=None, new_items=0)  # fmt: skip
    assert status_answer(services, ["japan"]).endswith("<i>Sources: 1 of 1 healthy, last read now (/sources).</i>")


def test_status_of_the_issuer_lists_no_control_of_its_own_as_one_on_it(services: Services) -> None:
    answer = status_answer(services, ["china"])
    assert "No measure in force." in answer  # 18/2025 names all destinations: China's own, not one on China
    assert "China issues controls tracked here; this lists only controls on exports to China." in answer
    assert status_document(services, ["china"])["statuses"] == []
    assert "China issues" not in status_answer(services, ["japan"])
    history = history_answer(services, ["china"])
    assert "No changes recorded." in history and "China issues controls tracked here" in history


@pytest.mark.parametrize("words", [["gallium"], ["rare", "earths", "autos"], ["ガリウム"]])
def test_exposure_of_a_material_points_to_status(services: Services, words: list[str]) -> None:
    with pytest.raises(UsageError, match=r"^That is a material: /status and /chart answer for a material"):
        exposure_answer(services, words)


def test_a_world_share_standing_in_for_a_country_is_said_to_be_one(services: Services) -> None:
    taiwan = exposure_answer(services, ["taiwan", "semiconductors"])
    assert "Gallium: 99% from China (China's share of world supply, for want of a figure for this country: USGS" in (
        taiwan
    )
    japan = exposure_answer(services, ["japan", "autos"])
    assert "Dysprosium: 100% from China (Nomura Research Institute" in japan  # Japan's own figure
    assert "graphite (China's share of world supply, for want of a figure for this country: USGS" in japan


def test_the_score_line_says_what_the_buffer_does(services: Services) -> None:
    japan = exposure_answer(services, ["japan", "autos"])  # a magnet maker's ~2 months: a short buffer raises it
    assert "× 1.10 for a buffer of 2 months (× 1.30 with none, × 0.70 at six or more).</i>" in japan
    taiwan = exposure_answer(services, ["taiwan", "semiconductors"])
    assert "Score = Σ weight × China share × level severity (no buffer figure).</i>" in taiwan


def test_a_chart_of_the_issuer_shows_no_control_of_its_own_on_it(services: Services, vocabulary: Vocabulary) -> None:
    histories = histories_from_rows(all_measures(services.db), all_measure_events(services.db))
    grid = country_grid(histories, vocabulary, "CN", ["gallium", "graphite"], NOW.date())
    assert all(level == Level.NORMAL for _, levels in grid.rows for level in levels)
    japan = country_grid(histories, vocabulary, "JP", ["gallium"], NOW.date())
    assert japan.rows[0][1][-1] > Level.NORMAL  # 23/2023's licensing on all destinations binds Japan


@pytest.mark.parametrize("folder", ["Asia", "America", "Etc"])
def test_a_folder_of_time_zones_is_no_time_zone(folder: str) -> None:
    with pytest.raises(ValueError, match=f"^unknown time zone '{folder}'"):
        known_time_zone(folder)
