"""/exposure COUNTRY [SECTOR]: how exposed a country's sectors are to Chinese export controls."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update

from bot.domain.answers import exposure_message, ranking_message
from bot.domain.exposure import Exposure, assess, rank_sectors
from bot.domain.i18n import N_, Words, words
from bot.domain.status import CHINA
from bot.domain.vocab import Kind, UnknownTerm
from handlers.charts import chart_keyboard
from handlers.context import Context, Services, UsageError, chat_words, check_arguments, split_leading
from handlers.replies import reply_html, reply_problem
from handlers.sources import reading_line

USAGE = N_("Usage: /exposure COUNTRY [SECTOR]") + "\n" + N_("Example: /exposure japan autos")
NOT_FOR_CHINA = N_(
    "Exposure is measured for a country that depends on Chinese supply; China issues the controls tracked here."
)


A_MATERIAL = N_("That is a material: /status and /chart answer for a material; /exposure starts with a country.")


def exposure_query(services: Services, args: Sequence[str]) -> tuple[str, Exposure | list[Exposure]]:
    """Resolve the arguments and assess: one Exposure for a sector, a ranking without one."""
    words = check_arguments(args, USAGE, at_least=1)
    try:
        country, rest = split_leading(services.vocabulary, Kind.COUNTRY, words)
    except UnknownTerm:
        if any(services.vocabulary.lookup(Kind.MATERIAL, " ".join(words[:end])) for end in range(len(words), 0, -1)):
            raise UsageError(f"{A_MATERIAL}\n{USAGE}") from None
        raise
    if country in (CHINA, "ALL"):
        raise UsageError(f"{NOT_FOR_CHINA}\n{USAGE}")
    book = services.status_book()
    if not rest:
        return country, rank_sectors(services.table, book, country, services.today())
    sector = services.vocabulary.sector(" ".join(rest))
    return country, assess(services.table, book, country, sector, services.today())


def exposure_answer(services: Services, args: Sequence[str], w: Words | None = None) -> str:
    """The HTML reply to /exposure."""
    return exposure_text(services, *exposure_query(services, args), w=w)


def exposure_text(services: Services, country: str, result: Exposure | list[Exposure], w: Words | None = None) -> str:
    """A ranking of sectors, or one sector's exposure explained, in the reader's language."""
    w = w or words()
    if isinstance(result, list):
        answer = ranking_message(country, result, services.vocabulary, w)
    else:
        answer = exposure_message(result, services.vocabulary, w)
    return f"{answer}\n{reading_line(services, w)}"


async def exposure(update: Update, context: Context) -> None:
    """Answer /exposure COUNTRY [SECTOR]; one sector's answer carries a "Chart" button."""
    services = context.bot_data.services
    w = chat_words(update, services)
    try:
        country, result = exposure_query(services, context.args or [])
    except ValueError as problem:  # UsageError and UnknownTerm; anything else is a bug
        await reply_problem(update, problem, known_hint(services, problem, w), w)
        return
    markup = None if isinstance(result, list) else chart_keyboard(result, w)
    await reply_html(update, exposure_text(services, country, result, w), markup)


def known_hint(services: Services, problem: Exception, w: Words | None = None) -> str:
    """After an unknown sector, the list of known ones (there are few enough to show)."""
    if getattr(problem, "kind", None) == Kind.SECTOR:
        w = w or words()
        return w._("Known sectors: %(sectors)s", sectors=", ".join(services.vocabulary.sectors))
    return ""
