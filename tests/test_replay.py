"""The 2023–2026 announcements as headlines, in order, through the real check pipeline on an empty database: at no
step above the truth (the bundled measures as they stood that day), and ending in the bundled measures' statuses.

The headlines are worded as wires and MOFCOM titled the events; each is dated the day it was announced. Announcement
61/2025 (foreign goods with Chinese rare earths) is left out: no headline names its materials as the measure file
does, and Announcement 18/2025 already puts rare-earth magnets under licence for every destination.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlite_utils import Database

from bot.domain.knowledge import ExposureTable
from bot.domain.ladder import Level
from bot.domain.measures import Measure, statuses_of
from bot.domain.rules import load_rules
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from jobs.alerts import AlertContext
from jobs.check import NewItem
from jobs.measures import apply_lapses
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.items import insert_new_items
from storage.statuses import current_statuses

WIRE = SourceSpec(
    id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN", trust="official"
)
TIMELINE: tuple[tuple[str, str], ...] = (
    ("2023-07-03", "China to require export licences for gallium and germanium from August 1"),
    ("2023-10-20", "China requires export licences for graphite items from December 1"),
    ("2024-08-15", "China imposes export controls on antimony and superhard materials from September 15"),
    ("2024-12-03", "China bans exports of dual-use items to US military users"),
    ("2024-12-03", "商务部公告2024年第46号：原则上不予许可镓、锗、锑、超硬材料相关两用物项对美国出口"),
    ("2024-12-03", "China tightens end-use review of graphite exports to the US"),
    ("2025-02-04", "China imposes export controls on tungsten, tellurium, bismuth, molybdenum and indium"),
    ("2025-04-04", "China imposes export controls on seven rare earths and samarium-cobalt magnets"),
    ("2025-06-04", "Only a quarter of EU licence requests for rare earth magnets approved as China slows reviews, "
                   "suppliers say"),
    ("2025-10-09", "China adds holmium, erbium, thulium, europium and ytterbium to export controls from Nov. 8"),
    ("2025-10-09", "China imposes export controls on lithium batteries from November 8"),
    ("2025-10-09", "China extends export controls to more superhard materials from November 8"),
    ("2025-11-07", "China suspends export controls on holmium, erbium, thulium, europium, ytterbium, lithium "
                   "batteries and superhard materials until November 10, 2026"),
    ("2025-11-09", "China suspends its ban on gallium, germanium, antimony and superhard materials and the stricter "
                   "graphite review for the US until November 27, 2026; licences still required"),
    ("2025-12-15", "China delays export licences for seven rare earths to Japanese firms, sources say"),
    ("2026-01-06", "China bans exports of dual-use items to Japanese military users"),
    ("2026-01-10", "China halts dysprosium, terbium and rare earth magnet export licence reviews for Japan, sources "
                   "say"),
    ("2026-02-24", "China adds 20 Japanese entities to its export control list, banning dual-use exports to them"),
    ("2026-04-24", "China adds 7 EU entities to its export control list, banning dual-use exports to them"),
    ("2026-06-22", "China adds 10 US entities to its export control list, barring dual-use exports to them"),
)  # fmt: skip
COUNTRIES = ("ALL", "JP", "US", "DE", "KR", "IN", "GB")
END = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def truth_on(baseline: list[Measure], day: dt.date) -> list[Measure]:
    """The bundled measures as they stood on a day: announced by then, suspended only from their suspension."""
    known = [m for m in baseline if m.announced <= day and m.id != "MOFCOM-61-2025"]
    return [m if m.state_since is None or m.state_since <= day else replace(m, state="in_force", until=None)
            for m in known]  # fmt: skip


def levels(book: StatusBook, vocabulary: Vocabulary) -> dict[tuple[str, str, bool], Level]:
    return {
        (country, material, military): book.level(country, material, military=military)
        for country in COUNTRIES
        for material in vocabulary.materials
        for military in (False, True)
    }


def replayed(db: Database, vocabulary: Vocabulary) -> StatusBook:
    return StatusBook([Status.from_row(row) for row in current_statuses(db)], vocabulary)


def feed(db: Database, vocabulary: Vocabulary, table: ExposureTable, title: str, when: dt.datetime) -> None:
    row = {"guid": title, "title": title, "summary": "", "link": None, "published_at": None}
    [stored] = insert_new_items(db, WIRE.id, [row], when.isoformat())
    item = NewItem(int(stored["id"]), WIRE, title, "", None, when, fresh=True)
    with db.atomic():
        MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, table))(db, [item], when)


def test_the_timeline_replayed_as_headlines_never_overstates_and_ends_in_the_bundled_statuses(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    db = open_database(":memory:", dt.datetime(2023, 7, 1, tzinfo=dt.UTC))
    above: list[tuple[str, str, str, bool, Level, Level]] = []
    for day, title in TIMELINE:
        when = dt.datetime.fromisoformat(f"{day}T09:00:00+00:00")
        feed(db, vocabulary, table, title, when)
        truth = levels(StatusBook(statuses_of(truth_on(baseline, when.date()), when.date()), vocabulary), vocabulary)
        for key, level in levels(replayed(db, vocabulary), vocabulary).items():
            if level > truth[key]:
                above.append((day, *key, level, truth[key]))  # type: ignore[arg-type]
    assert above == []
    with db.atomic():
        apply_lapses(db, vocabulary, END)  # the suspensions of November 2025 ran out on 2026-11-10 and 2026-11-27
    truth = levels(StatusBook(statuses_of(truth_on(baseline, END.date()), END.date()), vocabulary), vocabulary)
    assert levels(replayed(db, vocabulary), vocabulary) == truth
