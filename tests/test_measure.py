"""Measuring headlines: issuer, targets, materials, level, direction and evidence; bad input; bad rules files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.datafiles import DataFileError, data_path
from bot.domain.measure import Measurement, measure
from bot.domain.rules import Rules, load_rules
from bot.domain.vocab import Vocabulary

RARE_SEVEN = ("dysprosium", "gadolinium", "lutetium", "samarium", "scandium", "terbium", "yttrium")


@pytest.fixture(scope="module")
def rules(vocabulary: Vocabulary) -> Rules:
    return load_rules(vocabulary)


def signal(m: Measurement) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...], int]:
    return m.direction, m.issuer, m.targets, m.materials, m.level


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the three headlines of the issue
        (
            "商务部公告 关于对镓、锗相关物项实施出口管制的公告",
            ("tighten", "CN", ("ALL",), ("gallium", "germanium"), 2),
        ),
        ("China bans gallium exports to the US", ("tighten", "CN", ("US",), ("gallium",), 5)),
        ("中国、レアアースの対日輸出審査を厳格化", ("tighten", "CN", ("JP",), ("rare_earths",), 3)),
        # levels
        ("China restricts rare earth exports to Japan", ("tighten", "CN", ("JP",), ("rare_earths",), 4)),
        ("China delays gallium export licences for Taiwanese chipmakers", ("tighten", "CN", ("TW",), ("gallium",), 3)),
        ("China bans dual-use exports to Japanese military users", ("tighten", "CN", ("JP",), ("dual_use",), 4)),
        ("China warns Japan it may restrict rare earth supplies", ("tighten", "CN", ("JP",), ("rare_earths",), 1)),
        (
            "China bars dual-use exports to Japan's military, warns re-exporters",
            ("tighten", "CN", ("JP",), ("dual_use",), 4),
        ),
        ("中方研究加强钨出口管控", ("tighten", "CN", ("ALL",), ("tungsten",), 1)),
        (
            "Beijing says gallium exports to United States 'in principle' not permitted",
            ("tighten", "CN", ("US",), ("gallium",), 5),
        ),
        # easing: to the level that stays in force, else 0
        (
            "China suspends US-specific ban on gallium exports; licences still required",
            ("ease", "CN", ("US",), ("gallium",), 2),
        ),
        ("China lifts ban on antimony exports to US", ("ease", "CN", ("US",), ("antimony",), 0)),
        ("中国暂停实施稀土等出口管制措施", ("ease", "CN", ("ALL",), ("rare_earths",), 0)),
        ("中国、対日レアアース輸出の審査停止を解除", ("ease", "CN", ("JP",), ("rare_earths",), 0)),
        ("中国、レアアースの輸出規制を緩和", ("ease", "CN", ("ALL",), ("rare_earths",), 0)),
        # "suspends" read by its object
        (
            "China suspends rare earth magnet export approvals for Japan",
            ("tighten", "CN", ("JP",), ("rare_earth_magnets",), 4),
        ),
        ("中国对日本暂停稀土出口许可审批", ("tighten", "CN", ("JP",), ("rare_earths",), 4)),
        # a cause or a bystander is not a destination
        (
            "China retaliates against US tariffs with antimony export curbs",
            ("tighten", "CN", ("ALL",), ("antimony",), 2),
        ),
        (
            "China imposes antimony export controls; US, EU buyers scramble",
            ("tighten", "CN", ("ALL",), ("antimony",), 2),
        ),
        ("中国、ガリウムを輸出規制 米に対抗", ("tighten", "CN", ("ALL",), ("gallium",), 2)),
        (
            "China halts magnet exports to US, Japan and EU carmakers",
            ("tighten", "CN", ("EU", "JP", "US"), ("rare_earth_magnets",), 4),
        ),
        # no issuer named: null (the source's default applies in checks)
        (
            "Ga, Ge export licences become mandatory from August 1",
            ("tighten", None, ("ALL",), ("gallium", "germanium"), 2),
        ),
        # another country as issuer, China as the destination
        ("US bans gallium exports to China", ("tighten", "US", ("CN",), ("gallium",), 5)),
    ],
)
def test_headlines_become_signals(rules: Rules, text: str, expected: tuple[Any, ...]) -> None:
    assert signal(measure(text, "", rules)) == expected


@pytest.mark.parametrize(
    ("text", "materials"),
    [
        ("China adds seven medium and heavy rare earths to export control list", RARE_SEVEN),
        ("中国、レアアース7品目を輸出規制", RARE_SEVEN),
        ("对钐、钆、铽、镝相关物项实施出口管制", ("dysprosium", "gadolinium", "samarium", "terbium")),
        ("China controls five more rare earths", ("erbium", "europium", "holmium", "thulium", "ytterbium")),
        (
            "China restricts five metals including tungsten",
            ("bismuth", "indium", "molybdenum", "tellurium", "tungsten"),
        ),
        (
            "China now controls 12 of 17 rare earths",
            ("erbium", "europium", "holmium", "thulium", "ytterbium", *RARE_SEVEN),
        ),
        (
            "Samarium-cobalt magnets caught in new rare earth export controls",
            ("rare_earth_magnets", "samarium"),  # a named member is not widened to its group
        ),
        ("China curbs rare earth magnet exports", ("rare_earth_magnets",)),
        ("China adds Dy, Tb and Lu to export control regime", ("dysprosium", "lutetium", "terbium")),
        ("中国、Ga・Geの輸出管理を強化", ("gallium", "germanium")),
        ("China restricts GaN wafer exports", ("gallium",)),
        ("China restricts InSb and antimony exports", ("antimony",)),  # no indium inside InSb
        ("Lu Kang: China restricts gallium exports", ("gallium",)),  # Lu alone is a name, not lutetium
        ("Investors In W Fund say China restricts gallium exports", ("gallium",)),  # In, W only in lists
        ("中国、リチウムイオン電池と黒鉛負極材を輸出規制", ("graphite", "lithium_batteries")),
        ("中国限制锂电池技术出口", ("lithium_batteries",)),  # 锂电池, not lithium + batteries
    ],
)
def test_materials_expand_sets_and_read_symbols_carefully(rules: Rules, text: str, materials: tuple[str, ...]) -> None:
    assert measure(text, "", rules).materials == tuple(sorted(materials))


@pytest.mark.parametrize(
    "text",
    [
        "China says it will not restrict rare earth exports to Japan",
        "Beijing denies plans to ban dual-use exports to South Korea",
        "China has no plan to restrict gallium exports",
        "Commerce ministry dismisses rumours of rare earth export halt as 'groundless'",
        "Analysts doubt China will restrict dysprosium exports to India",
        "商务部否认暂停镓锗出口许可审批的传闻",
        "商务部：没有限制稀土对欧出口的计划",
        "中国政府、レアアース対日輸出停止の報道を否定",
        "中国商務省報道官、対日レアアース禁輸「検討していない」",
    ],
)
def test_negations_and_hedges_raise_no_level(rules: Rules, text: str) -> None:
    measured = measure(text, "", rules)
    assert signal(measured) == ("none", None, (), (), 0)
    assert measured.evidence  # the denial that decided it


@pytest.mark.parametrize(
    "text",
    [
        "Fed holds rates steady, signals two cuts this year",
        "Toyota quarterly earnings fall as tariffs bite",
        "Apple unveils iPhone 17 lineup with ultra-thin Air model",
        "Lynas opens heavy rare earths separation plant in Malaysia",
        "北方稀土一季度净利润同比增长",
        "US imposes 93.5% anti-dumping duty on Chinese graphite anode material",
        "China tells us it will decide soon",  # 'us' is not the US
    ],
)
def test_irrelevant_news_is_none(rules: Rules, text: str) -> None:
    assert measure(text, "", rules) == Measurement(False, "none", None, (), (), 0, measure(text, "", rules).evidence)
    assert not measure(text, "", rules).relevant


def test_the_source_default_issuer_applies_only_where_the_text_names_none(rules: Rules) -> None:
    assert measure("Graphite export permits required from Dec. 1", "", rules, default_issuer="CN").issuer == "CN"
    assert measure("US bans gallium exports to China", "", rules, default_issuer="CN").issuer == "US"


def test_the_summary_is_read_too(rules: Rules) -> None:
    measured = measure("New rules announced", "Beijing will require licences for antimony exports.", rules)
    assert signal(measured) == ("tighten", "CN", ("ALL",), ("antimony",), 2)


def test_as_json_has_exactly_the_classify_shape(rules: Rules) -> None:
    text = "China bans gallium exports to the US"
    assert measure(text, "", rules).as_json(text) == {
        "text": text,
        "relevant": True,
        "direction": "tighten",
        "issuer": "CN",
        "targets": ["US"],
        "materials": ["gallium"],
        "level": 5,
        "level_name": "banned",
        "end_use": "any",
        "provenance": "official",
        "instrument": None,
        "until": None,
        "evidence": ["bans"],
    }


def test_suspension_end_dates_are_read(rules: Rules) -> None:
    english = measure("Controls on graphite anodes suspended until Nov. 10, 2026", "", rules)
    chinese = measure("中国暂停实施钬、铒出口管制措施至2026年11月10日", "", rules)
    assert (english.direction, english.until) == ("ease", "2026-11-10")
    assert (chinese.direction, chinese.until) == ("ease", "2026-11-10")


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("China bans export of rare earth extraction and separation technologies", "technology"),
        ("Rare earth management regulations take effect in China, tightening controls", "framework"),
        ("China puts 20 Japanese entities on export control list, bars dual-use shipments", "entities"),
        ("China bans gallium exports to the US", "goods"),
    ],
)
def test_the_scope_says_what_a_measure_covers(rules: Rules, text: str, scope: str) -> None:
    assert measure(text, "", rules).scope == scope


# ---------------------------------------------------------------- bad input: an answer, never an exception

FORTY = (
    "Japan, South Korea, Taiwan, India, Vietnam, Australia, Canada, Mexico, Brazil, Russia, Singapore, Malaysia, "
    "Thailand, Indonesia, Philippines, Myanmar, Sweden, Poland, Spain, Estonia, Israel, Turkey, Saudi Arabia, "
    "United Arab Emirates, South Africa, Chile, Germany, France, Italy, Netherlands, United Kingdom, the US, "
    "the EU, Japan, Korea, Taiwan, India, Vietnam, Australia, Canada"
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "x" * 1_000_000,
        "China bans gallium " * 60_000,
        bytes(range(256)).decode("latin-1") * 4000,
        "\x00\x01\ufffd\ud7ff" * 10_000,
        "<div><p>China <b>bans</b> gallium &amp; germanium exports to the &quot;US&quot;</p><script>x</script>",
        "<" * 50_000 + "gallium ban" + ">" * 50_000,
        "中国 bans ガリウム exports to США and 日本 — 禁止 ban حظر",
        "(" * 10_000 + "restrict" + ")" * 10_000,
        "a " * 500_000,
        f"China bans gallium exports to {FORTY}",
    ],
)
def test_bad_input_gets_an_answer(rules: Rules, text: str) -> None:
    measured = measure(text, text[:100], rules)
    assert measured.direction in ("tighten", "ease", "none")
    assert 0 <= measured.level <= 5


def test_html_fragments_are_read_as_text(rules: Rules) -> None:
    text = "<p>China <b>bans</b> gallium exports to the &quot;US&quot;</p>"
    assert signal(measure(text, "", rules)) == ("tighten", "CN", ("US",), ("gallium",), 5)


def test_a_headline_naming_forty_countries_names_them_all(rules: Rules) -> None:
    measured = measure(f"China bans gallium exports to {FORTY}", "", rules)
    named = (
        *("JP", "KR", "TW", "IN", "VN", "AU", "CA", "MX", "BR", "RU", "SG", "MY", "TH", "ID", "PH", "MM", "SE"),
        *("PL", "ES", "EE", "IL", "TR", "SA", "AE", "ZA", "CL", "DE", "FR", "IT", "NL", "GB", "US", "EU"),
    )
    assert measured.targets == tuple(sorted(named))


def test_only_the_first_max_chars_are_read(rules: Rules) -> None:
    filler = "Markets were calm today. " * 40_000
    assert measure("China bans gallium exports to the US. " + filler, "", rules).relevant
    assert not measure(filler + "China bans gallium exports to the US.", "", rules).relevant


# ---------------------------------------------------------------- a malformed rules file is refused


def _bundled() -> dict[str, Any]:
    document = yaml.safe_load(data_path("rules.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["tighten"]["banned"].insert(0, "\\bban(s"), "tighten.banned #1 '\\bban(s': not a valid pattern"),
        (lambda d: d["negations"].append("(a+)+"), "negations #"),
        (lambda d: d["ease"]["lift"].insert(0, "Lifts"), "ease.lift #1 'Lifts': write patterns in lower case"),
        (lambda d: d["not_measures"].insert(0, "x?"), "not_measures #1 'x?': matches the empty text"),
        (lambda d: d["issuers"].update({"XX": ["foo"]}), "issuers.XX: unknown country 'XX'"),
        (lambda d: d["tighten"].update({"extreme": ["boo"]}), "tighten.extreme: unknown level 'extreme'"),
        (lambda d: d["materials"]["sets"][0]["members"].append("unobtainium"), "materials.sets #1.members"),
        (lambda d: d["targets"]["phrases"].update({"narnia": ["NA"]}), "targets.phrases 'narnia': unknown country"),
        (lambda d: d["until"]["patterns"].insert(0, "until (\\d+)"), "until.patterns #1: needs the named groups"),
        (lambda d: d.update({"colour": "blue"}), "unknown key 'colour'"),
        (lambda d: d.pop("ease"), "missing key 'ease'"),
        (lambda d: d.update({"max_chars": 10}), "max_chars: must be a whole number"),
        (lambda d: d["scopes"].append({"scope": "vibes", "patterns": ["x"]}), "scopes #4.scope: must be one of"),
        (lambda d: d["tighten"].update({"review": []}), "tighten.review: must be a non-empty list"),
    ],
)
def test_a_malformed_rules_file_is_refused_naming_file_and_rule(
    tmp_path: Path, vocabulary: Vocabulary, change: Any, named: str
) -> None:
    document = _bundled()
    change(document)
    path = _write(tmp_path, document)
    with pytest.raises(DataFileError) as refused:
        load_rules(vocabulary, path)
    assert str(path) in str(refused.value)
    assert named in str(refused.value)


def test_a_rules_file_that_is_not_yaml_is_refused(tmp_path: Path, vocabulary: Vocabulary) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("tighten: [unclosed", encoding="utf-8")
    with pytest.raises(DataFileError, match="not valid YAML"):
        load_rules(vocabulary, path)


def test_the_bundled_rules_load_and_round_trip(tmp_path: Path, vocabulary: Vocabulary) -> None:
    rules = load_rules(vocabulary, _write(tmp_path, _bundled()))
    assert signal(measure("China bans gallium exports to the US", "", rules)) == (
        "tighten",
        "CN",
        ("US",),
        ("gallium",),
        5,
    )
