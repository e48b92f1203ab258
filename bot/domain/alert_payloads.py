"""What an alert's messages are rendered from: one payload type per alert kind, stored as JSON in the outbox.

The pipeline builds them (jobs/alerts.py, jobs/measures.py, jobs/desk.py), the outbox stores them, and
bot/domain/alert_text.py renders them for each chat; mypy holds both ends to these shapes. A payload read back
from the outbox is typed by its alert's kind (`read_payload`): the one place a stored document becomes a type.
"""

from __future__ import annotations

from typing import NotRequired, TypeAlias, TypedDict, TypeGuard, cast

from bot.domain.datafiles import JsonObject
from bot.domain.values import AlertKind, DeskItemKind, Direction, EndUse, Provenance, Severity


class Entry(TypedDict):
    """A target and material, with their names as people read them."""

    target: str
    target_name: str
    material: str
    material_name: str


class ChangeEntry(Entry):
    """One move of the effective level of a target for a material."""

    old: int
    new: int
    end_use: NotRequired[EndUse]
    provenance: NotRequired[Provenance]
    measure: NotRequired[str | None]


class LapseEntry(Entry):
    """A suspension that ran out: the level the bot shows, and the level that comes back unless extended."""

    level: int
    lifted: int


class ExposureEffect(TypedDict):
    """One country and sector's exposure score before and after an alert's changes."""

    country: str
    sector: str
    before: int
    after: int
    band_before: str
    band_after: str


class Evidence(TypedDict):
    """The headline an alert rests on, where it came from, and when."""

    title: str
    url: str | None
    source: str
    at: str  # ISO


class StatusPayload(Evidence):
    """A status alert: an item's changes to the effective levels (see bot/domain/alert_text.py)."""

    issuer: str
    issuer_name: str
    changes: list[ChangeEntry]
    item_id: int | None
    severity: Severity
    exposure: dict[str, ExposureEffect]  # by 'COUNTRY:sector'
    countries: NotRequired[dict[str, list[ChangeEntry]]]  # each reached country's own levels


class LapsePayload(Evidence):
    """A suspension that ran out (written by versions before measures; kept readable, nothing writes it now)."""

    issuer: str
    issuer_name: str
    until: str
    lapses: list[LapseEntry]
    severity: Severity
    exposure: dict[str, ExposureEffect]
    countries: NotRequired[dict[str, list[LapseEntry]]]


class AdminPayload(TypedDict):
    """A line for the admins."""

    text: str


class FollowUpPayload(Evidence):
    """A confirmation or a correction of an alert on a reported measure."""

    measure: str
    measure_label: str
    item_id: NotRequired[int | None]
    by: NotRequired[str]  # a correction: who dismissed it


class DeskPayload(Evidence):
    """The desk's copy of an unsure reading, with Confirm and Dismiss."""

    kind: DeskItemKind
    level: int
    direction: Direction
    targets: list[str]
    materials: list[str]
    measure_label: str
    desk_id: NotRequired[int]


class DigestItem(TypedDict):
    """One held alert in a digest, with the pairs of the chat it was held for."""

    payload: StatusPayload | LapsePayload
    pairs: list[str]


class DigestPayload(TypedDict):
    """A chat's daily digest: its local date and the alerts it held."""

    date: str
    items: list[DigestItem]


AlertPayload: TypeAlias = StatusPayload | LapsePayload | AdminPayload | FollowUpPayload | DeskPayload | DigestPayload


def is_lapse(payload: StatusPayload | LapsePayload) -> TypeGuard[LapsePayload]:
    """Whether a held alert is a lapse (kept readable in digests) rather than a status alert."""
    return "lapses" in payload


def read_payload(document: JsonObject) -> AlertPayload:
    """A payload read back from the outbox; its alert's kind says which of the payloads it is."""
    return cast(AlertPayload, document)


def alert_kind(text: str) -> AlertKind:
    """An alert's stored kind (the outbox writes only these)."""
    return cast(AlertKind, text)
