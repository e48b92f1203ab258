"""Suspensions that ran out: one alert per suspending event once the date it names has passed.

A status with `until` was set by a suspension (MOFCOM Announcements 70/2025 and 72/2025 in the baseline): the
measure it lifted is suspended to that date. Once the date has passed, the bot cannot know whether the
suspension was extended or the measure is back, so it moves no status; it raises one alert per suspending event
(issuer, title, until) that says what comes back unless the suspension was extended. The alert reaches, like a
status alert, every active chat whose subscription a move from the level in force to the lifted level would
reach, with the same holds (digest, quiet hours, mute). Its key is stable: a second run, or a restart, raises
none again. As nothing is confirmed banned, quiet hours that let bans through do not let a lapse through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from bot.alert_text import severity
from bot.ladder import Level
from bot.matching import Filter, Move, matching_filters
from bot.status import CHINA, Status
from bot.vocab import Kind
from jobs.alerts import AlertContext, Around, exposure_effects, exposure_pairs, fan_out
from storage.outbox import insert_alert, stamp
from storage.statuses import current_statuses, status_history
from storage.subscribers import active_filters

logger = logging.getLogger(__name__)

HISTORY_DEPTH = 200
Event = tuple[str, str, dt.date]  # the suspending event: (issuer, title, until)


@dataclass(frozen=True, slots=True)
class Lapse:
    """A status whose suspension ran out, and the level the suspension had lifted."""

    status: Status
    lifted: int

    @property
    def move(self) -> Move:
        """The move that comes back unless the suspension was extended."""
        return Move(self.status.target, self.status.material, int(self.status.level), self.lifted)


def announce_lapses(db: Database, context: AlertContext, now: dt.datetime) -> list[int]:
    """Raise one alert per suspending event whose `until` is before today (UTC); return the new alerts' ids."""
    statuses = [Status.from_row(row) for row in current_statuses(db)]
    created = []
    for event, lapses in lapsed_events(db, statuses, utc_date(now)).items():
        alert_id = _alert_for_event(db, event, lapses, statuses, context, now)
        if alert_id is not None:
            created.append(alert_id)
    return created


def utc_date(now: dt.datetime) -> dt.date:
    """The UTC date of a moment (a naive one is taken as UTC)."""
    return now.astimezone(dt.UTC).date() if now.tzinfo else now.date()


def lapsed_events(db: Database, statuses: Sequence[Status], today: dt.date) -> dict[Event, list[Lapse]]:
    """The statuses whose suspension ran out before `today`, by suspending event; a status whose lifted level is
    not above its own (nothing would come back) is left out."""
    events: dict[Event, list[Lapse]] = {}
    for status in statuses:
        if status.until is None or status.until >= today:
            continue
        lifted = lifted_level(db, status)
        if lifted <= status.level:
            logger.info("suspension of %s → %s ran out, but lifted nothing", status.material, status.target)
            continue
        events.setdefault((status.issuer, status.title, status.until), []).append(Lapse(status, lifted))
    return events


def lifted_level(db: Database, status: Status) -> int:
    """The level the suspension lifted: the level before the change that set the status, from the history; where
    the status was set without a change (beneath a stronger measure), the level the history last gave it."""
    key = (status.issuer, status.target, status.material)
    rows = status_history(db, targets=[status.target], materials=[status.material], limit=HISTORY_DEPTH)
    for row in rows:
        at = dt.datetime.fromisoformat(row["at"])
        if (row["issuer"], row["target"], row["material"]) != key or at > status.since:
            continue
        if at == status.since and row["new_level"] == status.level:
            return int(row["old_level"])
        return int(row["new_level"])
    return int(Level.NORMAL)


def lapse_key(event: Event) -> str:
    """The same key for the same suspending event, whenever it is seen to run out."""
    issuer, title, until = event
    return f"lapse:{issuer}:{until.isoformat()}:{hashlib.sha256(title.encode()).hexdigest()[:16]}"


def _alert_for_event(
    db: Database,
    event: Event,
    lapses: Sequence[Lapse],
    statuses: Sequence[Status],
    context: AlertContext,
    now: dt.datetime,
) -> int | None:
    order = {material: index for index, material in enumerate(context.vocabulary.materials)}
    lapses = sorted(lapses, key=lambda lapse: (lapse.status.target, order.get(lapse.status.material, len(order))))
    with db.atomic():
        filters = [Filter(*row) for row in active_filters(db)]
        matched = matching_filters(filters, [lapse.move for lapse in lapses], context.vocabulary, context.table)
        payload = lapse_payload(lapses, context, _exposure(lapses, statuses, matched, context, now), now)
        alert_id = insert_alert(db, lapse_key(event), "lapse", payload["severity"], payload, stamp(now))
        if alert_id is None:
            return None
        count = fan_out(db, alert_id, matched, now, banned=False)
    logger.info("suspension until %s ran out (%s): alert %d to %d chats", event[2], event[1][:60], alert_id, count)
    return alert_id


def _exposure(
    lapses: Sequence[Lapse],
    statuses: Sequence[Status],
    matched: Sequence[Filter],
    context: AlertContext,
    now: dt.datetime,
) -> dict[str, dict[str, Any]]:
    """The matched chats' exposures (to China's measures) now and with the lifted levels back."""
    if lapses[0].status.issuer != CHINA:
        return {}
    pairs = exposure_pairs(matched, [lapse.status.target for lapse in lapses], context)
    lifted = {(lapse.status.issuer, lapse.status.target, lapse.status.material): lapse.lifted for lapse in lapses}
    back = [
        replace(status, level=Level(lifted[key])) if (key := (status.issuer, status.target, status.material)) in lifted
        else status
        for status in statuses
    ]  # fmt: skip
    return exposure_effects(Around(statuses, back), context, pairs, utc_date(now))


def lapse_payload(
    lapses: Sequence[Lapse], context: AlertContext, exposure: dict[str, dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    """What a lapse alert's messages are rendered from (see bot.alert_text.lapse_message)."""
    first, vocabulary = lapses[0].status, context.vocabulary
    strongest = max(lapses, key=lambda lapse: (lapse.lifted, -lapse.status.level))
    return {
        "issuer": first.issuer,
        "issuer_name": vocabulary.display(Kind.COUNTRY, first.issuer),
        "title": first.title,
        "source": first.source,
        "url": first.url,
        "until": first.until.isoformat() if first.until else None,
        "targets": _unique(lapse.status.target for lapse in lapses),
        "materials": _unique(lapse.status.material for lapse in lapses),
        "level": int(strongest.status.level),
        "lifted": strongest.lifted,
        "lapses": [
            {
                "target": lapse.status.target,
                "target_name": vocabulary.display(Kind.COUNTRY, lapse.status.target),
                "material": lapse.status.material,
                "material_name": vocabulary.display(Kind.MATERIAL, lapse.status.material),
                "level": int(lapse.status.level),
                "lifted": lapse.lifted,
            }
            for lapse in lapses
        ],
        "at": now.isoformat(),
        "severity": severity((int(lapse.status.level), lapse.lifted) for lapse in lapses),
        "exposure": exposure,
    }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
