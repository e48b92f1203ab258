"""Suspensions that ran out: each suspended measure whose end date has passed with no extension seen is in force
again (docs/ARCHITECTURE.md, "Measures"), and the statuses it moves raise alerts like any other change.

The alert's text says both: "In force again: the suspension of <instrument> ran out on <date> and no extension
was seen". The measure's new state is stored, so a second run, or a restart, raises nothing again.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from jobs.alerts import AlertContext, alerts_for_changes
from jobs.measures import apply_lapses

if TYPE_CHECKING:
    from storage.database import Database


def announce_lapses(db: Database, context: AlertContext, now: dt.datetime) -> list[int]:
    """Put back in force what ran out and raise the alerts of the statuses it moves; return the new alerts' ids."""
    with db.atomic():
        changes = apply_lapses(db, context.vocabulary, now)
        return alerts_for_changes(db, changes, context, now) if changes else []
