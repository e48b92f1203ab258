"""/status [COUNTRY|MATERIAL] and /history [COUNTRY|MATERIAL] [N]: the current levels and how they moved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.domain.answers import history_line, status_json, status_lines
from bot.domain.html import esc
from bot.domain.ladder import Level
from bot.domain.status import Status
from bot.domain.vocab import Kind, UnknownTerm
from handlers.context import Context, Services, UsageError, check_arguments
from handlers.replies import reply_answer
from storage.statuses import current_statuses, status_history

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
    """The statuses that bear on a subject: in force, or suspended with an end date."""
    statuses = (Status.from_row(row) for row in current_statuses(services.db))
    return [
        status
        for status in statuses
        if (status.level > Level.NORMAL or status.until) and _applies(services, subject, status)
    ]


def status_answer(services: Services, args: Sequence[str]) -> str:
    """The HTML reply to /status."""
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    statuses = statuses_for(services, subject)
    title = _title(services, subject, "Export controls", "every status in force")
    if not statuses:
        return f"<b>{esc(title)}</b>\nNo measure in force."
    today = services.today()
    lines = status_lines(statuses, services.vocabulary, today)
    return "\n".join([f"<b>{esc(title)}</b>", *lines, "", f"<i>As of {today.isoformat()}.</i>"])


def status_document(services: Services, args: Sequence[str]) -> dict[str, Any]:
    """The `status --json` answer."""
    subject = parse_subject(services, check_arguments(args, STATUS_USAGE))
    return {
        "query": subject.as_json(),
        "as_of": services.today().isoformat(),
        "statuses": [status_json(status) for status in statuses_for(services, subject)],
    }


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
    """The HTML reply to /history."""
    subject, limit = _history_arguments(services, args)
    targets: Sequence[str] = ()
    materials: Sequence[str] = ()
    if subject.kind == Kind.COUNTRY and subject.code:
        targets = sorted(services.vocabulary.destinations(subject.code))
    elif subject.kind == Kind.MATERIAL and subject.code:
        materials = sorted(services.vocabulary.covering(subject.code))
    changes = status_history(services.db, targets=targets, materials=materials, limit=limit)
    title = _title(services, subject, "History", "every change")
    if not changes:
        return f"<b>{esc(title)}</b>\nNo changes recorded."
    return "\n".join([f"<b>{esc(title)}</b> (newest first)", *(history_line(c, services.vocabulary) for c in changes)])


async def status(update: Update, context: Context) -> None:
    """Answer /status [COUNTRY|MATERIAL]."""
    await reply_answer(update, lambda: status_answer(context.bot_data.services, context.args or []))


async def history(update: Update, context: Context) -> None:
    """Answer /history [COUNTRY|MATERIAL] [N]."""
    await reply_answer(update, lambda: history_answer(context.bot_data.services, context.args or []))
