"""Loading the bundled measures (bot/domain/data/measures.yaml) into the database: on first start, and for
measures added to the file later. A measure already stored is never overwritten: live observations (a
suspension, an extension, a confirmation) have moved it since.

Each new measure enters with its own dated events (announced; suspended with the date it runs to), so that
/history tells the timeline as it happened; the statuses are then derived again without history rows or
alerts — the baseline is what was already true, not news.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary
from jobs.measures import Cause, sync_statuses, to_row
from storage.measures import measure_ids, record_measure_event, save_measure

if TYPE_CHECKING:
    from storage.database import Database

logger = logging.getLogger(__name__)
BASELINE = Cause("the bundled baseline of measures", "Chokepoint baseline", origin="baseline", official=True)


def _at(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


def record_baseline_measure(db: Database, measure: Measure, now: dt.datetime) -> None:
    """Store one bundled measure with its announcement (its report, for a reported one) and, where it was
    suspended or lifted, that event."""
    save_measure(db, to_row(measure, "baseline"), now.isoformat())
    first = "reported" if measure.provenance == "reported" else "announced"
    record_measure_event(db, {"measure_id": measure.id, "at": _at(measure.announced), "kind": first,
                              "state": "in_force", "title": measure.title, "source": measure.source,
                              "url": measure.url})  # fmt: skip
    if measure.state in ("suspended", "lifted") and measure.state_since is not None:
        record_measure_event(db, {
            "measure_id": measure.id, "at": _at(measure.state_since), "kind": measure.state,
            "state": measure.state, "until": measure.until.isoformat() if measure.until else None,
            "title": measure.sources[-1] if measure.sources else measure.title, "source": measure.sources[-1]
            if measure.sources else measure.source,
        })  # fmt: skip


def apply_baseline(db: Database, measures: Sequence[Measure], now: dt.datetime, vocabulary: Vocabulary) -> int:
    """Store the bundled measures not stored before and derive the statuses; return how many were new."""
    with db.atomic():
        known = measure_ids(db)
        new = [measure for measure in measures if measure.id not in known]
        for measure in new:
            record_baseline_measure(db, measure, now)
        if new:
            sync_statuses(db, vocabulary, now, BASELINE, record=False)
    if new:
        logger.info("baseline: %d measures stored", len(new))
    return len(new)
