"""/status [COUNTRY|MATERIAL] and /history [COUNTRY|MATERIAL] [N]: the current levels and how they moved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Update

from bot.domain.answers import status_json
from bot.domain.datafiles import JsonObject
from bot.domain.html import esc
from bot.domain.i18n import N_, Words, words
from bot.domain.ladder import Level
from bot.domain.measure_answers import bears_on, event_line, measure_json, measures_message
from bot.domain.measures import Measure, measure_from_row, statuses_of_measure
from bot.domain.status import Status
from bot.domain.vocab import Kind
from handlers.context import Context, Services, UsageError, chat_words, check_arguments
from handlers.replies import reply_answer
from handlers.sources import reading_line
from storage.measures import all_measures, measure_events, measure_issuers
from storage.statuses import current_statuses

STATUS_USAGE = N_("Usage: /status [COUNTRY|MATERIAL]") + "\n" + N_("Examples: /status, /status japan, /status gallium")
HISTORY_USAGE = N_("Usage: /history [COUNTRY|MATERIAL] [N]") + "\n" + N_("Examples: /history japan, /history gallium 5")
HISTORY_DEFAULT, HISTORY_MAX = 10, 50


@dataclass(frozen=True, slots=True)
class Subject:
    """What a /status or /history asks about: nothing, a country or a material."""

    kind: Kind | None = None
    code: str | None = None

    def as_json(self) -> dict[str, str] | None:
        """The subject in JSON answers."""
        return {"kind": str(self.kind), "code": str(self.code)} if self.kind else None


def parse_subject(services: Services, words: Sequence[str]) -> Subject:
    """A country or a material, whichever the words name; the closest of both when neither."""
    if not words:
        return Subject()
    text = " ".join(words)
    for kind in (Kind.COUNTRY, Kind.MATERIAL):
        code = services.vocabulary.lookup(kind, text)
        if code is not None:
            return Subject(kind, code)
    vocabulary = services.vocabulary
    scored = [(score, (kind, code)) for kind in (Kind.COUNTRY, Kind.MATERIAL)
              for code, score in vocabulary.closest(kind, text, 3)]  # fmt: skip
    named = [pair for _, pair in sorted(scored, key=lambda pair: -pair[0])[:4]]
    raise vocabulary.unknown(Kind.COUNTRY, text, named, label="country or material")


def _applies(services: Services, subject: Subject, status: Status) -> bool:
    if subject.kind == Kind.COUNTRY and subject.code:
        return status.target in services.vocabulary.bound_targets(status.issuer, subject.code)
    if subject.kind == Kind.MATERIAL and subject.code:
        return status.material in services.vocabulary.concerning(subject.code)
    return True


def statuses_for(services: Services, subject: Subject) -> list[Status]:
    """The statuses in force that bear on a subject (derived from the measures in force)."""
    statuses = (Status.from_row(row) for row in current_statuses(services.db))
    return [status for status in statuses if status.level > Level.NORMAL and _applies(services, subject, status)]


def measures_for(services: Services, subject: Subject) -> list[Measure]:
    """The measures that bear on a subject, whatever their state."""
    measures = (measure_from_row(row) for row in all_measures(services.db))
    return [m for m in measures if bears_on(m, services.vocabulary, subject.kind, subject.code)]


def status_answer(services: Services, args: Sequence[str], w: Words | None = None) -> str:
    """The HTML reply to /status: the measures in force, announced or suspended, by instrument."""
    w = w or words()
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    title = w._("Export controls: %(subject)s", subject=_subject_name(services, subject, w))
    answer = measures_message(title, measures_for(services, subject), services.vocabulary, services.today(), w)
    return f"{answer}{_issuer_note(services, subject, w)}\n{reading_line(services, w)}"


def _issuer_note(services: Services, subject: Subject, w: Words) -> str:
    """For a country that issues some of the measures: they are not listed under it, and where they are."""
    if subject.kind != Kind.COUNTRY or subject.code not in measure_issuers(services.db):
        return ""
    return "\n" + w._(
        "%(country)s issues controls tracked here; this lists only controls on exports to %(country)s. Its own are "
        "listed under each destination or material they apply to, and all together by /status alone.",
        country=_subject_name(services, subject, w),
    )


def status_document(services: Services, args: Sequence[str]) -> JsonObject:
    """The `status --json` answer: the statuses in force and the suspended measures' keys, and the measures."""
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    today = services.today()
    measures = measures_for(services, subject)
    suspended = [
        status_json(status, "suspended")
        for measure in measures
        if measure.state_on(today) == "suspended"
        for status in statuses_of_measure(measure, today)
        if _applies(services, subject, status)
    ]
    return {
        "query": subject.as_json(),
        "as_of": today.isoformat(),
        "statuses": [status_json(status) for status in statuses_for(services, subject)] + suspended,
        "measures": [measure_json(measure, today) for measure in measures if measure.state_on(today) != "lifted"],
    }


def _subject_name(services: Services, subject: Subject, w: Words) -> str:
    if subject.kind is None or subject.code is None:
        return w._("every measure")
    return services.vocabulary.display(subject.kind, subject.code, w.language)


def _history_arguments(services: Services, args: Sequence[str]) -> tuple[Subject, int]:
    words = check_arguments(args, HISTORY_USAGE)
    limit = HISTORY_DEFAULT
    if words and words[-1].lstrip("+-").isnumeric():  # digits of any script, signed or not, are meant as N
        number = words.pop().removeprefix("+")  # +5 is 5; -5 is out of range
        limit = int(number) if number.isascii() and number.isdecimal() else 0
        if not 1 <= limit <= HISTORY_MAX:
            raise UsageError(f"{N_('N must be from 1 to 50.')}\n{HISTORY_USAGE}")  # 50: HISTORY_MAX
    return parse_subject(services, words), limit


def history_answer(services: Services, args: Sequence[str], w: Words | None = None) -> str:
    """The HTML reply to /history: the events of the measures that bear on the subject, newest first."""
    w = w or words()
    subject, limit = _history_arguments(services, args)
    ids = [measure.id for measure in measures_for(services, subject)]
    events = measure_events(services.db, ids, limit=limit) if ids else []
    title = esc(w._("History: %(subject)s", subject=_subject_name(services, subject, w)))
    if not events:
        return f"<b>{title}</b>\n" + w._("No changes recorded.") + _issuer_note(services, subject, w)
    lines = [event_line(event, services.vocabulary, w) for event in events]
    return "\n".join([w._("<b>%(title)s</b> (newest first)", title=title), *lines])


async def status(update: Update, context: Context) -> None:
    """Answer /status [COUNTRY|MATERIAL]."""
    services = context.bot_data.services
    w = chat_words(update, services)
    await reply_answer(update, lambda: status_answer(services, context.args or [], w), w=w)


async def history(update: Update, context: Context) -> None:
    """Answer /history [COUNTRY|MATERIAL] [N]."""
    services = context.bot_data.services
    w = chat_words(update, services)
    await reply_answer(update, lambda: history_answer(services, context.args or [], w), w=w)
