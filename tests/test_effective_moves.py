"""Statuses move by the effective level (DESIGN.md: a measure on ALL applies to every country, a measure on a
group to its members): a tightening that raises no one's effective level is no change and no alert, an easing of
a group or of ALL eases the statuses it covers, and alerts say what changed for people — through the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlite_utils import Database

from bot.domain.alert_text import alert_message
from bot.domain.knowledge import BaselineEvent, ExposureTable
from bot.domain.ladder import Level
from bot.domain.measure import Rules, load_rules
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from handlers.context import Services
from handlers.status import history_answer
from jobs.alerts import AlertContext
from jobs.baseline import apply_event
from jobs.check import NewItem
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.items import insert_new_items
from storage.outbox import get_alert
from storage.statuses import StatusChange, current_statuses, get_status, record_change

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
SOURCE = SourceSpec(id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN")
ALL_RARE_EARTHS_IN_FORCE = ["dysprosium", "gadolinium", "lutetium", "samarium", "scandium", "terbium", "yttrium"]


@dataclass(frozen=True)
class Outcome:
    """What one fresh item did: the history rows and the status alerts it added."""

    changes: list[tuple[str, str, int, int]]
    alerts: list[dict[str, Any]]

    def messages(self) -> list[str]:
        return [alert_message("status", alert["payload"]) for alert in self.alerts]


@pytest.fixture(scope="module")
def rules(vocabulary: Vocabulary) -> Rules:
    return load_rules(vocabulary)


def last_id(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


@dataclass(frozen=True)
class Checker:
    """Feeds fresh items through the pipeline, each in one transaction, as a check does it."""

    db: Database
    sink: MeasuringSink

    def __call__(self, title: str, when: dt.datetime = NOW) -> Outcome:
        db = self.db
        changes_before, alerts_before = last_id(db, "status_changes"), last_id(db, "alerts")
        link = "https://example.org/n"
        row = {"guid": f"{title}@{when}", "title": title, "summary": "", "link": link, "published_at": None}
        [stored] = insert_new_items(db, SOURCE.id, [row], when.isoformat())
        with db.atomic():
            self.sink(db, [NewItem(int(stored["id"]), SOURCE, title, "", link, when, fresh=True)], when)
        history = db.query("SELECT * FROM status_changes WHERE id > ? ORDER BY id", [changes_before])
        ids = [r[0] for r in db.execute("SELECT id FROM alerts WHERE id > ? AND kind = 'status'", [alerts_before])]
        return Outcome(
            [(h["target"], h["material"], h["old_level"], h["new_level"]) for h in history],
            [alert for alert_id in ids if (alert := get_alert(db, alert_id)) is not None],
        )


@pytest.fixture
def on_baseline(services: Services, rules: Rules) -> Checker:
    """Checks on the database with the baseline loaded."""
    return Checker(services.db, MeasuringSink(rules, AlertContext(services.vocabulary, services.table)))


@pytest.fixture
def on_empty(db: Database, rules: Rules, vocabulary: Vocabulary, table: ExposureTable) -> Checker:
    """Checks on an empty database."""
    return Checker(db, MeasuringSink(rules, AlertContext(vocabulary, table)))


def book(db: Database, vocabulary: Vocabulary) -> StatusBook:
    return StatusBook([Status.from_row(row) for row in current_statuses(db)], vocabulary)


def seed(db: Database, target: str, material: str, level: int, when: dt.datetime = T0) -> None:
    """A status already in force, recorded as a change from nothing."""
    record_change(
        db, StatusChange("CN", target, material, 0, level, "tighten", when.isoformat(), "seed", "seed", "live")
    )


# ---------------------------------------------------------------- the reproduced cases, on the baseline


def test_licensing_for_japan_under_its_restriction_and_all_licensing_is_no_change_and_no_alert(
    on_baseline: Checker, vocabulary: Vocabulary
) -> None:
    outcome = on_baseline("China requires export licences for graphite shipped to Japan")
    assert outcome.changes == [] and outcome.alerts == []
    db = on_baseline.db
    assert book(db, vocabulary).level("JP", "graphite") == Level.RESTRICTED
    # Japan's own licensing is kept beneath, so that it stays when the wider measures are lifted.
    assert get_status(db, "CN", "JP", "graphite")["level"] == Level.LICENSING  # type: ignore[index]


def test_a_suspension_of_rare_earth_controls_on_all_eases_each_element_in_force(
    on_baseline: Checker, vocabulary: Vocabulary
) -> None:
    outcome = on_baseline("China suspends rare earth export controls for one year")
    assert sorted(outcome.changes) == [("ALL", m, Level.LICENSING, Level.NORMAL) for m in ALL_RARE_EARTHS_IN_FORCE]
    [alert] = outcome.alerts
    assert sorted((c["material"], c["old"], c["new"]) for c in alert["payload"]["changes"]) == [
        (m, Level.LICENSING, Level.NORMAL) for m in ALL_RARE_EARTHS_IN_FORCE
    ]
    assert "Dysprosium: licensing → <b>normal</b>" in outcome.messages()[0]
    assert book(on_baseline.db, vocabulary).level("KR", "yttrium") == Level.NORMAL


def test_a_suspension_on_all_leaves_japan_specific_measures_alone(on_baseline: Checker, vocabulary: Vocabulary) -> None:
    db = on_baseline.db
    japan_before = {(r["material"], r["level"]) for r in current_statuses(db) if r["target"] == "JP"}
    outcome = on_baseline("China suspends rare earth export controls for one year")
    assert {target for target, *_ in outcome.changes} == {"ALL"}
    assert {(r["material"], r["level"]) for r in current_statuses(db) if r["target"] == "JP"} == japan_before
    levels = book(db, vocabulary)
    assert levels.level("JP", "dysprosium") == Level.RESTRICTED
    assert levels.level("JP", "neodymium") == Level.REVIEW
    assert levels.level("KR", "dysprosium") == Level.NORMAL


def test_lifting_a_us_measure_under_licensing_for_all_is_no_change_and_no_alert(
    on_baseline: Checker, vocabulary: Vocabulary
) -> None:
    outcome = on_baseline("China lifts export ban on gallium to the US")
    assert outcome.changes == [] and outcome.alerts == []
    assert book(on_baseline.db, vocabulary).level("US", "gallium") == Level.LICENSING


# ---------------------------------------------------------------- alerts state the effective levels


def test_lifting_the_us_ban_alerts_banned_to_licensing_while_all_licensing_stays(on_empty: Checker) -> None:
    on_empty("China imposes export controls on gallium", T0)
    ban = on_empty("China bans gallium exports to the US", T0 + dt.timedelta(days=1))
    lift = on_empty("China lifts export ban on gallium to the US", T0 + dt.timedelta(days=30))
    assert ban.changes == [("US", "gallium", Level.NORMAL, Level.BANNED)]
    assert "Gallium: licensing → <b>banned</b>" in ban.messages()[0]
    assert lift.changes == [("US", "gallium", Level.BANNED, Level.NORMAL)]  # the US-specific status itself
    [alert] = lift.alerts
    assert [(c["target"], c["old"], c["new"]) for c in alert["payload"]["changes"]] == [
        ("US", Level.BANNED, Level.LICENSING)
    ]
    message = lift.messages()[0]
    assert "Eased: China → United States" in message and "Gallium: banned → <b>licensing</b>" in message
    assert alert["severity"] == "info"


# ---------------------------------------------------------------- groups


def test_a_group_tightening_that_raises_one_member_is_a_change_on_the_group(
    on_empty: Checker, vocabulary: Vocabulary
) -> None:
    db = on_empty.db
    seed(db, "ALL", "rare_earths", Level.LICENSING)
    seed(db, "JP", "dual_use", Level.RESTRICTED)  # 12 of the rare earths
    for element in ("lanthanum", "cerium", "praseodymium", "promethium"):
        seed(db, "JP", element, Level.RESTRICTED)
    levels = book(db, vocabulary)
    assert [m for m in sorted(vocabulary.members("rare_earths") - {"rare_earths"})
            if levels.level("JP", m) < Level.RESTRICTED] == ["neodymium"]  # fmt: skip
    outcome = on_empty("China restricts rare earth exports to Japan")
    assert outcome.changes == [("JP", "rare_earths", Level.NORMAL, Level.RESTRICTED)]
    assert "Rare earths: licensing → <b>restricted</b>" in outcome.messages()[0]
    assert book(db, vocabulary).level("JP", "neodymium") == Level.RESTRICTED


def test_a_group_tightening_under_as_strong_a_measure_on_all_is_no_change(on_empty: Checker) -> None:
    seed(on_empty.db, "ALL", "rare_earths", Level.RESTRICTED)
    outcome = on_empty("China restricts rare earth exports to Japan")
    assert outcome.changes == [] and outcome.alerts == []


def test_an_easing_of_a_group_on_one_country_eases_its_member_statuses_too(
    on_baseline: Checker, vocabulary: Vocabulary
) -> None:
    db = on_baseline.db
    outcome = on_baseline("China suspends export controls on rare earths to Japan")
    # Japan's dysprosium and terbium stay restricted under the dual-use ban on Japan: eased, but no change.
    assert outcome.changes == [("JP", "rare_earths", Level.REVIEW, Level.NORMAL)]
    assert get_status(db, "CN", "JP", "dysprosium")["level"] == Level.NORMAL  # type: ignore[index]
    assert get_status(db, "CN", "ALL", "dysprosium")["level"] == Level.LICENSING  # type: ignore[index]
    levels = book(db, vocabulary)
    assert levels.level("JP", "neodymium") == Level.NORMAL
    assert levels.level("JP", "dysprosium") == Level.RESTRICTED


def test_an_easing_of_a_group_records_each_member_that_moves_as_its_own_change(on_empty: Checker) -> None:
    seed(on_empty.db, "JP", "rare_earths", Level.REVIEW)
    seed(on_empty.db, "JP", "dysprosium", Level.RESTRICTED)
    seed(on_empty.db, "JP", "terbium", Level.RESTRICTED)
    outcome = on_empty("China suspends export controls on rare earths to Japan")
    assert sorted(outcome.changes) == [
        ("JP", "dysprosium", Level.RESTRICTED, Level.NORMAL),
        ("JP", "rare_earths", Level.REVIEW, Level.NORMAL),
        ("JP", "terbium", Level.RESTRICTED, Level.NORMAL),
    ]
    [alert] = outcome.alerts
    assert len(alert["payload"]["changes"]) == 3


# ---------------------------------------------------------------- the baseline


def test_the_baseline_records_only_changes_that_move_an_effective_level(
    db: Database, vocabulary: Vocabulary, baseline: list[BaselineEvent]
) -> None:
    for event in baseline:
        before, first = book(db, vocabulary), last_id(db, "status_changes")
        apply_event(db, event, NOW, vocabulary)
        after = book(db, vocabulary)
        for row in db.query("SELECT * FROM status_changes WHERE id > ?", [first]):
            assert before.level(row["target"], row["material"]) != after.level(row["target"], row["material"]), (
                event.title, row["target"], row["material"],
            )  # fmt: skip
    history = {(row["target"], row["material"]) for row in db.query("SELECT * FROM status_changes")}
    assert ("US", "graphite") not in history  # Ann. 46 review, under licensing for all destinations since 2023
    assert ("EU", "rare_earth_magnets") not in history  # CLEPA review, under licensing for all since April 2025
    assert ("JP", "rare_earth_magnets") in history and ("US", "gallium") in history
    assert get_status(db, "CN", "US", "graphite")["level"] == Level.REVIEW  # type: ignore[index]


def test_history_tells_what_a_change_did_to_the_effective_level(services: Services, on_baseline: Checker) -> None:
    on_baseline("China bans gallium exports to the US", NOW - dt.timedelta(days=2))
    on_baseline("China lifts export ban on gallium to the US", NOW)
    lines = history_answer(services, ["gallium", "2"]).splitlines()[1:]
    assert "gallium → United States: banned → <b>licensing</b>" in lines[0]  # licensing for all stays
    assert "gallium → United States: licensing → <b>banned</b>" in lines[1]
