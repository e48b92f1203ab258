"""The vocabulary: every way people name things resolves to the contract codes; near misses get suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.datafiles import DataFileError
from bot.domain.vocab import Kind, UnknownTerm, Vocabulary, load_vocabulary, normalise


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("japan", "JP"),
        ("Japanese", "JP"),
        ("jp", "JP"),
        ("日本", "JP"),
        ("usa", "US"),
        ("America", "US"),
        ("U.S.", "US"),
        ("europe", "EU"),
        ("South Korea", "KR"),
        ("한국", "KR"),
        ("台湾", "TW"),
        ("india", "IN"),
        ("uk", "GB"),
        ("Deutschland", "DE"),
        ("france", "FR"),
        ("中国", "CN"),
        ("all", "ALL"),
    ],
)
def test_countries_resolve_from_names_adjectives_codes_and_native_names(
    vocabulary: Vocabulary, word: str, code: str
) -> None:
    assert vocabulary.country(word) == code


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("dysprosium", "dysprosium"),
        ("Dy", "dysprosium"),
        ("镝", "dysprosium"),
        ("ジスプロシウム", "dysprosium"),
        ("稀土", "rare_earths"),
        ("レアアース", "rare_earths"),
        ("Rare-Earths", "rare_earths"),
        ("rare earth magnets", "rare_earth_magnets"),
        ("Ga", "gallium"),
        ("锗", "germanium"),
        ("dual-use", "dual_use"),
        ("两用物项", "dual_use"),
        ("lithium_batteries", "lithium_batteries"),
    ],
)
def test_materials_resolve_from_names_symbols_and_native_names(vocabulary: Vocabulary, word: str, code: str) -> None:
    assert vocabulary.material(word) == code


@pytest.mark.parametrize(
    ("word", "code"),
    [("cars", "autos"), ("automotive", "autos"), ("chips", "semiconductors"), ("wind", "renewables"),
     ("military", "defense"), ("EV", "evs"), ("ai", "ai_hardware")],
)  # fmt: skip
def test_sectors_resolve_from_aliases(vocabulary: Vocabulary, word: str, code: str) -> None:
    assert vocabulary.sector(word) == code


def test_the_contract_vocabulary_is_complete(vocabulary: Vocabulary) -> None:
    for code in ("JP", "US", "EU", "DE", "KR", "TW", "IN", "GB", "FR", "CN", "ALL"):
        assert code in vocabulary.countries
    for sector in ("autos", "evs", "semiconductors", "electronics", "renewables", "defense", "batteries",
                   "medical", "ai_hardware"):  # fmt: skip
        assert sector in vocabulary.sectors
    assert len(vocabulary.members("rare_earths") - {"rare_earths"}) == 17


def test_dual_use_holds_the_controlled_materials_and_twelve_rare_earths(vocabulary: Vocabulary) -> None:
    members = vocabulary.members("dual_use")
    rare_earths = members & vocabulary.members("rare_earths") - {"rare_earths"}
    assert len(rare_earths) == 12
    assert {"neodymium", "praseodymium", "lanthanum", "cerium"}.isdisjoint(members)
    assert {"gallium", "germanium", "graphite", "antimony", "superhard_materials", "lithium_batteries"} <= members


def test_a_group_measure_covers_its_members(vocabulary: Vocabulary) -> None:
    assert vocabulary.covering("dysprosium") == {"dysprosium", "rare_earths", "dual_use"}
    assert vocabulary.covering("neodymium") == {"neodymium", "rare_earths"}
    assert vocabulary.covering("rare_earth_magnets") == {"rare_earth_magnets"}


def test_a_member_state_is_hit_by_measures_on_its_bloc(vocabulary: Vocabulary) -> None:
    assert vocabulary.destinations("DE") == {"DE", "EU", "ALL"}
    assert vocabulary.destinations("JP") == {"JP", "ALL"}


def test_near_misses_name_the_closest_known_terms(vocabulary: Vocabulary) -> None:
    with pytest.raises(UnknownTerm) as caught:
        vocabulary.country("japn")
    assert "Japan (JP)" in caught.value.suggestions
    assert "unknown country 'japn'" in str(caught.value)
    with pytest.raises(UnknownTerm) as caught:
        vocabulary.material("galium")
    assert caught.value.suggestions[0] == "gallium"
    with pytest.raises(UnknownTerm) as caught:
        vocabulary.sector("automtive")
    assert "autos" in caught.value.suggestions


def test_an_overlong_word_is_shortened_in_the_message(vocabulary: Vocabulary) -> None:
    with pytest.raises(UnknownTerm) as caught:
        vocabulary.country("x" * 10_000)
    assert len(str(caught.value)) < 200


def test_normalise_folds_case_width_and_separators() -> None:
    assert normalise("  Rare_Earth-MAGNETS ") == "rare earth magnets"
    assert normalise("ＪＡＰＡＮ") == "japan"


def test_a_bad_vocabulary_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(
        "countries: {JP: {name: Japan}}\nmaterials: {rare_earths: {name: x, members: [unobtainium]}}\n"
        "sectors: {autos: {name: autos, colour: red}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="unknown key 'colour'"):
        load_vocabulary(path)
    path.write_text(
        "countries: {JP: {name: Japan}}\nmaterials: {rare_earths: {name: x, members: [unobtainium]}}\n"
        "sectors: {autos: {name: autos}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match=r"vocab.yaml: materials: 'rare_earths': unknown member 'unobtainium'"):
        load_vocabulary(path)


def test_kinds_are_the_three_of_the_contract() -> None:
    assert [kind.value for kind in Kind] == ["country", "material", "sector"]


def test_levels_are_read_by_name_or_ascii_number_only() -> None:
    from bot.domain.ladder import Level, parse_level

    assert parse_level("restricted") == Level.RESTRICTED
    assert parse_level("4") == Level.RESTRICTED
    for bad in ("²", "٤", "9", "severe"):
        with pytest.raises(ValueError, match="Known levels: normal, watch, licensing, review, restricted, banned"):
            parse_level(bad)


def test_a_vocabulary_file_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(
        "countries:\n  JP: {name: Japan}\n  JP: {name: Nippon}\nmaterials: {}\nsectors: {}\n", encoding="utf-8"
    )
    with pytest.raises(DataFileError, match=r"vocab\.yaml: not valid YAML: .*duplicate key 'JP'"):
        load_vocabulary(path)
