"""/status [COUNTRY|MATERIAL] and /history [COUNTRY|MATERIAL] [N]: the current levels and how they moved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Update

from bot.domain.answers import status_json
from bot.domain.datafiles import JsonObject
from bot.domain.html import esc
from bot.domain.ladder import Level
from bot.domain.measure_answers import bears_on, event_line, measure_json, measures_message
from bot.domain.measures import Measure, measure_from_row
from bot.domain.status import Status
from bot.domain.vocab import Kind, UnknownTerm
from handlers.context import Context, Services, UsageError, check_arguments
from handlers.replies import reply_answer
from storage.measures import all_measures, measure_events
from storage.statuses import current_statuses

STATUS_USAGE = "Usage: /status [COUNTRY|MATERIAL]\nExamples: /status, /status japan, /status gallium"
HISTORY_USAGE = "Usage: /history [COUNTRY|MATERIAL] [N]\nExamples: /history japan, /history gallium 5"
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
    scored = [(score, vocabulary.label(kind, code)) for kind in (Kind.COUNTRY, Kind.MATERIAL)
              for code, score in vocabulary.closest(kind, text, 3)]  # fmt: skip
    suggestions = [label for _, label in sorted(scored, key=lambda pair: -pair[0])[:4]]
    raise UnknownTerm(Kind.COUNTRY, text, suggestions, label="country or material")


def _applies(services: Services, subject: Subject, status: Status) -> bool:
    if subject.kind == Kind.COUNTRY and subject.code:
        return status.target in services.vocabulary.destinations(subject.code)
    if subject.kind == Kind.MATERIAL and subject.code:
        return status.material in services.vocabulary.covering(subject.code)
    return True


def statuses_for(services: Services, subject: Subject) -> list[Status]:
    """The statuses in force that bear on a subject (derived from the measures in force)."""
    statuses = (Status.from_row(row) for row in current_statuses(services.db))
    return [status for status in statuses if status.level > Level.NORMAL and _applies(services, subject, status)]


def measures_for(services: Services, subject: Subject) -> list[Measure]:
    """The measures that bear on a subject, whatever their state."""
    measures = (measure_from_row(row) for row in all_measures(services.db))
    return [m for m in measures if bears_on(m, services.vocabulary, subject.kind, subject.code)]


def status_answer(services: Services, args: Sequence[str]) -> str:
    """The HTML reply to /status: the measures in force, announced or suspended, by instrument."""
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    title = _title(services, subject, "Export controls", "every measure")
    return measures_message(title, measures_for(services, subject), services.vocabulary, services.today())


def status_document(services: Services, args: Sequence[str]) -> JsonObject:
    """The `status --json` answer: the statuses in force and the suspended measures' keys, and the measures."""
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    today = services.today()
    measures = measures_for(services, subject)
    suspended = [
        status_json(status, "suspended")
        for measure in measures
        if measure.state_on(today) == "suspended"
        for status in _suspended_statuses(measure)
        if _applies(services, subject, status)
    ]
    return {
        "query": subject.as_json(),
        "as_of": today.isoformat(),
        "statuses": [status_json(status) for status in statuses_for(services, subject)] + suspended,
        "measures": [measure_json(measure, today) for measure in measures if measure.state_on(today) != "lifted"],
    }


def _suspended_statuses(measure: Measure) -> list[Status]:
    since = dt.datetime.combine(measure.state_since or measure.effective, dt.time(), tzinfo=dt.UTC)
    return [
        Status(
            measure.issuer,
            target,
            material,
            measure.level,
            since,
            measure.title,
            measure.source,
            measure.url,
            measure.until,
            measure.end_use,
            measure.id,
            measure.provenance,
            measure.effective,
            None,
            measure.instrument,
        )
        for target in measure.targets
        for material in measure.materials
    ]


def _title(services: Services, subject: Subject, prefix: str, everything: str) -> str:
    if subject.kind is None or subject.code is None:
        return f"{prefix}: {everything}"
    return f"{prefix}: {services.vocabulary.display(subject.kind, subject.code)}"


def _history_arguments(services: Services, args: Sequence[str]) -> tuple[Subject, int]:
    words = check_arguments(args, HISTORY_USAGE)
    limit = HISTORY_DEFAULT
    if words and words[-1].isnumeric():  # digits of any script are meant as N; only ASCII ones are read
        number = words.pop()
        limit = int(number) if number.isascii() and number.isdecimal() else 0
        if not 1 <= limit <= HISTORY_MAX:
            raise UsageError(f"N must be from 1 to {HISTORY_MAX}.\n{HISTORY_USAGE}")
    return parse_subject(services, words), limit


def history_answer(services: Services, args: Sequence[str]) -> str:
    """The HTML reply to /history: the events of the measures that bear on the subject, newest first."""
    subject, limit = _history_arguments(services, args)
    ids = [measure.id for measure in measures_for(services, subject)]
    events = measure_events(services.db, ids, limit=limit) if ids else []
    title = _title(services, subject, "History", "every measure")
    if not events:
        return f"<b>{esc(title)}</b>\nNo changes recorded."
    return "\n".join([f"<b>{esc(title)}</b> (newest first)", *(event_line(e, services.vocabulary) for e in events)])


async def status(update: Update, context: Context) -> None:
    """Answer /status [COUNTRY|MATERIAL]."""
    await reply_answer(update, lambda: status_answer(context.bot_data.services, context.args or []))


async def history(update: Update, context: Context) -> None:
    """Answer /history [COUNTRY|MATERIAL] [N]."""
    await reply_answer(update, lambda: history_answer(context.bot_data.services, context.args or []))
