"""Replies in the reader's language: the catalogs are complete, a chat's language is chosen or taken from its user's
Telegram app, answers and alerts come in it, and in a group only admins choose."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.domain.i18n import LANGUAGES, language_of, locale_dir, parse_language, words
from bot.domain.vocab import Kind, Vocabulary
from handlers.charts import chart_answer
from handlers.context import Services
from storage.db import open_database
from storage.subscribers import get_subscriber
from tests.bot_harness import ADMIN, polling_bot
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer
from tests.test_alert_e2e import HEADLINE, feed, loopback_source

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "NP_": ((1, "c"), 2), "Problem": (1,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)")  # named %-placeholders, and the chart templates' str.format ones


def message_ids() -> set[tuple[str | None, str]]:
    """Every message id the code uses, as Babel's extractor finds it (context, singular)."""
    found = set()
    for package in ("bot", "handlers", "jobs"):
        for _, _, message, _, context in extract_from_dir(ROOT / package, keywords=KEYWORDS):
            found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def catalog(language: str) -> dict[tuple[str | None, str], tuple[str, ...]]:
    with (locale_dir() / f"{language}.po").open("rb") as source:
        entries = read_po(source, locale=language)
    return {
        (entry.context, entry.id[0] if isinstance(entry.id, tuple) else entry.id): (
            tuple(entry.string) if isinstance(entry.string, tuple) else (entry.string,)
        )
        for entry in entries
        if entry.id
    }


def stored_language(path: Path, chat_id: int) -> tuple[str, int] | None:
    """The chat's stored (language, chosen), read as another process would."""
    db = open_database(path, dt.datetime.now(dt.UTC))
    subscriber = get_subscriber(db, chat_id)
    db.close()
    return (subscriber["language"], subscriber["language_chosen"]) if subscriber else None


def test_the_extractor_finds_the_messages_of_the_code() -> None:
    ids = message_ids()
    assert (None, "Your exposure") in ids and ("level", "banned") in ids and (None, "Chart") in ids
    assert len(ids) > 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_id_is_in_each_catalog_and_each_catalog_id_is_used(language: str) -> None:
    used, listed = message_ids(), set(catalog(language))
    assert sorted(used - listed, key=str) == [], "missing from the catalog: run `make catalogs` and translate"
    assert sorted(listed - used, key=str) == [], "no longer used: run `make catalogs`"


@pytest.mark.parametrize("language", ["ja", "zh"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    for (_, message), strings in catalog(language).items():
        assert all(strings), f"{language}: untranslated {message!r}"
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(message)), (language, message)


def test_a_language_code_picks_the_reply_language_and_people_name_one_as_they_write_it() -> None:
    assert [language_of(code) for code in ("ja", "ja-JP", "zh-hans", "zh-TW", "zh", "en-GB", "fr", None)] == [
        "ja", "ja", "zh", "zh", "zh", "en", "en", "en",
    ]  # fmt: skip
    assert [parse_language(text) for text in ("ja", "ZH", "English", "日本語", "en", "fr", "")] == [
        "ja", "zh", "en", "ja", "en", None, None,
    ]  # fmt: skip


def test_plurals_dates_and_numbers_follow_the_language() -> None:
    en, ja, zh = words("en"), words("ja"), words("zh")
    assert en.ngettext("%(n)s status change", "%(n)s status changes", 1) == "1 status change"
    assert en.ngettext("%(n)s status change", "%(n)s status changes", 1200) == "1,200 status changes"
    assert ja.ngettext("%(n)s status change", "%(n)s status changes", 2) == "ステータス変更 2 件"
    day = dt.date(2026, 1, 6)
    assert (en.date(day), ja.date(day), zh.date(day)) == ("2026-01-06", "2026/01/06", "2026年1月6日")
    assert (en.percent(0.455), ja.percent(0.9), zh.number(2.5)) == ("46%", "90%", "2.5")


def test_a_chart_reads_the_chat_language(services: Services) -> None:
    answer = chart_answer(services, ["gallium"], words("ja"))
    assert answer.words is not None and answer.words.name("ALL") == "全仕向け地"
    assert answer.caption.startswith("<b>ガリウム</b>: 仕向け地別の発効レベル、")
    assert answer.words.material_title.format(material="ガリウム", year=2023).endswith("（2023 年以降）")
    assert answer.key != chart_answer(services, ["gallium"], words("zh")).key


async def test_a_japanese_user_asks_exposure_in_japanese_and_reads_japanese(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/exposure 日本 自動車", chat_id=901, language_code="ja")
        api.user_says("/exposure ナルニア", chat_id=901, language_code="ja")
        api.user_says("/exposure japan autos", chat_id=902, language_code="en-US")
        [answer, problem] = await api.wait_for_messages(901, count=2, timeout=10)
        [english] = await api.wait_for_messages(902, count=1, timeout=10)
    text = answer["text"]
    assert text.startswith("<b>日本 · 自動車: ") and "エクスポージャー" in text
    assert "<b>主な要因</b>" in text and "中国依存度" in text and "ネオジム" in text
    assert answer["reply_markup"]["inline_keyboard"][0][0]["text"] == "チャート"
    assert problem["text"].startswith("不明な国「ナルニア」。")
    assert english["text"].startswith("<b>Japan · autos: ")
    assert set(api.menus) == {"", "ja", "zh"}
    assert {"command": "exposure", "description": "国の産業のエクスポージャー"} in api.menus["ja"]
    assert {"command": "language", "description": "the language of replies and alerts"} in api.menus[""]


async def test_language_answers_bad_input_with_the_choices_and_a_choice_outlasts_the_telegram_setting(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/language fr", chat_id=903, language_code="ja")
        api.user_says("/language zh", chat_id=903, language_code="ja")
        api.user_says("/status gallium", chat_id=903, language_code="ja")
        api.user_says("/language", chat_id=903, language_code="ja")
        replies = [m["text"] for m in await api.wait_for_messages(903, count=4, timeout=10)]
    assert replies[0] == (
        "このチャットの返信とアラートの言語を選んでください:\n<code>/language en</code> — English\n"
        "<code>/language ja</code> — 日本語\n<code>/language zh</code> — 中文（简体）"
    )
    assert replies[1] == "本聊天此后使用中文（简体）。"
    assert replies[2].startswith("<b>出口管制：镓</b>") and "<b>禁止</b> 镓" in replies[2], replies[2]
    assert replies[3].startswith("本聊天的语言：中文（简体）。")


async def test_in_a_group_only_admins_choose_the_language(tmp_path: Path) -> None:
    group = -904
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.set_admins(group, [71])
        api.user_says("/language ja", chat_id=group, user_id=72, chat_type="supergroup", language_code="ja")
        api.user_says("/language ja", chat_id=group, user_id=71, chat_type="supergroup")
        api.user_says("/help", chat_id=group, user_id=72, chat_type="supergroup")
        replies = [m["text"] for m in await api.wait_for_messages(group, count=3, timeout=10)]
    assert replies[0] == "Only the group's admins can change its language."
    assert replies[1] == "このチャットは今後日本語で表示します。"
    assert "<b>コマンド</b>" in replies[2]
    assert stored_language(tmp_path / "bot.db", group) == ("ja", 1)


async def test_an_alert_to_a_chat_that_chose_chinese_is_in_chinese(tmp_path: Path) -> None:
    old = dt.datetime(2020, 5, 1, tzinfo=dt.UTC)
    async with LoopbackServer({"/feed": feed(("old", "Trade fair opens in Guangzhou", old))}) as source_server:
        source = loopback_source(source_server)
        async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", [source]):
            api.user_says("/language zh", chat_id=905)
            api.user_says("/subscribe japan autos", chat_id=905)
            await api.wait_for_messages(905, count=2, timeout=10)
            api.user_says("/checknow", chat_id=ADMIN)
            await api.wait_for_messages(ADMIN, count=2, timeout=15)
            source_server.routes["/feed"] = feed(("new", HEADLINE, dt.datetime.now(dt.UTC)))
            api.user_says("/checknow", chat_id=ADMIN)
            [_, _, alert] = await api.wait_for_messages(905, count=3, timeout=15)
    text = alert["text"]
    assert text.startswith("🔴 <b>收紧：中国 → 日本</b>\n🔴 稀土: 正常 → <b>限制</b>\n"), text
    assert "China halts rare-earth exports to Japan &amp; tightens licence &lt;reviews&gt;</a> — MOFCOM" in text
    assert "📊 <b>您的风险敞口</b>\n• 日本 · 汽车: " in text and "严重程度" in text


async def test_a_japanese_user_subscribes_in_japanese_and_the_chat_keeps_the_language_for_its_alerts(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db"):
        api.user_says("/subscribe 日本 自動車", chat_id=906, language_code="ja")
        api.user_says("/subscriptions", chat_id=906, language_code="ja")
        replies = [m["text"] for m in await api.wait_for_messages(906, count=2, timeout=10)]
    assert replies[0].startswith("✅ <b>日本 · 自動車</b> を購読しました。")
    assert replies[1].startswith("<b>購読</b>\n1. 日本 · 自動車\n\n配信: 即時。")
    assert stored_language(tmp_path / "bot.db", 906) == ("ja", 0)


def test_input_problems_from_the_domain_are_said_in_the_reader_s_language() -> None:
    from bot.domain.timing import parse_duration
    from handlers.replies import problem_text

    try:
        parse_duration("forever")
    except ValueError as problem:
        assert str(problem) == "'forever' is not a duration; use e.g. 30m, 4h, 2d"  # logs and data files: English
        assert (
            problem_text(problem, words("ja"))
            == "「forever」は期間ではありません。30m、4h、2d のように指定してください"
        )
        assert problem_text(problem, words("zh")).startswith("“forever”不是时长")
    else:
        raise AssertionError("a duration of 'forever' was accepted")


def test_the_closest_names_after_an_unknown_word_are_in_the_reader_s_language(vocabulary: Vocabulary) -> None:
    from handlers.replies import problem_text

    try:
        vocabulary.resolve(Kind.COUNTRY, "japn")
    except ValueError as problem:
        assert "Japan (JP)" in problem_text(problem, words("en"))
        assert "日本 (JP)" in problem_text(problem, words("ja"))
    else:
        raise AssertionError("'japn' was taken for a country")
