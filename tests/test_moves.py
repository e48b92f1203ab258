"""Moving statuses from measured items: raise, ease, watch, duplicates, scope, evidence — in a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlite_utils import Database

from bot.domain.measure import Measurement, Rules, load_rules, measure
from bot.domain.vocab import Vocabulary
from jobs.moves import Evidence, apply_measurement
from storage.items import insert_new_items
from storage.signals import signals_of
from storage.statuses import StatusChange, get_status

T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def rules(vocabulary: Vocabulary) -> Rules:
    return load_rules(vocabulary)


def at(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def item(db: Database, title: str, source: str = "wire", guid: str | None = None) -> Evidence:
    """Store an item and return its evidence."""
    row = {"guid": guid or title, "title": title, "summary": "", "link": f"https://news.example/{len(title)}",
           "published_at": None}  # fmt: skip
    stored = insert_new_items(db, source, [row], T0.isoformat())
    return Evidence(title, row["link"], source, stored[0]["id"])


def feed(
    db: Database, rules: Rules, title: str, when: dt.datetime, source: str = "wire"
) -> list[tuple[int, StatusChange]]:
    """Measure a headline as a source with issuer CN reports it, and apply it in one transaction."""
    evidence = item(db, title, source)
    with db.atomic():
        return apply_measurement(db, measure(title, "", rules, default_issuer="CN"), evidence, when, rules.vocabulary)


def level(db: Database, target: str, material: str) -> int | None:
    status = get_status(db, "CN", target, material)
    return None if status is None else int(status["level"])


def moves(changes: list[tuple[int, StatusChange]]) -> list[tuple[str, str, int, int, str]]:
    return [(c.target, c.material, c.old_level, c.new_level, c.direction) for _, c in changes]


def test_a_tightening_raises_a_status_and_keeps_the_evidence(db: Database, rules: Rules) -> None:
    title = "China bans gallium exports to the US"
    evidence = item(db, title, "reuters")
    with db.atomic():
        changes = apply_measurement(db, measure(title, "", rules), evidence, at(0), rules.vocabulary)
    change = StatusChange(
        "CN", "US", "gallium", 0, 5, "tighten", at(0).isoformat(), title, "reuters", "live", evidence.url,
        evidence.item_id,
    )  # fmt: skip
    assert changes == [(changes[0][0], change)]
    assert get_status(db, "CN", "US", "gallium") == {
        "issuer": "CN", "target": "US", "material": "gallium", "level": 5, "since": at(0).isoformat(),
        "title": title, "source": "reuters", "url": evidence.url, "item_id": evidence.item_id, "until": None,
        "updated_at": at(0).isoformat(),
    }  # fmt: skip
    history = list(db.query("SELECT * FROM status_changes"))
    assert history == [
        {
            "id": changes[0][0], "issuer": "CN", "target": "US", "material": "gallium", "old_level": 0, "new_level": 5,
            "direction": "tighten", "at": at(0).isoformat(), "title": title, "source": "reuters", "url": evidence.url,
            "item_id": evidence.item_id, "until": None, "origin": "live", "effective_old": 0, "effective_new": 5,
        }
    ]  # fmt: skip


def test_the_signals_of_the_item_are_stored(db: Database, rules: Rules) -> None:
    title = "China halts magnet exports to US and Japan"
    evidence = item(db, title)
    with db.atomic():
        apply_measurement(db, measure(title, "", rules), evidence, at(0), rules.vocabulary)
    assert evidence.item_id is not None
    rows = [{key: value for key, value in row.items() if key != "id"} for row in signals_of(db, evidence.item_id)]
    common: dict[str, Any] = {"item_id": evidence.item_id, "issuer": "CN", "material": "rare_earth_magnets",
                              "level": 4, "direction": "tighten", "created_at": at(0).isoformat()}  # fmt: skip
    assert rows == [
        {**common, "target": "JP", "evidence": ["halts magnet exports"]},
        {**common, "target": "US", "evidence": ["halts magnet exports"]},
    ]


def test_an_irrelevant_item_stores_no_signal_and_moves_nothing(db: Database, rules: Rules) -> None:
    evidence = item(db, "Gallium price jumps 30% in a month")
    with db.atomic():
        assert apply_measurement(db, measure(evidence.title, "", rules), evidence, at(0), rules.vocabulary) == []
    assert evidence.item_id is not None and signals_of(db, evidence.item_id) == []
    assert list(db.query("SELECT * FROM statuses")) == []


def test_an_easing_lowers_to_the_level_the_text_names(db: Database, rules: Rules) -> None:
    feed(db, rules, "China bans gallium exports to the US", at(0))
    changes = feed(db, rules, "China suspends US-specific ban on gallium exports; licences still required", at(30))
    assert moves(changes) == [("US", "gallium", 5, 3, "ease")]


def test_an_easing_lowers_to_the_level_before_the_measure(db: Database, rules: Rules) -> None:
    feed(db, rules, "China imposes export controls on gallium sold to the US", at(0))  # 0 → 3
    feed(db, rules, "China bans gallium exports to the US", at(10))  # 3 → 5
    assert moves(feed(db, rules, "China lifts gallium export ban on US", at(20))) == [("US", "gallium", 5, 3, "ease")]
    assert moves(feed(db, rules, "China lifts gallium export controls on US", at(30))) == [
        ("US", "gallium", 3, 0, "ease")
    ]


def test_an_easing_of_nothing_in_force_moves_nothing(db: Database, rules: Rules) -> None:
    assert feed(db, rules, "China lifts ban on antimony exports to US", at(0)) == []


def test_a_suspension_keeps_its_end_date(db: Database, rules: Rules) -> None:
    feed(db, rules, "China adds holmium to export controls", at(0))
    changes = feed(db, rules, "China suspends export controls on holmium until Nov. 10, 2026", at(30))
    assert moves(changes) == [("ALL", "holmium", 3, 0, "ease")]
    assert changes[0][1].until == "2026-11-10"


def test_a_watch_signal_never_lowers_a_stronger_status(db: Database, rules: Rules) -> None:
    feed(db, rules, "China restricts rare earth exports to Japan", at(0))
    assert feed(db, rules, "China warns Japan it may restrict rare earth supplies", at(1)) == []
    assert level(db, "JP", "rare_earths") == 4


def test_a_watch_signal_raises_a_normal_status(db: Database, rules: Rules) -> None:
    changes = feed(db, rules, "China warns Japan it may restrict rare earth supplies", at(0))
    assert moves(changes) == [("JP", "rare_earths", 0, 1, "tighten")]


def test_a_weaker_tightening_never_lowers(db: Database, rules: Rules) -> None:
    feed(db, rules, "China bans gallium exports to the US", at(0))
    assert feed(db, rules, "China tightens gallium export licence reviews for the US", at(1)) == []
    assert level(db, "US", "gallium") == 5


def test_the_same_news_from_three_sources_is_one_change(db: Database, rules: Rules) -> None:
    title = "China bans gallium exports to the US"
    results = [feed(db, rules, title, at(0), source) for source in ("reuters", "scmp", "mofcom")]
    assert [len(changes) for changes in results] == [1, 0, 0]
    assert db.execute("SELECT count(*) FROM status_changes").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM signals").fetchone()[0] == 3  # each item keeps what it said


def test_the_same_easing_news_from_two_sources_lowers_once(db: Database, rules: Rules) -> None:
    feed(db, rules, "China tightens review of gallium export licences for Japan", at(0))
    feed(db, rules, "China halts gallium export licence approvals for Japanese companies", at(10))
    lifted = "China lifts the halt on gallium exports to Japan"
    results = [feed(db, rules, lifted, at(20), source) for source in ("reuters", "kyodo")]
    assert [len(changes) for changes in results] == [1, 0]
    assert level(db, "JP", "gallium") == 2  # back to the review that stood before the halt, and no further


def test_a_later_easing_of_what_remains_still_lowers(db: Database, rules: Rules) -> None:
    feed(db, rules, "China tightens review of gallium export licences for Japan", at(0))
    feed(db, rules, "China halts gallium export licence approvals for Japanese companies", at(10))
    feed(db, rules, "China lifts the halt on gallium exports to Japan", at(20))
    assert feed(db, rules, "China eases gallium export licence reviews for Japan", at(60)) != []
    assert level(db, "JP", "gallium") == 0


def test_a_grant_leaves_licensing_in_force(db: Database, rules: Rules) -> None:
    feed(db, rules, "China imposes export controls on gallium", at(0))
    assert feed(db, rules, "China approves first gallium export licences since curbs took effect", at(30)) == []
    assert level(db, "ALL", "gallium") == 3


def test_a_grant_lowers_a_halt_to_what_came_before(db: Database, rules: Rules) -> None:
    feed(db, rules, "China halts rare earth magnet exports to India", at(0))
    changes = feed(db, rules, "China resumes rare earth magnet shipments to India", at(30))
    assert moves(changes) == [("IN", "rare_earth_magnets", 4, 0, "ease")]


def test_a_measure_on_a_group_keeps_the_group(db: Database, rules: Rules) -> None:
    changes = feed(db, rules, "China restricts rare earth exports to Japan", at(0))
    assert moves(changes) == [("JP", "rare_earths", 0, 4, "tighten")]
    assert level(db, "JP", "dysprosium") is None


def test_entity_listings_move_a_country_to_watch_at_most(db: Database, rules: Rules) -> None:
    changes = feed(db, rules, "China blacklists 10 US firms, barring dual-use exports", at(0))
    assert moves(changes) == [("US", "dual_use", 0, 1, "tighten")]
    feed(db, rules, "China bans dual-use exports to US military users", at(1))
    assert feed(db, rules, "China removes three US firms from dual-use export control list", at(2)) == []
    assert level(db, "US", "dual_use") == 4


def test_technology_bans_and_legal_frameworks_move_no_status(db: Database, rules: Rules) -> None:
    assert feed(db, rules, "China bans export of rare earth extraction and separation technologies", at(0)) == []
    assert feed(db, rules, "Dual-use items export control regulations take effect in China on Dec. 1", at(0)) == []
    assert db.execute("SELECT count(*) FROM signals").fetchone()[0] == 2
    assert list(db.query("SELECT * FROM statuses")) == []


def test_an_item_naming_no_issuer_moves_nothing_without_a_default(db: Database, rules: Rules) -> None:
    evidence = item(db, "Ga, Ge export licences become mandatory from August 1")
    measured = measure(evidence.title, "", rules)
    with db.atomic():
        assert apply_measurement(db, measured, evidence, at(0), rules.vocabulary) == []
    assert evidence.item_id is not None and len(signals_of(db, evidence.item_id)) == 2


def test_changes_commit_only_with_the_callers_transaction(db: Database, rules: Rules) -> None:
    title = "China bans gallium exports to the US"
    evidence = item(db, title)
    with pytest.raises(RuntimeError), db.atomic():
        apply_measurement(db, measure(title, "", rules), evidence, at(0), rules.vocabulary)
        raise RuntimeError("the alerts could not be written")
    assert list(db.query("SELECT * FROM status_changes")) == []
    assert list(db.query("SELECT * FROM signals")) == []


def test_a_measurement_built_by_hand_moves_each_target_and_material(db: Database, vocabulary: Vocabulary) -> None:
    measured = Measurement(True, "tighten", "CN", ("JP", "KR"), ("gallium", "germanium"), 3, ("controls",))
    with db.atomic():
        changes = apply_measurement(db, measured, Evidence("t", None, "src"), at(0), vocabulary)
    assert sorted(moves(changes)) == [
        ("JP", "gallium", 0, 3, "tighten"), ("JP", "germanium", 0, 3, "tighten"),
        ("KR", "gallium", 0, 3, "tighten"), ("KR", "germanium", 0, 3, "tighten"),
    ]  # fmt: skip
    assert all(change.item_id is None and change.source == "src" for _, change in changes)
