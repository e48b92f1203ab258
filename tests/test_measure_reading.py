"""Reading real news: Traditional Chinese, full-width forms, entity listings, 'restrict', vague materials, stories
about controls that are not moves, qualifiers, unreadable scripts; and the speed-ups that must change nothing."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest

from bot.domain.lexicon import Lexicon, Text, required_keys
from bot.domain.measure import Measurement, measure, prepare
from bot.domain.rules import Rules, load_rules
from bot.domain.vocab import Vocabulary
from tests.evaluate import SETS, load_rows


@pytest.fixture(scope="module")
def rules(vocabulary: Vocabulary) -> Rules:
    return load_rules(vocabulary)


def signal(m: Measurement) -> tuple[str, tuple[str, ...], tuple[str, ...], int]:
    return m.direction, m.targets, m.materials, m.level


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("中國暫停對美鎵、鍺出口禁令", "中国暂停对美镓、锗出口禁令"),
        ("商務部：對銻等兩用物項實施出口管制", "商务部：对锑等两用物项实施出口管制"),
        ("中國將台灣8實體列入出口管制管控名單", "中国将台湾8实体列入出口管制管控名单"),
    ],
)
def test_traditional_chinese_is_read_as_simplified(rules: Rules, traditional: str, simplified: str) -> None:
    read, expected = measure(traditional, "", rules), measure(simplified, "", rules)
    assert read.relevant and signal(read) == signal(expected)


def test_a_japanese_text_is_not_converted(rules: Rules) -> None:
    # 規制 would become 规制 in Simplified script and no Japanese rule would read it
    assert prepare("中国、黒鉛を輸出規制", "", 4000, rules.simplify) == "中国、黒鉛を輸出規制"
    assert signal(measure("中国、黒鉛を輸出規制", "", rules)) == ("tighten", ("ALL",), ("graphite",), 2)


def test_full_width_forms_are_read() -> None:
    assert prepare("ＣＨＩＮＡ　ｂａｎｓ　ｇａｌｌｉｕｍ", "", 4000) == "CHINA bans gallium"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("China adds 20 Japanese companies to export control list", ("tighten", ("JP",), ("dual_use",), 1)),
        ("China adds 12 U.S. entities to export control list", ("tighten", ("US",), ("dual_use",), 1)),
        ("商务部:将20家日本实体列入关注名单", ("tighten", ("JP",), ("dual_use",), 1)),
        (
            "中国が米国企業12社を輸出管理リストに追加 デュアルユース品の輸出を禁止",
            ("tighten", ("US",), ("dual_use",), 1),
        ),
        # a listing is a watch, whatever verb the headline uses
        (
            "China bans export of dual-use items to 7 EU entities involved in arms sales",
            ("tighten", ("EU",), ("dual_use",), 1),
        ),
    ],
)
def test_entity_list_additions_watch_dual_use_for_the_entities_country(
    rules: Rules, text: str, expected: tuple[Any, ...]
) -> None:
    found = measure(text, "", rules)
    assert signal(found) == expected and found.scope == "entities"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("China to restrict exports of chipmaking metals gallium and germanium", 2),
        ("China to limit antimony exports in latest critical mineral curbs", 2),
        ("China restricts rare earth exports to Japan", 4),  # aimed at a named destination
        ("China curbs rare earth exports to Japanese companies", 4),
        ("China bans gallium exports to the US", 5),
    ],
)
def test_restrict_is_licensing_unless_aimed_at_a_destination_or_a_ban_is_said(
    rules: Rules, text: str, level: int
) -> None:
    assert measure(text, "", rules).level == level


@pytest.mark.parametrize(
    "text",
    [
        "China imposes export restrictions on key metals amid US tariff increase",
        "China Bans Exports of Two Metals That Can Be Used in Chips",
        "商務部、レアメタル2種の関連品目に対する輸出規制を発表",
    ],
)
def test_a_control_on_materials_it_does_not_name_is_read_without_a_material(rules: Rules, text: str) -> None:
    found = measure(text, "", rules)
    assert found.relevant and found.direction == "tighten" and found.materials == ()


@pytest.mark.parametrize(
    "text",
    [
        "China's export ban to push antimony prices to new highs",
        "Why China curbing rare earth exports is a blow to the US",
        "China exports zero germanium and gallium in August as national security curbs bite",
        "China's Commerce Ministry Defends Rare-Earth Export Controls as Lawful",
        "中國9月稀土出口銳減30.9%，寫下今年2月以來新低",
        "中国「ガリウムとゲルマニウム」輸出規制の影響は?",
        "MP Materials and USA Rare Earth rally more than 20% amid fresh export restrictions",
        "《中华人民共和国两用物项出口管制条例》12月1日起施行",
    ],
)
def test_market_analysis_and_framework_stories_are_not_moves(rules: Rules, text: str) -> None:
    assert measure(text, "", rules).direction == "none"


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        (
            "China bans exports of gallium and other key high-tech materials, hitting back at US chip sanctions",
            ("ALL",),
        ),
        ("China expands key mineral export controls after US imposes tariffs", ("ALL",)),
        ("中国 黒鉛の関連品目を輸出規制へ アメリカなどをけん制か", ("ALL",)),
        ("China Bans Exports of Dual-Use Goods to Japan, Citing Military Risk Amid Taiwan Tensions", ("JP",)),
    ],
)
def test_causes_and_mentions_are_never_targets(rules: Rules, text: str, targets: tuple[str, ...]) -> None:
    assert measure(text, "", rules).targets == targets


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("China Agrees to Pause Rare Earth Export Restrictions", "ease"),
        ("China halts unreliable entity list, export control measures on certain US firms", "ease"),
        ("中國暫停鎵鍺銻等關鍵材料對美出口限制", "ease"),
        ("美中稀土戰暫停？中國出手「解凍」出口管制", "ease"),
        ("国際ニュース:中国が米国28団体への輸出管理を90日間停止", "ease"),
        ("China suspends approval ban on exports of certain metals used in chip manufacturing to the U.S.", "ease"),
        ("China halts rare earth export licence approvals for Japan", "tighten"),
    ],
)
def test_suspension_grammar_is_read_by_its_object(rules: Rules, text: str, direction: str) -> None:
    assert measure(text, "", rules).direction == direction


def test_approvals_granted_say_a_licence_is_still_needed(rules: Rules) -> None:
    found = measure("China Issues First Batch of Rare Earth Export Licences to Ease Trade Pressures", "", rules)
    assert (found.direction, found.effect) == ("ease", "grant")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("Ministry of Commerce Announcement No. 2026-11: Listing 20 Japanese Entities on the Export Control List",
         "instrument", "MOFCOM Announcement 11/2026"),
        ("商務部公告2025第61號 公布對境外相關稀土物項實施出口管制的決定", "instrument", "MOFCOM Announcement 61/2025"),
        ("Sources: China is considering tightening export license reviews for rare earths", "provenance", "reported"),
        ("華爾街日報：中國停止輸日稀土許可審查", "provenance", "reported"),
        ("China bans dual-use exports to Japanese military users", "end_use", "military"),
    ],
)  # fmt: skip
def test_qualifiers_are_read(rules: Rules, text: str, field: str, value: str) -> None:
    assert getattr(measure(text, "", rules), field) == value


@pytest.mark.parametrize(
    "text",
    [
        "Китай запретил экспорт галлия и германия в США",  # Russian: no rule reads it
        "중국, 갈륨·게르마늄 수출 통제",  # Korean
        "الصين تحظر تصدير الغاليوم",  # Arabic
    ],
)
def test_a_headline_the_rules_cannot_read_is_not_guessed(rules: Rules, text: str) -> None:
    assert measure(text, "", rules) == measure("", "", rules)


@pytest.mark.parametrize(
    ("pattern", "keys"),
    [
        (r"\bhalt(?:s|ed|ing)?\b[^.;]{0,60}?\bexports?", {"export"}),
        (r"(?<!to )\bchina\b", {"china"}),
        ("暂停[^，]{0,20}?(?:管制|措施)", {"暂停"}),
        ("(?:出口|审批|供应)[^，]{0,4}?(?:停止|中断)", {"停止", "中断"}),  # the fewer of two equally long sets
        (r"\b(?:suspend|paus)\w*", {"suspend", "paus"}),
        (r"\b(?:ban|bar)s?\b", {"ba"}),  # `re` factors the common start out of the alternatives
        (r"\b(?:curb|limit|y)s?\b", None),  # one alternative too short to be worth a test
        (r"^(?:\w+ ){0,4}?prices", {"prices"}),
    ],
)
def test_a_pattern_is_keyed_by_literals_it_needs_one_of(pattern: str, keys: set[str] | None) -> None:
    assert required_keys(pattern) == (None if keys is None else frozenset(keys))


def _without_keys(lexicon: Lexicon[Any]) -> Lexicon[Any]:
    return Lexicon(tuple(replace(part, keys=()) for part in lexicon.parts))


@pytest.mark.parametrize("path", SETS.values(), ids=list(SETS))
def test_keyed_lexicons_find_what_the_whole_alternation_finds(rules: Rules, path: Any) -> None:
    lexicons = [(f.name, getattr(rules, f.name)) for f in fields(rules) if isinstance(getattr(rules, f.name), Lexicon)]
    for row in load_rows(path):
        text = Text.of(prepare(row["text"], "", rules.max_chars, rules.simplify))
        keyed = text.with_keys(rules.keys)
        for name, lexicon in lexicons:
            whole = _without_keys(lexicon).find(text)
            assert lexicon.find(keyed) == whole == lexicon.find(text), (name, row["text"])
