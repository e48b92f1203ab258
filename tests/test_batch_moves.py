"""A source's new items move measures in one batch exactly as they would one at a time.

The measuring sink reads the measures a batch may move once (`MeasuresAtHand`) and keeps them as each item moves
them. Here the same items go through the sink and through the sink as it was before batches — each item reading
the measures it may move for itself — and every row they leave must be the same: measures, their keys and
events, statuses and their history, signals, desk items, alerts and deliveries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from bot.domain.knowledge import ExposureTable
from bot.domain.measure import Measurement, as_vouched_for, irrelevant
from bot.domain.measures import Measure, measure_from_row
from bot.domain.rules import load_rules
from bot.domain.values import Trust
from bot.domain.vocab import Vocabulary
from jobs.alerts import AlertContext, alerts_for_changes
from jobs.baseline import apply_baseline
from jobs.check import NewItem
from jobs.measures import Cause, MeasuresAtHand, apply_lapses, apply_to_measures, moves_measures
from jobs.moves import signal_rows
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.database import Database
from storage.db import open_database
from storage.items import insert_new_items
from storage.measures import measure_row, measures_touching
from storage.rows import Row
from storage.signals import record_signals
from storage.statuses import StatusChange
from storage.subscribers import add_subscription, save_subscriber

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
TABLES = ("measures", "measure_keys", "measure_events", "statuses", "status_changes", "signals", "desk_items",
          "alerts", "deliveries")  # fmt: skip


def source(name: str, trust: Trust) -> SourceSpec:
    return SourceSpec(name.lower(), name, "rss", "http://127.0.0.1/", 600, issuer="CN", trust=trust)


PRESS_A, PRESS_B = source("Press A", "press"), source("Press B", "press")
OFFICIAL, SEARCH = source("MOFCOM", "official"), source("Search", "aggregator")


def tighten(targets: tuple[str, ...], materials: tuple[str, ...], level: int, **more: object) -> Measurement:
    said = {"provenance": "reported", **more}
    return Measurement(True, "tighten", "CN", targets, materials, level, ("curbs",), **said)  # type: ignore[arg-type]


def ease(targets: tuple[str, ...], materials: tuple[str, ...], action: str, **more: object) -> Measurement:
    return Measurement(True, "ease", "CN", targets, materials, 0, ("eases",), action=action, **more)  # type: ignore[arg-type]


JAPAN_CURBS = tighten(("JP",), ("rare_earths",), 4)
MILITARY_GALLIUM = tighten(("US",), ("gallium",), 4, end_use="military")
FIRST_BATCH: list[tuple[SourceSpec, Measurement]] = [
    (PRESS_A, JAPAN_CURBS),  # a new measure, reported restricted from one source: held for the desk
    (PRESS_A, JAPAN_CURBS),  # the same source again: evidence, no new source
    (PRESS_B, JAPAN_CURBS),  # an independent source: evidence, the desk item corroborated
    (PRESS_B, JAPAN_CURBS),  # that source again: no longer independent
    (PRESS_A, MILITARY_GALLIUM),  # a second new measure in the batch, end use military
    (OFFICIAL, ease(("US",), ("gallium",), "suspend", end_use="military", until="2027-06-01")),
    (OFFICIAL, ease(("US",), ("gallium",), "extend", end_use="military", until="2027-12-01")),
    (SEARCH, tighten(("ALL",), ("graphite",), 2)),
    (PRESS_A, tighten(("EU",), ("antimony",), 3, scope="entities")),
    (PRESS_A, tighten(("KR",), ("tungsten",), 3)),  # two new measures of one day on the same key ...
    (PRESS_B, tighten(("KR",), ("tungsten",), 2)),
    (OFFICIAL, ease(("KR",), ("tungsten",), "suspend", until="2027-01-01")),  # ... suspended in their order
]
SECOND_BATCH: list[tuple[SourceSpec, Measurement]] = [
    (OFFICIAL, JAPAN_CURBS),  # the issuer confirms a measure known from reports: a follow-up to the chats alerted
    (PRESS_B, ease(("JP",), ("rare_earths",), "lift")),  # an official measure eased on the press's word: the desk
    (OFFICIAL, ease(("JP",), ("rare_earths",), "lift")),  # and by the issuer: lifted
    (SEARCH, tighten(("ALL",), ("graphite",), 2)),  # evidence from the source that reported it
    (PRESS_B, tighten(("ALL",), ("graphite",), 2)),  # and from another
    (OFFICIAL, ease(("US",), ("gallium", "germanium"), "lift", end_use="military")),
    (OFFICIAL, ease(("US",), ("gallium",), "suspend", until="2027-03-01", instrument="Announcement 46/2024")),
    (PRESS_A, tighten(("JP",), ("dysprosium",), 4, scope="technology")),  # technology: a signal only
    (PRESS_A, irrelevant()),
]


def one_at_a_time(db: Database, items: Sequence[NewItem], now: dt.datetime, alerts: AlertContext) -> int:
    """The measuring sink as it was before batches: each item reads the measures it may move for itself."""
    changes: list[tuple[int, StatusChange]] = []
    signals: list[tuple[int, Row]] = []
    for item in items:
        assert item.measurement is not None
        measurement = as_vouched_for(item.measurement, item.source.trust, item.source.issuer)
        signals += ((item.id, row) for row in signal_rows(measurement))
        if item.fresh and moves_measures(measurement):
            official = measurement.provenance == "official"
            cause = Cause(item.title, item.source.name, item.link, item.id, official=official)
            changes += apply_to_measures(db, measurement, cause, now, alerts.vocabulary, alerts.desk)
    record_signals(db, signals, now.isoformat())
    if changes:
        alerts_for_changes(db, changes, alerts, now)
    return len(changes)


def stored(db: Database, batch: Sequence[tuple[SourceSpec, Measurement]], start: int) -> list[NewItem]:
    """The batch's items stored, as a check hands them to the sink; a stale copy of the first at the end."""
    items = []
    for n, (spec, measurement) in enumerate(batch, start):
        title = f"Item {n}"
        row = {"guid": title, "title": title, "summary": "", "link": f"https://example.org/{n}", "published_at": None}
        [kept] = insert_new_items(db, spec.id, [row], NOW.isoformat())
        items.append(NewItem(kept["id"], spec, title, "", kept["link"], NOW, True, measurement))
    return [*items, replace(items[0], fresh=False)]


def database(vocabulary: Vocabulary, baseline: list[Measure]) -> Database:
    db = open_database(":memory:", NOW)
    apply_baseline(db, baseline, NOW, vocabulary)
    apply_lapses(db, vocabulary, NOW)
    for chat, (country, material) in enumerate([("JP", ""), ("US", "gallium"), ("ALL", "graphite"), ("DE", "")]):
        save_subscriber(db, chat + 1, "private", None, "UTC", NOW.isoformat())
        add_subscription(db, chat + 1, country, "", material, 0, NOW.isoformat())
    return db


def after_both_batches(vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]) -> Database:
    db = database(vocabulary, baseline)
    sink = MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, table))
    for start, batch in ((0, FIRST_BATCH), (100, SECOND_BATCH)):
        with db.atomic():
            sink(db, stored(db, batch, start), NOW + dt.timedelta(minutes=start))
    return db


def rows(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {name: db.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall() for name in TABLES}


def test_a_batch_leaves_every_row_as_its_items_one_at_a_time_do(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    alerts = AlertContext(vocabulary, table, (99,))
    sink = MeasuringSink(load_rules(vocabulary), alerts)
    batched, single = database(vocabulary, baseline), database(vocabulary, baseline)
    moved = []
    for start, batch in ((0, FIRST_BATCH), (100, SECOND_BATCH)):
        now = NOW + dt.timedelta(minutes=start)
        with batched.atomic():
            by_batch = sink(batched, stored(batched, batch, start), now)
        with single.atomic():
            by_item = one_at_a_time(single, stored(single, batch, start), now, alerts)
        moved.append((by_batch, by_item))
    assert [a for a, _ in moved] == [b for _, b in moved]
    assert rows(batched) == rows(single)
    kinds = {row[0] for row in batched.execute("SELECT kind FROM measure_events")}
    assert {"reported", "evidence", "confirmed", "suspended", "extended", "lifted"} <= kinds
    desk = {row[0] for row in batched.execute("SELECT state FROM desk_items")}
    assert desk == {"corroborated", "pending"}
    assert {row[0] for row in batched.execute("SELECT kind FROM alerts")} >= {"status", "desk", "confirmation"}


def test_the_measures_at_hand_an_item_may_move_are_those_its_own_query_finds_in_the_same_order(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    db = after_both_batches(vocabulary, table, baseline)
    measurements = [measurement for _, measurement in FIRST_BATCH + SECOND_BATCH if moves_measures(measurement)]
    at_hand = MeasuresAtHand.read(db, vocabulary, measurements)
    found = []
    for measurement in measurements:
        targets, materials = at_hand.lookup_keys(measurement)
        queried = [measure_from_row(measure_row(values)) for values in measures_touching(db, "CN", targets, materials)]
        assert at_hand.touching(measurement) == queried
        found.append(len(queried))
    assert max(found) >= 3 and min(found) >= 1  # several measures to order, for every lookup
