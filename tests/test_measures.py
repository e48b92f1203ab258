"""Measures, not levels: the legal situation stated exactly — end use, suspensions and their lapse, provenance —
through the real check pipeline (measure → measures → statuses → alerts) on a database with the baseline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from sqlite_utils import Database

from bot.config import Settings
from bot.domain.alert_text import alert_message
from bot.domain.datafiles import DataFileError
from bot.domain.exposure import assess
from bot.domain.knowledge import ExposureTable
from bot.domain.ladder import Level
from bot.domain.measure_file import load_measures
from bot.domain.measures import Measure
from bot.domain.rules import load_rules
from bot.domain.vocab import Vocabulary
from bot.services import open_services
from handlers.context import Services
from handlers.status import status_document
from jobs.alerts import AlertContext
from jobs.baseline import apply_baseline
from jobs.check import NewItem
from jobs.measures import apply_lapses
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.items import insert_new_items
from storage.measures import get_measure, measure_events
from storage.outbox import get_alert
from storage.schema import MIGRATIONS
from storage.subscribers import add_subscription, save_subscriber

WIRE = SourceSpec(id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN")
PRESS = SourceSpec(id="press", name="Press", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN")
MOFCOM = SourceSpec(
    id="mofcom", name="MOFCOM", kind="html", url="http://127.0.0.1/", every_seconds=600, issuer="CN", trust="official"
)


def database_on(day: dt.datetime, vocabulary: Vocabulary, baseline: list[Measure]) -> Database:
    """A database as a bot started on `day` has it: the baseline in, the suspensions run out put back."""
    db = open_database(":memory:", day)
    apply_baseline(db, baseline, day, vocabulary)
    with db.atomic():
        apply_lapses(db, vocabulary, day)
    return db


def check(
    db: Database, vocabulary: Vocabulary, table: ExposureTable, title: str, when: dt.datetime,
    source: SourceSpec = WIRE,
) -> int:  # fmt: skip
    """One fresh item through the measuring sink, as a check does it; how many statuses moved."""
    row = {"guid": f"{source.id}:{title}", "title": title, "summary": "", "link": "https://example.org/n",
           "published_at": None}  # fmt: skip
    [stored] = insert_new_items(db, source.id, [row], when.isoformat())
    item = NewItem(int(stored["id"]), source, title, "", "https://example.org/n", when, fresh=True)
    sink = MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, table))
    with db.atomic():
        return sink(db, [item], when)


def level(db: Database, vocabulary: Vocabulary, country: str, material: str, *, military: bool = False) -> Level:
    services = Services(db=db, vocabulary=vocabulary, table=None)  # type: ignore[arg-type]
    return services.status_book().level(country, material, military=military)


def subscribe(db: Database, chat_id: int, country: str, material: str = "", when: dt.datetime | None = None) -> None:
    at = (when or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).isoformat()
    save_subscriber(db, chat_id, "private", None, "UTC", at)
    add_subscription(db, chat_id, country, "", material, 0, at)


def alerts(db: Database, kind: str = "status") -> list[dict[str, object]]:
    rows = db.execute("SELECT id FROM alerts WHERE kind = ? ORDER BY id", [kind]).fetchall()
    return [get_alert(db, row[0]) for row in rows]  # type: ignore[misc]


# ---------------------------------------------------------------- the bundled measures on 2026-11-30


def test_on_2026_11_30_us_gallium_is_banned_again_and_japan_s_military_ban_counts_for_defence_only(
    tmp_path: Path,
) -> None:
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    services = open_services(Settings(chokepoint_db=tmp_path / "bot.db"), now)
    services.clock = lambda: now
    book = services.status_book()
    assert book.level("US", "gallium") == Level.BANNED
    us = {(s["target"], s["material"], s["end_use"]): s for s in status_document(services, ["US"])["statuses"]}
    ban = us[("US", "gallium", "any")]
    assert (ban["measure"], ban["level_name"], ban["state"], ban["lapsed"]) == (
        "MOFCOM-46-2024-c2",
        "banned",
        "in_force",
        "2026-11-27",
    )
    chips = assess(services.table, book, "JP", "semiconductors", now.date())
    defence = assess(services.table, book, "JP", "defense", now.date())
    assert all(part.status is None or part.status.end_use == "any" for part in chips.materials)
    assert any(part.status and part.status.end_use == "military" for part in defence.materials)
    assert defence.score > chips.score
    services.db.close()


def test_the_wording_of_announcement_46_bans_exactly_four_materials_to_the_us(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db = open_database(":memory:", dt.datetime(2024, 12, 3, tzinfo=dt.UTC))
    title = "商务部公告2024年第46号：原则上不予许可镓、锗、锑、超硬材料相关两用物项对美国出口"
    check(db, vocabulary, table, title, dt.datetime(2024, 12, 3, 9, tzinfo=dt.UTC))
    [row] = db.execute("SELECT materials, targets, level, instrument FROM measures").fetchall()
    assert json.loads(row[0]) == ["antimony", "gallium", "germanium", "superhard_materials"]
    assert (json.loads(row[1]), row[2], row[3]) == (["US"], 5, "MOFCOM Announcement 46/2024")
    assert level(db, vocabulary, "US", "tungsten") == Level.NORMAL  # another dual-use item: untouched


def test_suspending_the_october_curbs_leaves_april_2025_licensing_for_germany(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    now = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)
    db = database_on(now, vocabulary, baseline)
    assert level(db, vocabulary, "DE", "holmium") == Level.LICENSING  # Ann. 57/2025, in force again
    check(db, vocabulary, table, "China suspends the October rare-earth export curbs for another year", now, MOFCOM)
    assert level(db, vocabulary, "DE", "holmium") == Level.WATCH  # only the EU entity listings of 2026-04-24
    assert level(db, vocabulary, "DE", "dysprosium") == Level.LICENSING  # Ann. 18/2025 was never suspended
    assert get_measure(db, "MOFCOM-18-2025")["state"] == "in_force"  # type: ignore[index]


def test_news_of_a_suspension_already_recorded_suspends_nothing_older(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    now = dt.datetime(2026, 1, 15, 9, tzinfo=dt.UTC)  # Ann. 70/2025 suspends the October measures to 2026-11-10
    db = database_on(now, vocabulary, baseline)
    assert check(db, vocabulary, table, "China suspends rare earth export controls for one year", now, MOFCOM) == 0
    assert get_measure(db, "MOFCOM-18-2025")["state"] == "in_force"  # type: ignore[index]
    assert level(db, vocabulary, "KR", "dysprosium") == Level.LICENSING


def test_a_japanese_headline_extending_the_us_suspension_by_a_year_moves_its_end_and_raises_nothing(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    db = database_on(now, vocabulary, baseline)
    subscribe(db, 1, "US", "gallium")
    moved = check(db, vocabulary, table, "中国、対米ガリウム輸出禁止の停止措置を1年延長", now, MOFCOM)
    assert moved == 0 and alerts(db) == []
    clause = get_measure(db, "MOFCOM-46-2024-c2")
    assert clause is not None and (clause["state"], clause["until"]) == ("suspended", "2027-11-27")
    assert [e["kind"] for e in measure_events(db, ["MOFCOM-46-2024-c2"], limit=1)] == ["extended"]
    assert level(db, vocabulary, "US", "gallium") == Level.LICENSING  # Ann. 23/2023 stays


def test_a_suspension_that_runs_out_puts_the_measure_back_in_force_with_an_alert_that_says_both(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    before = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    db = database_on(before, vocabulary, baseline)
    subscribe(db, 1, "US", "gallium", before)
    after = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
    with db.atomic():
        changes = apply_lapses(db, vocabulary, after)
    assert {(c.target, c.material, c.effective_old, c.effective_new) for _, c in changes} >= {
        ("US", "gallium", Level.LICENSING, Level.BANNED)
    }
    assert changes[0][1].title == (
        "In force again: the suspension of MOFCOM Announcement 46/2024, clause 2 ran out on 2026-11-27 and no "
        "extension was seen"
    )
    assert level(db, vocabulary, "US", "gallium") == Level.BANNED


def test_a_military_end_use_measure_moves_defence_and_leaves_civilian_levels(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    now = dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC)
    db = open_database(":memory:", now)
    check(db, vocabulary, table, "China bans exports of gallium to Japanese military end users", now)
    assert level(db, vocabulary, "JP", "gallium") == Level.NORMAL
    assert level(db, vocabulary, "JP", "gallium", military=True) == Level.RESTRICTED


def test_an_easing_that_matches_no_measure_moves_nothing_and_is_kept_as_a_signal(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    now = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)
    db = database_on(now, vocabulary, baseline)
    before = db.execute("SELECT count(*) FROM status_changes").fetchone()[0]
    assert check(db, vocabulary, table, "China lifts export ban on lithium to India", now) == 0
    assert db.execute("SELECT count(*) FROM status_changes").fetchone()[0] == before
    assert db.execute("SELECT direction FROM signals").fetchall() == [("ease",)]


def test_a_reported_measure_is_one_measure_for_several_sources_and_an_official_one_confirms_it(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    db = open_database(":memory:", now)
    subscribe(db, 1, "DE", "dysprosium", now)
    check(db, vocabulary, table, "China halts dysprosium export licences for Germany, sources say", now)
    check(db, vocabulary, table, "China has halted dysprosium export licences for Germany, sources say", now, PRESS)
    [measure] = db.execute("SELECT id, provenance, sources FROM measures").fetchall()
    assert measure[1] == "reported" and json.loads(measure[2]) == ["Wire", "Press"]
    [alert] = alerts(db)
    payload = alert["payload"]
    assert [change["provenance"] for change in payload["changes"]] == ["reported"]  # type: ignore[index]
    assert "⚠️ <i>Reported, not confirmed by MOFCOM.</i>" in alert_message("status", payload)  # type: ignore[arg-type]
    check(db, vocabulary, table, "MOFCOM halts dysprosium export licences for Germany", now, MOFCOM)
    assert db.execute("SELECT provenance FROM measures").fetchall() == [("official",)]
    assert len(alerts(db)) == 1  # no second status alert: nothing moved
    [confirmation] = alerts(db, "confirmation")
    assert db.execute("SELECT chat_id FROM deliveries WHERE alert_id = ?", [confirmation["id"]]).fetchall() == [(1,)]


def test_more_evidence_appends_a_new_source_once_and_leaves_the_measure_as_it_was(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    db = open_database(":memory:", now)
    check(db, vocabulary, table, "China halts dysprosium export licences for Germany, sources say", now)
    [before] = db.query("SELECT * FROM measures")
    keys = db.execute("SELECT * FROM measure_keys ORDER BY target, material").fetchall()
    later = now + dt.timedelta(hours=1)
    check(db, vocabulary, table, "China has halted dysprosium export licences for Germany, sources say", later, PRESS)
    check(db, vocabulary, table, "China halted dysprosium export licences for Germany, sources said", later, WIRE)
    check(db, vocabulary, table, "Dysprosium licences for Germany halted by China, sources say", later, PRESS)
    [after] = db.query("SELECT * FROM measures")
    assert json.loads(after.pop("sources")) == ["Wire", "Press"] and json.loads(before.pop("sources")) == ["Wire"]
    assert after == {**before, "updated_at": later.isoformat()}
    assert db.execute("SELECT * FROM measure_keys ORDER BY target, material").fetchall() == keys
    events = [(e["kind"], e["source"]) for e in reversed(measure_events(db, [before["id"]]))]
    assert events == [("reported", "Wire"), ("evidence", "Press"), ("evidence", "Wire"), ("evidence", "Press")]


# ---------------------------------------------------------------- the measures file refuses bad entries


def write_measures(tmp_path: Path, change: dict[str, object]) -> Path:
    entry: dict[str, object] = {
        "id": "TEST-1", "issuer": "CN", "instrument": "Test 1/2026", "title": "t", "source": "s",
        "targets": ["ALL"], "materials": ["gallium"], "end_use": "any", "level": "licensing",
        "provenance": "official", "announced": dt.date(2026, 1, 1),
    }  # fmt: skip
    entry.update(change)
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump({"measures": [entry]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"materials": ["galium"]}, r"measure #1 \(TEST-1\): unknown material 'galium' \(closest: gallium"),
        ({"materials": ["dual_use", "gallium"]}, r"TEST-1\): names the group 'dual_use' and its members gallium"),
        ({"effective": dt.date(2025, 12, 1)}, r"TEST-1\): 'effective' 2025-12-01 is before 'announced' 2026-01-01"),
        (
            {
                "events": [
                    {"date": dt.date(2026, 2, 1), "state": "suspended", "until": dt.date(2026, 1, 5), "source": "x"}
                ]
            },
            r"TEST-1\): event #1: the suspension ends \(2026-01-05\) before it starts \(2026-02-01\)",
        ),
        (
            {
                "events": [
                    {"date": dt.date(2026, 2, 1), "state": "lifted", "source": "x"},
                    {"date": dt.date(2026, 3, 1), "state": "suspended", "until": dt.date(2026, 9, 1), "source": "y"},
                ]
            },
            r"TEST-1\): event #2: suspends a measure that is not in force \(lifted\)",
        ),
        ({"end_use": "civil"}, r"key 'end_use' must be any or military, not 'civil'"),
    ],
)
def test_a_bad_measure_entry_is_refused_naming_it(
    tmp_path: Path, vocabulary: Vocabulary, change: dict[str, object], message: str
) -> None:
    with pytest.raises(DataFileError, match=message):
        load_measures(vocabulary, write_measures(tmp_path, change))


def test_the_bundled_measures_load_and_every_one_names_its_source(baseline: list[Measure]) -> None:
    assert len(baseline) >= 18 and all(m.source for m in baseline)
    clauses = {m.id: m for m in baseline}
    assert clauses["MOFCOM-46-2024-c1"].end_use == "military" and clauses["MOFCOM-46-2024-c1"].state == "in_force"
    assert clauses["MOFCOM-46-2024-c2"].until == dt.date(2026, 11, 27)
    assert clauses["MOFCOM-57-2025"].effective == dt.date(2025, 11, 8)


# ---------------------------------------------------------------- an existing database is carried over


def test_a_database_of_the_previous_schema_keeps_subscriptions_history_and_outbox(
    tmp_path: Path, vocabulary: Vocabulary, baseline: list[Measure]
) -> None:
    path = tmp_path / "old.db"
    old = open_database(":memory:", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    old.close()
    db = Database(path)
    for _, _, statements in MIGRATIONS[:6]:
        for statement in statements:
            db.execute(statement)
    db.execute("CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for number, name, _ in MIGRATIONS[:6]:
        db.execute("INSERT INTO migrations VALUES (?, ?, '2026-01-01')", [number, name])
    db.execute("INSERT INTO subscribers (chat_id, created_at) VALUES (5, '2026-01-01')")
    db.execute("INSERT INTO subscriptions (chat_id, country, created_at) VALUES (5, 'JP', '2026-01-01')")
    db.execute(
        "INSERT INTO statuses VALUES ('CN', 'KR', 'graphite', 3, '2026-05-01T00:00:00+00:00', 'licences for Korea',"
        " 'wire', NULL, 9, NULL, '2026-05-01')"
    )
    db.execute(
        "INSERT INTO status_changes (issuer, target, material, old_level, new_level, direction, at, title, source,"
        " origin) VALUES ('CN', 'KR', 'graphite', 0, 3, 'tighten', '2026-05-01', 'licences for Korea', 'wire',"
        " 'live')"
    )
    db.execute(
        "INSERT INTO alerts (key, kind, severity, created_at, payload) VALUES ('k', 'status', 'info', 'x', '{}')"
    )
    db.conn.commit()
    db.close()
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    migrated = open_database(path, now)
    apply_baseline(migrated, baseline, now, vocabulary)
    assert migrated.execute("SELECT chat_id, country FROM subscriptions").fetchall() == [(5, "JP")]
    assert migrated.execute("SELECT new_level FROM status_changes").fetchall() == [(2,)]  # licensing is 2 now
    assert migrated.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
    kept = get_measure(migrated, "MIGRATED-CN-KR-graphite")
    assert kept is not None and (kept["level"], kept["provenance"]) == (2, "reported")
    assert level(migrated, vocabulary, "KR", "graphite") == Level.LICENSING
