"""What a check does with new items and with a source's health: measure, move statuses, raise alerts.

Both run inside the checker's transaction for the source, so an item, its status changes and the alerts
they cause commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain.measure import Measurement, as_vouched_for, measure
from bot.domain.rules import Rules
from jobs.alerts import AlertContext, admin_alert, alerts_for_changes
from jobs.check import HealthEvent, NewItem
from jobs.measures import Cause, DecodedMeasures, MeasuresAtHand, apply_to_measures, moves_measures
from jobs.moves import signal_rows
from jobs.sources import SourceSpec
from storage.rows import Row
from storage.signals import record_signals
from storage.statuses import StatusChange

if TYPE_CHECKING:
    from storage.database import Database

# At most one "down" and one "recovered" admin alert per source in this window: a flapping source
# does not flood the admins.
ADMIN_ALERT_WINDOW = dt.timedelta(hours=6)


class RulesOnFirstUse:
    """The measuring rules, compiled when an item first needs them: compiling takes ~0.2 s of CPU, which a check
    whose items all arrive measured (by the reading lane, jobs/lane.py) never spends."""

    def __init__(self, compile_rules: Callable[[], Rules]) -> None:
        self._compile = compile_rules
        self._rules: Rules | None = None

    def __call__(self) -> Rules:
        """The rules, compiled now if this is the first call."""
        if self._rules is None:
            self._rules = self._compile()
        return self._rules


@dataclass(frozen=True)
class MeasuringSink:
    """Measure each new item; fresh ones move statuses and raise alerts, stale ones only leave signals."""

    rules: Rules | RulesOnFirstUse
    alerts: AlertContext
    decoded: DecodedMeasures = field(default_factory=DecodedMeasures, compare=False)  # the measures read so far

    def __call__(self, db: Database, items: Sequence[NewItem], now: dt.datetime) -> int:
        """Handle one source's new items; return how many statuses moved."""
        signals: list[tuple[int, Row]] = []
        movers: list[tuple[NewItem, Measurement]] = []
        for item in items:
            measurement = item.measurement or self.measure(item)
            measurement = as_vouched_for(measurement, item.source.trust, item.source.issuer)
            signals += ((item.id, row) for row in signal_rows(measurement))
            if item.fresh and moves_measures(measurement):
                movers.append((item, measurement))
        changes = self.move(db, movers, now)
        record_signals(db, signals, now.isoformat())  # nothing of the above reads them: one statement for all
        if changes:
            alerts_for_changes(db, changes, self.alerts, now)
        return len(changes)

    def move(
        self, db: Database, movers: Sequence[tuple[NewItem, Measurement]], now: dt.datetime
    ) -> list[tuple[int, StatusChange]]:
        """Move measures with each fresh item in turn, the measures they may move read once for all of them."""
        if not movers:
            return []
        vocabulary = self.alerts.vocabulary
        at_hand = MeasuresAtHand.read(db, vocabulary, [measurement for _, measurement in movers], self.decoded)
        changes: list[tuple[int, StatusChange]] = []
        for item, measurement in movers:
            official = measurement.provenance == "official"  # the issuer's own pages (`as_vouched_for`)
            cause = Cause(item.title, item.source.name, item.link, item.id, official=official)
            changes += apply_to_measures(db, measurement, cause, now, vocabulary, self.alerts.desk, at_hand)
        return changes

    def measure(self, item: NewItem) -> Measurement:
        """Measure an item the reader did not measure."""
        rules = self.rules() if isinstance(self.rules, RulesOnFirstUse) else self.rules
        return measure(item.title, item.summary, rules, default_issuer=item.source.issuer)


def window_of(now: dt.datetime) -> int:
    """The number of the admin-alert window `now` falls in."""
    return int(now.timestamp() // ADMIN_ALERT_WINDOW.total_seconds())


@dataclass(frozen=True)
class SourceHealthAlerts:
    """Tell the admins when a source goes down and when it recovers."""

    admins: frozenset[int]

    def __call__(self, db: Database, source: SourceSpec, event: HealthEvent, detail: str, now: dt.datetime) -> None:
        """Raise the admin alert for a health event."""
        if event == "down":
            text = f"Source {source.id} ({source.name}) is down: {detail}. Checks go on, backing off up to a day."
        else:
            text = f"Source {source.id} ({source.name}) has recovered: {detail}."
        admin_alert(db, f"source-{event}:{source.id}:{window_of(now)}", text, self.admins, now)
