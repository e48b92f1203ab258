"""/chart and the exposure "Chart" button: pictures through the fake Bot API, text where none can be drawn, the
Japanese and Chinese glyphs, the kept pictures, and other chats answered while one chart is drawn."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import matplotlib.image
import pytest

from bot.config import Settings
from bot.domain.chart_fonts import LATIN_FAMILY, font_families
from bot.domain.chart_render import Chart, ChartRenderer
from bot.domain.chart_words import ChartWords, english_words
from bot.services import open_services
from handlers.chart_book import ChartBook
from handlers.charts import chart_answer, exposure_chart_answer
from handlers.context import Services
from storage.measures import record_measure_event
from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@asynccontextmanager
async def chart_bot(api: FakeBotAPI, tmp_path: Path, charts: ChartBook | None = None) -> AsyncIterator[None]:
    """The real Application polling the fake API; `charts` replaces the chart book (a slow or failing renderer)."""

    def open_(settings: Settings) -> Services:
        services = open_services(settings, NOW)
        services.clock = lambda: NOW
        if charts is not None:
            services.charts = charts
        return services

    async with polling_bot(api, tmp_path / "charts.db", open_=open_):
        yield


async def wait_for_photo(api: FakeBotAPI, chat_id: int) -> dict[str, object]:
    await api.wait_for(lambda: api.photos_to(chat_id), timeout=30)
    return api.photos_to(chat_id)[0]


async def test_chart_gallium_sends_a_png_that_decodes_to_an_image(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/chart gallium", chat_id=501)
        photo = await wait_for_photo(api, 501)
    picture = photo["photo"]
    assert isinstance(picture, bytes) and picture.startswith(PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(picture), format="png").shape
    assert (width, height) == (1000, 560)
    caption = str(photo["caption"])
    assert caption.startswith("<b>gallium</b>: level in force by destination")
    assert "United States: banned since 2026-11-28 (MOFCOM Announcement 46/2024, clause 2)" in caption
    assert photo["parse_mode"] == "HTML"


async def test_chart_narnia_answers_like_status_narnia(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/chart narnia", chat_id=502)
        [chart_reply] = await api.wait_for_messages(502, timeout=10)
        api.user_says("/status narnia", chat_id=503)
        [status_reply] = await api.wait_for_messages(503, timeout=10)
    assert chart_reply["text"] == status_reply["text"]
    assert "narnia" in chart_reply["text"].lower() and api.photos == []


async def test_chart_without_arguments_answers_with_the_usage(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/chart", chat_id=504)
        [reply] = await api.wait_for_messages(504, timeout=10)
    assert reply["text"].startswith("Usage: /chart COUNTRY|MATERIAL")


def failing_renderer(chart: Chart, words: ChartWords) -> bytes:
    raise RuntimeError("the renderer broke")


async def test_a_chart_that_cannot_be_drawn_is_answered_in_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path, ChartBook(failing_renderer)):
        api.user_says("/chart japan", chat_id=505)
        [reply] = await api.wait_for_messages(505, timeout=10)
    assert reply["text"].startswith("The chart could not be drawn; here is what it would show.\n<b>Japan</b>")
    assert "• dysprosium: restricted since " in reply["text"]
    assert "the renderer broke" in caplog.text and api.photos == []


async def test_another_chat_is_answered_while_a_chart_is_drawn(tmp_path: Path) -> None:
    """The renderer waits until the other chat's answer has arrived: it can only finish if drawing is off the loop."""
    other_answered = threading.Event()
    real = ChartRenderer()

    def slow_renderer(chart: Chart, words: ChartWords) -> bytes:
        if not other_answered.wait(timeout=30):
            raise RuntimeError("the other chat was not answered while drawing")
        return real.render(chart, words)

    async with FakeBotAPI() as api, chart_bot(api, tmp_path, ChartBook(slow_renderer)):
        api.user_says("/chart gallium", chat_id=506)
        api.user_says("/status japan", chat_id=507)
        [status_reply] = await api.wait_for_messages(507, timeout=10)
        other_answered.set()
        photo = await wait_for_photo(api, 506)
    assert status_reply["text"].startswith("<b>Export controls: Japan</b>")
    assert isinstance(photo["photo"], bytes) and photo["photo"].startswith(PNG_SIGNATURE)
    assert api.messages_to(506) == []


async def test_the_exposure_answer_has_a_chart_button_that_sends_the_breakdown(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/exposure japan autos", chat_id=508)
        [answer] = await api.wait_for_messages(508, timeout=10)
        [[button]] = answer["reply_markup"]["inline_keyboard"]
        assert button == {"text": "Chart", "callback_data": "chart:exposure:JP:autos"}
        api.press_button(button["callback_data"], chat_id=508, message_id=1)
        photo = await wait_for_photo(api, 508)
    assert isinstance(photo["photo"], bytes) and photo["photo"].startswith(PNG_SIGNATURE)
    caption = str(photo["caption"])
    assert caption.startswith("<b>Japan · autos</b>: exposure ")
    assert "• dysprosium: 21.2 points (25% of needs × 100% from China × restricted)" in caption
    assert "Buffer: about 2 months of supply" in caption
    assert api.callback_answers


async def test_a_ranking_has_no_chart_button(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/exposure japan", chat_id=509)
        [answer] = await api.wait_for_messages(509, timeout=10)
    assert "reply_markup" not in answer


async def test_a_stale_button_is_answered_without_a_picture(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, chart_bot(api, tmp_path):
        api.user_says("/start", chat_id=510)
        await api.wait_for_messages(510, timeout=10)
        api.press_button("chart:exposure:XX:autos", chat_id=510, message_id=1)
        await api.wait_for(lambda: api.callback_answers, timeout=10)
    assert api.callback_answers[0]["text"] == "That button is no longer valid; ask /exposure again."
    assert api.photos == []


class CountingRenderer:
    def __init__(self) -> None:
        self.drawn: list[Chart] = []

    def __call__(self, chart: Chart, words: ChartWords) -> bytes:
        self.drawn.append(chart)
        return PNG_SIGNATURE


async def test_a_picture_is_kept_until_a_measure_moves(services: Services) -> None:
    renderer = CountingRenderer()
    services.charts = ChartBook(renderer)
    for _ in range(2):
        answer = chart_answer(services, ["gallium"])
        assert answer.chart is not None and answer.words is not None
        await services.charts.picture(answer.key, answer.chart, answer.words)
    assert len(renderer.drawn) == 1
    record_measure_event(services.db, {"measure_id": "MOFCOM-23-2023", "at": NOW.isoformat(), "kind": "evidence",
                                       "title": "t", "source": "s"})  # fmt: skip
    answer = chart_answer(services, ["gallium"])
    assert answer.chart is not None and answer.words is not None
    await services.charts.picture(answer.key, answer.chart, answer.words)
    assert len(renderer.drawn) == 2


async def test_the_book_keeps_a_bounded_number_of_pictures(services: Services) -> None:
    book = ChartBook(CountingRenderer(), kept=2)
    answer = exposure_chart_answer(services, services_exposure(services))
    assert answer.chart is not None and answer.words is not None
    for key in ("a", "b", "c"):
        await book.picture(key, answer.chart, answer.words)
    assert len(book) == 2


def services_exposure(services: Services) -> object:
    from bot.domain.exposure import assess

    return assess(services.table, services.status_book(), "JP", "autos", services.today())


def test_a_material_no_measure_names_has_nothing_to_chart(services: Services) -> None:
    answer = chart_answer(services, ["lithium"])
    assert answer.chart is None
    assert answer.caption == "No export control has applied to lithium since 2023-01-01: there is nothing to chart."


SAMPLE = "日本 ジスプロシウム 镝"


def draw_text(families: list[str], text: str) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": families}):
        figure = Figure()
        figure.text(0.1, 0.5, text)
        figure.savefig(io.BytesIO(), format="png")


def test_japanese_and_chinese_labels_find_their_glyphs() -> None:
    """pytest turns matplotlib's "Glyph … missing from font" warning into an error: drawing passes only if the
    families resolve a font with every glyph."""
    families = font_families()
    assert len(families) == 2 and families[0] == LATIN_FAMILY
    draw_text(families, SAMPLE)


def test_without_the_cjk_font_the_glyphs_would_be_boxes() -> None:
    """The check above can fail: Latin alone has none of these glyphs."""
    with pytest.warns(UserWarning, match="missing from font"):
        draw_text([LATIN_FAMILY], SAMPLE)


def test_a_chart_with_japanese_names_draws_without_missing_glyphs(services: Services) -> None:
    answer = chart_answer(services, ["dysprosium"])
    assert answer.chart is not None
    words = english_words(services.vocabulary)
    japanese = ChartWords(names={**words.names, "dysprosium": "ジスプロシウム", "US": "米国", "ALL": "全仕向地"},
                          today="今日 镝")  # fmt: skip
    assert ChartRenderer().render(answer.chart, japanese).startswith(PNG_SIGNATURE)


def test_every_kind_of_chart_draws(services: Services) -> None:
    renderer = ChartRenderer()
    answers = [chart_answer(services, ["japan"]), chart_answer(services, ["gallium"])]
    answers.append(exposure_chart_answer(services, services_exposure(services)))  # type: ignore[arg-type]
    for answer in answers:
        assert answer.chart is not None and answer.words is not None
        assert renderer.render(answer.chart, answer.words).startswith(PNG_SIGNATURE)


def test_warming_up_draws_every_script_the_labels_use() -> None:
    """warm() sets Latin, Japanese and Chinese text: a missing glyph would be an error here."""
    ChartRenderer().warm()


async def test_the_book_warms_up_once_in_a_worker_thread(services: Services) -> None:
    threads: list[str] = []
    book = ChartBook(CountingRenderer(), warm=lambda: threads.append(threading.current_thread().name))
    book.warm_up()
    book.warm_up()
    await book.warmed()
    assert len(threads) == 1 and threads[0] != threading.current_thread().name
    await ChartBook(CountingRenderer()).warmed()  # a renderer given without a warm-up has none


def failing_warm() -> None:
    raise RuntimeError("no fonts today")


async def test_a_failed_warm_up_is_logged_and_the_first_chart_still_drawn(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    book = ChartBook(CountingRenderer(), warm=failing_warm)
    book.warm_up()
    await book.warmed()
    assert "charts could not be prepared" in caplog.text
    answer = chart_answer(services, ["gallium"])
    assert answer.chart is not None and answer.words is not None
    assert await book.picture(answer.key, answer.chart, answer.words) == PNG_SIGNATURE
