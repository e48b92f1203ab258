"""The desk's decisions on unsure readings (docs/ARCHITECTURE.md, "The desk").

- **Confirm** an unconfirmed restriction or ban: recorded with who confirmed it; the measure stays as alerted.
  Confirm a held easing: the easing is applied now, and its status changes raise alerts as usual.
- **Dismiss** an unconfirmed restriction or ban: the measure is withdrawn, the statuses fall back, and every chat
  that got its alert gets a short correction (not an "eased" alert: nothing eased, the reading was wrong).
  Dismiss a held easing: nothing changes.

The first decision wins: a second press, or the other button, changes nothing and says who decided first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from bot.domain.alert_payloads import FollowUpPayload
from bot.domain.desk import DeskDecision
from bot.domain.measures import measure_from_row
from bot.domain.values import CONFIRMED, DeskChoice, DeskState
from jobs.alerts import AlertContext, alerts_for_changes, follow_up
from jobs.measures import (
    Cause,
    apply_to_measures,
    measurement_from_json,
    sync_statuses,
    to_row,
)
from storage.desk import decide_desk_item, get_desk_item
from storage.measures import get_measure, measure_item_ids, record_measure_event, save_measure
from storage.rows import Row

if TYPE_CHECKING:
    from storage.database import Database


def decide(
    db: Database, desk_id: int, choice: DeskChoice, by: str, context: AlertContext, now: dt.datetime
) -> DeskDecision:
    """Confirm or dismiss a desk item, once; the measure, statuses, alerts and corrections in one transaction."""
    with db.atomic():
        item = get_desk_item(db, desk_id)
        if item is None:
            return DeskDecision(False, "missing", "")
        if not decide_desk_item(db, desk_id, choice, by, now.isoformat()):
            return DeskDecision(False, cast(DeskState, item["state"]), str(item["decided_by"] or ""))
        if item["kind"] == "easing" and choice == CONFIRMED:
            _apply_easing(db, item, by, context, now)
        elif item["kind"] == "unconfirmed":
            _settle_reading(db, item, choice, by, now, context)
    return DeskDecision(True, choice, by)


def _apply_easing(db: Database, item: Row, by: str, context: AlertContext, now: dt.datetime) -> None:
    measurement = measurement_from_json(dict(item["measurement"]))
    # a person confirmed it: the easing moves the measure as the issuer's own word would
    cause = Cause(str(item["title"]), str(item["source"]), item["url"], item["item_id"], official=True, confirmed_by=by)
    changes = apply_to_measures(db, measurement, cause, now, context.vocabulary)
    if changes:
        alerts_for_changes(db, changes, context, now)


def _settle_reading(
    db: Database, item: Row, choice: DeskChoice, by: str, now: dt.datetime, context: AlertContext
) -> None:
    measure_id = str(item["measure_id"])
    row = get_measure(db, measure_id)
    if row is None:
        return
    event = {"measure_id": measure_id, "at": now.isoformat(), "title": str(item["title"]), "source": "the desk",
             "actor": by}  # fmt: skip
    if choice == CONFIRMED:
        record_measure_event(db, {**event, "kind": "confirmed"})
        return
    measure = measure_from_row(row)
    save_measure(db, to_row(replace(measure, state="withdrawn"), "live"), now.isoformat())
    record_measure_event(db, {**event, "kind": "withdrawn", "state": "withdrawn"})
    sync_statuses(db, context.vocabulary, now, Cause(f"Withdrawn by the desk: {measure.title}", "the desk"),
                  touched=[measure])  # fmt: skip
    payload = FollowUpPayload(measure=measure_id, measure_label=measure.label, title=str(item["title"]),
                              url=item["url"], source=str(item["source"]), at=now.isoformat(), by=by)  # fmt: skip
    follow_up(db, "correction", f"corrected:{measure_id}", payload, measure_item_ids(db, measure_id), now)
