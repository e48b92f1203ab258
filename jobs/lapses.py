"""Suspensions that ran out: one alert per suspending event once the date it names has passed.

A status with `until` was set by a suspension (MOFCOM Announcements 70/2025 and 72/2025 in the baseline): the
measure it lifted is suspended to that date. Once the date has passed, the bot cannot know whether the
suspension was extended or the measure is back, so it moves no status; it raises one alert per suspending event
(issuer, title, until) that says what comes back unless the suspension was extended. The alert reaches, like a
status alert, every active chat whose subscription the return of the lifted levels would reach — by its
country's effective levels now and with the lifted levels back (bot.matching), so that a lapse beneath a
measure that stays on that country reaches none of its subscribers — with the same holds (digest, quiet hours,
mute). Levels are effective levels (DESIGN.md); a lapse that would move no target's effective level is left
out, and an event none of whose lapses would move one raises no alert. Its key is stable: a second run, or a
restart, raises none again. As nothing is confirmed banned, quiet hours that let bans through do not let a lapse
through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from bot.domain.alert_text import severity
from bot.domain.ladder import Level
from bot.domain.matching import Filter, Move, matching_filters
from bot.domain.status import CHINA, Status
from bot.domain.vocab import Kind
from jobs.alerts import (
    AlertContext,
    Around,
    CountryLevels,
    country_entries,
    country_views,
    exposure_effects,
    exposure_pairs,
    fan_out,
)
from storage.outbox import insert_alert, stamp
from storage.statuses import current_statuses, latest_change
from storage.subscribers import active_filters

logger = logging.getLogger(__name__)

Event = tuple[str, str, dt.date]  # the suspending event: (issuer, title, until)


@dataclass(frozen=True, slots=True)
class Lapse:
    """A status whose suspension ran out, and the level the suspension had lifted."""

    status: Status
    lifted: int


@dataclass(frozen=True, slots=True)
class ShownLapse:
    """A lapse as people read it: the effective level of its target for its material now and with it lifted."""

    lapse: Lapse
    level: int
    lifted: int

    @property
    def move(self) -> Move:
        """The move of the target's effective level that comes back unless the suspension was extended."""
        return Move(self.lapse.status.target, self.lapse.status.material, self.level, self.lifted)


def lifted_statuses(statuses: Sequence[Status], lapses: Sequence[Lapse]) -> list[Status]:
    """The statuses with the lapses' lifted levels back."""
    lifted = {(lapse.status.issuer, lapse.status.target, lapse.status.material): lapse.lifted for lapse in lapses}
    return [
        replace(status, level=Level(lifted[key])) if (key := (status.issuer, status.target, status.material)) in lifted
        else status
        for status in statuses
    ]  # fmt: skip


def shown_lapses(lapses: Sequence[Lapse], levels: CountryLevels) -> list[ShownLapse]:
    """The lapses that would move their target's effective level, with that level now and lifted."""
    shown = []
    for lapse in lapses:
        target, material = lapse.status.target, lapse.status.material
        if target in levels.before.vocabulary.countries:
            level, lifted = levels(target, material)
        else:
            level, lifted = int(lapse.status.level), lapse.lifted
        if level != lifted:
            shown.append(ShownLapse(lapse, level, lifted))
    return shown


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
    row = latest_change(db, key, at_most=status.since.isoformat())
    if row is None:
        return int(Level.NORMAL)
    if dt.datetime.fromisoformat(row["at"]) == status.since and row["new_level"] == status.level:
        return int(row["old_level"])
    return int(row["new_level"])


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
    around = Around(statuses, lifted_statuses(statuses, lapses))
    levels = CountryLevels(*around.books(context.vocabulary, event[0]))
    shown = shown_lapses(lapses, levels)
    if not shown:
        logger.info("suspension until %s ran out (%s), but no effective level would move", event[2], event[1][:60])
        return None
    moves = [each.move for each in shown]
    with db.atomic():
        filters = [Filter(*row) for row in active_filters(db)]
        matched = matching_filters(filters, moves, context.vocabulary, context.table, levels)
        payload = lapse_payload(shown, context, _exposure(shown, around, matched, context, now), now)
        views = country_views(matched, moves, context, levels)
        payload["countries"] = country_entries(views, context.vocabulary, "level", "lifted")
        alert_id = insert_alert(db, lapse_key(event), "lapse", payload["severity"], payload, stamp(now))
        if alert_id is None:
            return None
        count = fan_out(db, alert_id, matched, now, banned=False)
    logger.info("suspension until %s ran out (%s): alert %d to %d chats", event[2], event[1][:60], alert_id, count)
    return alert_id


def _exposure(
    shown: Sequence[ShownLapse],
    around: Around,
    matched: Sequence[Filter],
    context: AlertContext,
    now: dt.datetime,
) -> dict[str, dict[str, Any]]:
    """The matched chats' exposures (to China's measures) now and with the lifted levels back."""
    if shown[0].lapse.status.issuer != CHINA:
        return {}
    pairs = exposure_pairs(matched, [each.lapse.status.target for each in shown], context)
    return exposure_effects(around, context, pairs, utc_date(now))


def lapse_payload(
    lapses: Sequence[ShownLapse], context: AlertContext, exposure: dict[str, dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    """What a lapse alert's messages are rendered from (see bot.alert_text.lapse_message): `level` and `lifted`
    are effective levels of each lapse's target; the caller adds `countries`, the matched countries' own."""
    first, vocabulary = lapses[0].lapse.status, context.vocabulary
    strongest = max(lapses, key=lambda lapse: (lapse.lifted, -lapse.level))
    return {
        "issuer": first.issuer,
        "issuer_name": vocabulary.display(Kind.COUNTRY, first.issuer),
        "title": first.title,
        "source": first.source,
        "url": first.url,
        "until": first.until.isoformat() if first.until else None,
        "targets": _unique(lapse.lapse.status.target for lapse in lapses),
        "materials": _unique(lapse.lapse.status.material for lapse in lapses),
        "level": strongest.level,
        "lifted": strongest.lifted,
        "lapses": [
            {
                "target": lapse.lapse.status.target,
                "target_name": vocabulary.display(Kind.COUNTRY, lapse.lapse.status.target),
                "material": lapse.lapse.status.material,
                "material_name": vocabulary.display(Kind.MATERIAL, lapse.lapse.status.material),
                "level": lapse.level,
                "lifted": lapse.lifted,
            }
            for lapse in lapses
        ],
        "at": now.isoformat(),
        "severity": severity((lapse.level, lapse.lifted) for lapse in lapses),
        "exposure": exposure,
    }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
