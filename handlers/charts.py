"""/chart COUNTRY|MATERIAL and the "Chart" button under /exposure: pictures sent with sendPhoto and a caption that
carries the same facts; a chart that cannot be drawn is answered in text."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain import i18n
from bot.domain.chart_data import (
    History,
    country_grid,
    exposure_bars,
    histories_from_rows,
    key_materials,
    material_chart,
)
from bot.domain.chart_render import Chart
from bot.domain.chart_text import (
    CHART_USAGE,
    country_caption,
    exposure_caption,
    material_caption,
    not_drawn,
    nothing_to_chart,
)
from bot.domain.chart_words import ChartWords, chart_words
from bot.domain.exposure import Exposure, assess
from bot.domain.i18n import N_, Words, known_language
from bot.domain.ladder import Level
from bot.domain.vocab import Kind
from handlers.context import Context, Services, chat_words, check_arguments
from handlers.replies import reply_html, reply_problem
from handlers.status import parse_subject
from storage.measures import all_measure_events, all_measures, latest_change

logger = logging.getLogger(__name__)

CALLBACK_PATTERN = r"^chart:"
BUTTON_LABEL = N_("Chart")
STALE_BUTTON = N_("That button is no longer valid; ask /exposure again.")


@dataclass(frozen=True, slots=True)
class ChartAnswer:
    """A chart to draw with its caption, or only a text where there is nothing to draw."""

    key: Hashable
    caption: str
    chart: Chart | None = None
    words: ChartWords | None = None


def histories(services: Services) -> list[History]:
    """Every stored measure with its events."""
    return histories_from_rows(all_measures(services.db), all_measure_events(services.db))


def _key(services: Services, language: str, *what: str) -> Hashable:
    """A kept picture's key: what it shows, the language of its words, the day and the last status change."""
    return (*what, language, services.today().isoformat(), latest_change(services.db))


def chart_answer(services: Services, args: Sequence[str], w: Words | None = None) -> ChartAnswer:
    """The chart /chart asks for: a material's levels per destination, or a country's key materials by month."""
    w = w or i18n.words()
    subject = parse_subject(services, check_arguments(args, CHART_USAGE, at_least=1))
    assert subject.kind is not None and subject.code is not None
    words, today = chart_words(services.vocabulary, w), services.today()
    key = _key(services, w.language, str(subject.kind), subject.code)
    if subject.kind == Kind.MATERIAL:
        chart = material_chart(histories(services), services.vocabulary, subject.code, today)
        if not chart.series:
            return ChartAnswer(key, nothing_to_chart(words.name(subject.code), chart.start, w))
        return ChartAnswer(key, material_caption(chart, words), chart, words)
    needs = {code: sector.needs for code, sector in services.table.sectors.items()}
    grid = country_grid(histories(services), services.vocabulary, subject.code, key_materials(needs), today)
    if all(level == Level.NORMAL for _, levels in grid.rows for level in levels):
        return ChartAnswer(key, nothing_to_chart(words.name(subject.code), grid.start, w))
    return ChartAnswer(key, country_caption(grid, words), grid, words)


def exposure_chart_answer(services: Services, exposure: Exposure, w: Words | None = None) -> ChartAnswer:
    """The breakdown of an exposure score by material, as bars."""
    w = w or i18n.words()
    words = chart_words(services.vocabulary, w)
    bars = exposure_bars(exposure)
    key = _key(services, w.language, "exposure", exposure.country, exposure.sector)
    return ChartAnswer(key, exposure_caption(bars, words), bars, words)


def chart_keyboard(exposure: Exposure, w: Words | None = None) -> InlineKeyboardMarkup:
    """The button under an /exposure answer that sends its breakdown as a chart."""
    data = f"chart:exposure:{exposure.country}:{exposure.sector}"
    label = (w or i18n.words())._(BUTTON_LABEL)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])


def exposure_from_button(services: Services, data: str) -> Exposure:
    """The exposure a button press names; ValueError for data no button of ours carries."""
    parts = data.split(":")
    if len(parts) != 4 or parts[1] != "exposure":
        raise ValueError(STALE_BUTTON)
    country, sector = parts[2], parts[3]
    if country not in services.vocabulary.countries or sector not in services.table.sectors:
        raise ValueError(STALE_BUTTON)
    return assess(services.table, services.status_book(), country, sector, services.today())


async def send_chart(update: Update, services: Services, answer: ChartAnswer) -> None:
    """Send the picture with its caption; where there is nothing to draw or drawing fails, the text."""
    message = update.effective_message
    if message is None:
        return
    if answer.chart is None or answer.words is None:
        await reply_html(update, answer.caption)
        return
    try:
        picture = await services.charts.picture(answer.key, answer.chart, answer.words)
    except Exception:  # a drawing failure is the renderer's, never the user's: logged, answered in text
        logger.exception("chart %s could not be drawn", answer.key)
        words = answer.words
        await reply_html(update, not_drawn(answer.caption, i18n.words(known_language(words.language))))
        return
    await message.reply_photo(picture, caption=answer.caption)


def send_later(update: Update, context: Context, answer: ChartAnswer) -> None:
    """Draw and send in a task of its own: updates are handled one at a time, and other chats must not wait for a
    drawing (a failure in the task reaches the error handler)."""
    context.application.create_task(send_chart(update, context.bot_data.services, answer), update=update)


async def chart(update: Update, context: Context) -> None:
    """Answer /chart COUNTRY|MATERIAL with a picture."""
    services = context.bot_data.services
    w = chat_words(update, services)
    try:
        answer = chart_answer(services, context.args or [], w)
    except ValueError as problem:  # UsageError and UnknownTerm: what was wrong, and the closest names
        await reply_problem(update, problem, w=w)
        return
    send_later(update, context, answer)


async def chart_button(update: Update, context: Context) -> None:
    """A press on the "Chart" button under an /exposure answer."""
    query, services = update.callback_query, context.bot_data.services
    if query is None:
        return
    w = chat_words(update, services)
    try:
        exposure = exposure_from_button(services, query.data or "")
    except ValueError as problem:
        await query.answer(w._(str(problem)))
        return
    await query.answer()
    send_later(update, context, exposure_chart_answer(services, exposure, w))
