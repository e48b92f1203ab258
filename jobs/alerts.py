"""Alerts from status changes, and admin alerts, written to the outbox inside the caller's transaction.

The checker records an item's status changes and calls `alerts_for_changes` in the same `db.atomic()`, so
a change and the deliveries it causes commit together or not at all; each alert has a stable key, so the
same changes never make two alerts. Daily digests are composed here too, from a chat's held deliveries.

An alert says what changed for people: each change as the effective level of its target for its material
(docs/ARCHITECTURE.md: the highest status on the target, its bloc and ALL, on the material and its groups) before
and after the item's changes, read from the statuses rebuilt as they were. Severity and exposure use the same
levels; a change that moved no effective level (an easing beneath a stronger measure) is left out, and an item
none of whose changes moved one raises no alert.

Each subscriber hears of what the changes do to its own country (bot.matching): a subscription to Japan is
matched by Japan's effective levels before and after, computed once per (country, material) however many chats
subscribe; a subscription to ALL by the changes' own. The payload keeps, under `countries`, each matched
country's moves, so that each chat reads its country's levels (bot.alert_text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from bot.domain.alert_payloads import (
    AdminPayload,
    ChangeEntry,
    DeskPayload,
    DigestPayload,
    ExposureEffect,
    FollowUpPayload,
    StatusPayload,
)
from bot.domain.alert_text import severity
from bot.domain.exposure import band_for, exposure_score
from bot.domain.knowledge import ExposureTable
from bot.domain.ladder import Level
from bot.domain.matching import Move, matching_filters, reads_levels
from bot.domain.status import CHINA, Status, StatusBook
from bot.domain.subscription import Subscription
from bot.domain.timing import hold_of, hold_of_timezone, placement, zone
from bot.domain.values import ALL, EndUse, FollowUpKind, Provenance, Severity
from bot.domain.vocab import Kind, Vocabulary
from jobs.moves import effective_move
from storage.outbox import (
    chats_alerted_for_items,
    due_digest_chats,
    due_digest_rows,
    fan_out_unheld,
    held_by,
    held_matching_chats,
    insert_alert,
    insert_delivery,
    mark_digested,
    mode_of,
    stamp,
)
from storage.rows import Row
from storage.statuses import StatusChange, current_statuses
from storage.subscribers import active_filters, get_subscriber, load_filters

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What building alerts needs besides the database: names, and the exposure model's table."""

    vocabulary: Vocabulary
    table: ExposureTable
    desk: tuple[int, ...] = ()  # the chats that confirm or dismiss unsure readings (CHOKEPOINT_DESK, else admins)


@dataclass(frozen=True, slots=True)
class Around:
    """Every status just before and just after one item's changes."""

    before: Sequence[Status]
    after: Sequence[Status]

    def books(self, vocabulary: Vocabulary, issuer: str = CHINA) -> tuple[StatusBook, StatusBook]:
        """One issuer's statuses before and after, to read effective levels from."""
        return StatusBook(self.before, vocabulary, issuer), StatusBook(self.after, vocabulary, issuer)


class CountryLevels:
    """Countries' effective levels before and after some changes, each (country, material) computed once."""

    def __init__(self, before: StatusBook, after: StatusBook) -> None:
        self.before, self.after = before, after
        self._cache: dict[tuple[str, str], tuple[int, int]] = {}

    def __call__(self, country: str, material: str) -> tuple[int, int]:
        key = (country, material)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = (int(self.before.level(*key)), int(self.after.level(*key)))
        return found


def country_views(
    matched: Iterable[Subscription], moves: Sequence[Move], context: AlertContext, levels: CountryLevels
) -> dict[str, list[Move]]:
    """Each matched country's moves of its effective levels for the changed materials, in the changes' order
    (every chat of a country reads the same; a subscription to ALL reads the changes' own)."""
    countries = sorted({f.country for f in matched if reads_levels(f, context.vocabulary)})
    views: dict[str, list[Move]] = {}
    for country in countries:
        destinations, seen = context.vocabulary.destinations(country), set()
        for move in moves:
            if move.target not in destinations or move.material in seen:
                continue
            seen.add(move.material)
            old, new = levels(country, move.material)
            if old != new:
                views.setdefault(country, []).append(Move(country, move.material, old, new))
    return views


def _move_entry(move: Move, vocabulary: Vocabulary) -> ChangeEntry:
    return {
        "target": move.target,
        "target_name": vocabulary.display(Kind.COUNTRY, move.target),
        "material": move.material,
        "material_name": vocabulary.display(Kind.MATERIAL, move.material),
        "old": move.old_level,
        "new": move.new_level,
    }


def country_entries(views: dict[str, list[Move]], vocabulary: Vocabulary) -> dict[str, list[ChangeEntry]]:
    """The payload's `countries`: each country's moves, shaped like the payload's own entries."""
    return {country: [_move_entry(m, vocabulary) for m in moves] for country, moves in views.items()}


@dataclass(frozen=True, slots=True)
class Shown:
    """A change as people read it: the effective level of its target for its material, before and after."""

    change: StatusChange
    old: int
    new: int


def alerts_for_changes(
    db: Database, changes: Sequence[tuple[int, StatusChange]], context: AlertContext, now: dt.datetime
) -> list[int]:
    """One alert per item's changes, with a delivery per matching active chat; return the new alerts' ids."""
    created = []
    with db.atomic():
        groups = group_by_item(change for _, change in changes)
        current = [Status.from_row(row) for row in current_statuses(db)]
        for index, group in enumerate(groups):
            around = statuses_around(current, groups[index + 1 :], group)
            alert_id = _alert_for_item(db, group, around, context, now)
            if alert_id is not None:
                created.append(alert_id)
    return created


def statuses_around(
    current: Sequence[Status], later: Sequence[Sequence[StatusChange]], changes: Sequence[StatusChange]
) -> Around:
    """The statuses around an item's changes: after them, the current ones with the later items' changes undone;
    before them, with its own undone too."""
    after = _statuses_before(current, [change for group in later for change in group])
    return Around(_statuses_before(after, changes), after)


def shown_changes(changes: Sequence[StatusChange], around: Around, vocabulary: Vocabulary) -> list[Shown]:
    """The changes that moved an effective level, with that level before and after."""
    shown = []
    for change in changes:
        before, after = around.books(vocabulary, change.issuer)
        old, new = effective_move(before, change)[0], effective_move(after, change)[1]
        if old != new:
            shown.append(Shown(change, old, new))
    return shown


def admin_alert(db: Database, key: str, text: str, admins: Iterable[int], now: dt.datetime) -> int | None:
    """One alert to every admin; None when an alert with this key was raised before."""
    with db.atomic():
        alert_id = insert_alert(db, key, "admin", "admin", AdminPayload(text=text), stamp(now))
        if alert_id is None:
            return None
        for admin in sorted(set(admins)):
            insert_delivery(db, alert_id, admin, stamp(now))
    return alert_id


def group_by_item(changes: Iterable[StatusChange]) -> list[list[StatusChange]]:
    """The changes of one item (or one headline, where there is no item) together, in order."""
    groups: dict[tuple[Any, ...], list[StatusChange]] = {}
    for change in changes:
        key = ("item", change.item_id) if change.item_id is not None else (change.title, change.url, change.at)
        groups.setdefault(key, []).append(change)
    return list(groups.values())


def alert_key(changes: Sequence[StatusChange]) -> str:
    """A key that is the same for the same changes from the same evidence."""
    first = changes[0]
    moves = sorted((c.issuer, c.target, c.material, c.old_level, c.new_level) for c in changes)
    material = json.dumps([moves, first.title, first.url, first.at, first.item_id], ensure_ascii=False)
    return "status:" + hashlib.sha256(material.encode()).hexdigest()[:32]


def _alert_for_item(
    db: Database, changes: Sequence[StatusChange], around: Around, context: AlertContext, now: dt.datetime
) -> int | None:
    shown = shown_changes(changes, around, context.vocabulary)
    if not shown:
        logger.info("no effective level moved by %s: no alert", changes[0].title[:60])
        return None
    moves = [Move(s.change.target, s.change.material, s.old, s.new) for s in shown]
    filters = [Subscription(*key) for key in active_filters(db)]
    levels = CountryLevels(*around.books(context.vocabulary, shown[0].change.issuer))
    matched = matching_filters(filters, moves, context.vocabulary, context.table, levels)
    pairs = exposure_pairs(matched, [s.change.target for s in shown], context)
    payload = status_payload(shown, context, exposure_effects(around, context, pairs))
    payload["countries"] = country_entries(country_views(matched, moves, context, levels), context.vocabulary)
    alert_id = insert_alert(
        db, alert_key([s.change for s in shown]), "status", payload["severity"], payload, stamp(now)
    )
    if alert_id is None:
        logger.info("alert for %s already raised", changes[0].title[:60])
        return None
    banned = any(s.new == Level.BANNED and s.new > s.old for s in shown)
    fan_out(db, alert_id, matched, now, banned=banned)
    return alert_id


def follow_up(
    db: Database, kind: FollowUpKind, key: str, payload: FollowUpPayload, item_ids: Sequence[int], now: dt.datetime
) -> int | None:
    """One alert to every chat that received an alert raised by these items (a confirmation, a correction);
    None where it was raised before or no one got the first."""
    chats = chats_alerted_for_items(db, item_ids)
    if not chats:
        return None
    alert_id = insert_alert(db, key, kind, "info", payload, stamp(now))
    if alert_id is None:
        return None
    for chat_id in chats:
        insert_delivery(db, alert_id, chat_id, stamp(now))
    return alert_id


def desk_alert(db: Database, desk_id: int, payload: DeskPayload, chats: Sequence[int], now: dt.datetime) -> None:
    """The desk's copy of an unsure reading, with its Confirm and Dismiss buttons, to every desk chat."""
    alert_id = insert_alert(db, f"desk:{desk_id}", "desk", "info", {**payload, "desk_id": desk_id}, stamp(now))
    if alert_id is None:
        return
    for chat_id in sorted(set(chats)):
        insert_delivery(db, alert_id, chat_id, stamp(now))


def fan_out(db: Database, alert_id: int, filters: Sequence[Subscription], now: dt.datetime, *, banned: bool) -> int:
    """A delivery per active chat with a matching subscription: due now, or when its digest, quiet or mute allow."""
    if not filters:
        return 0
    load_filters(db, [f.key for f in filters])
    count = fan_out_unheld(db, alert_id, stamp(now))
    for chat in held_matching_chats(db, stamp(now)):
        placed = placement(hold_of(chat), now, banned=banned)
        count += insert_delivery(
            db, alert_id, chat["chat_id"], stamp(placed.due), mode_of(placed), chat["detail"], held_by(placed)
        )
    return count


def exposure_pairs(
    filters: Iterable[Subscription], targets: Iterable[str], context: AlertContext
) -> list[tuple[str, str]]:
    """The (country, sector) exposures the matched subscriptions will read, for moves on these targets; a
    subscription to ALL stands for each target."""
    known = [target for target in targets if target != ALL and target in context.vocabulary.countries]
    pairs: list[tuple[str, str]] = []
    for f in filters:
        if not f.sector or f.sector not in context.table.sectors:
            continue
        countries = known if f.country == ALL else [f.country]
        pairs += [(country, f.sector) for country in countries if (country, f.sector) not in pairs]
    return pairs


def status_payload(shown: Sequence[Shown], context: AlertContext, exposure: dict[str, ExposureEffect]) -> StatusPayload:
    """What an alert's messages are rendered from (see bot.alert_text): `old` and `new` are effective levels of
    each change's target; the caller adds `countries`, the matched countries' own."""
    first, vocabulary = shown[0].change, context.vocabulary
    return {
        "issuer": first.issuer,
        "issuer_name": vocabulary.display(Kind.COUNTRY, first.issuer),
        "changes": [
            {
                "target": s.change.target,
                "target_name": vocabulary.display(Kind.COUNTRY, s.change.target),
                "material": s.change.material,
                "material_name": vocabulary.display(Kind.MATERIAL, s.change.material),
                "old": s.old,
                "new": s.new,
                "end_use": cast(EndUse, s.change.end_use),  # the history stores the domain's words
                "provenance": cast(Provenance, s.change.provenance),
                "measure": s.change.measure,
            }
            for s in shown
        ],
        "title": first.title,
        "url": first.url,
        "source": first.source,
        "at": first.at,
        "item_id": first.item_id,
        "severity": severity((s.old, s.new) for s in shown),
        "exposure": exposure,
    }


def exposure_effects(
    around: Around, context: AlertContext, pairs: Sequence[tuple[str, str]]
) -> dict[str, ExposureEffect]:
    """Each pair's exposure score (to China's measures) before and after an item's changes."""
    if not pairs:
        return {}
    books = around.books(context.vocabulary)
    effects: dict[str, ExposureEffect] = {}
    for country, sector in pairs:
        old, new = (exposure_score(context.table, book, country, sector) for book in books)
        effects[f"{country}:{sector}"] = {
            "country": context.vocabulary.display(Kind.COUNTRY, country),
            "sector": context.vocabulary.display(Kind.SECTOR, sector),
            "before": old,
            "after": new,
            "band_before": band_for(old),
            "band_after": band_for(new),
        }
    return effects


def _statuses_before(after: Sequence[Status], changes: Sequence[StatusChange]) -> list[Status]:
    previous: dict[tuple[str, str, str, str], int] = {}
    for change in changes:
        previous.setdefault((change.issuer, change.target, change.material, change.end_use), change.old_level)
    restored = []
    for status in after:
        old = previous.get((status.issuer, status.target, status.material, status.end_use))
        restored.append(status if old is None else replace(status, level=Level(old)))
    return restored


def compose_due_digests(db: Database, now: dt.datetime) -> list[int]:
    """Fold each chat's due digest deliveries into one digest alert with one delivery; return the alert ids."""
    composed = (compose_digest(db, chat_id, now) for chat_id in due_digest_chats(db, stamp(now)))
    return [alert_id for alert_id in composed if alert_id is not None]


def compose_digest(db: Database, chat_id: int, now: dt.datetime) -> int | None:
    """One chat's digest: an alert summarising its held changes, due now; the held deliveries are digested."""
    with db.atomic():
        rows = due_digest_rows(db, chat_id, stamp(now))
        if not rows:
            return None
        subscriber = get_subscriber(db, chat_id) or {"timezone": "UTC"}
        payload = digest_payload(rows, hold_of_timezone(subscriber), now)
        ranks = severity_of_items(rows)
        alert_id = insert_alert(db, f"digest:{chat_id}:{rows[0]['id']}", "digest", ranks, payload, stamp(now))
        if alert_id is not None:
            insert_delivery(db, alert_id, chat_id, stamp(now))
        mark_digested(db, [row["id"] for row in rows], stamp(now))
    return alert_id


def digest_payload(rows: Sequence[Row], timezone: str, now: dt.datetime) -> DigestPayload:
    """A digest's payload: the local date and each held alert with the chat's pairs."""
    return {
        "date": now.astimezone(zone(timezone)).date().isoformat(),
        "items": [{"payload": row["payload"], "pairs": json.loads(row["detail"] or "[]")} for row in rows],
    }


def severity_of_items(rows: Sequence[Row]) -> Severity:
    """The highest severity among the digested alerts (a lapse counts as the move that comes back)."""
    moves = [(c["old"], c["new"]) for row in rows for c in row["payload"].get("changes", [])]
    moves += [(lapse["level"], lapse["lifted"]) for row in rows for lapse in row["payload"].get("lapses", [])]
    return severity(moves)
