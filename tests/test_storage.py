"""Storage: migrations, WAL, the baseline load and the status tables, with whole rows asserted."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary
from jobs.baseline import apply_baseline
from jobs.measures import apply_lapses
from storage.connections import PlainDatabase
from storage.db import MEMORY, connect, open_database
from storage.rows import select
from storage.schema import MIGRATIONS, applied_migrations, migrate
from storage.sources import ReadingState, get_source, reading_state, sync_sources
from storage.statuses import (
    StatusChange,
    current_statuses,
    record_change,
)
from tests.storage_reads import get_status, status_history

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def change(old: int, new: int, at: str, **overrides: object) -> StatusChange:
    fields: dict[str, object] = {
        "issuer": "CN", "target": "JP", "material": "gallium", "old_level": old, "new_level": new,
        "direction": "tighten" if new > old else "ease", "at": at, "title": f"to {new}", "source": "mofcom",
        "origin": "live", "url": "https://example.org/a", "item_id": None, "until": None,
    }  # fmt: skip
    fields.update(overrides)
    return StatusChange(**fields)  # type: ignore[arg-type]


def test_migrations_are_recorded_and_safe_to_reapply(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = open_database(path, NOW)
    assert applied_migrations(db) == {number for number, _, _ in MIGRATIONS}
    assert migrate(db, NOW) == []
    db.close()
    again = open_database(path, NOW)
    assert migrate(again, NOW) == []
    assert {"sources", "items", "signals", "statuses", "status_changes", "subscribers", "subscriptions",
            "alerts", "deliveries"} <= set(again.table_names())  # fmt: skip
    again.close()


def test_items_lose_their_index_by_fetch_time_and_keep_every_row(tmp_path: Path) -> None:
    db = connect(tmp_path / "bot.db")
    applied_migrations(db)
    for number, name, statements in MIGRATIONS[:10]:  # a database of the schema before migration 11
        for statement in statements:
            db.execute(statement)
        db.execute("INSERT INTO migrations VALUES (?, ?, ?)", [number, name, NOW.isoformat()])
    db.conn.commit()
    db.execute("INSERT INTO items (source_id, guid, title, fetched_at) VALUES ('wire', 'a', 'A', ?)", [NOW.isoformat()])
    indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' ORDER BY name"
    assert [row[0] for row in db.execute(indexes)] == ["items_by_fetched", "sqlite_autoindex_items_1"]
    assert migrate(db, NOW)[0] == 11
    assert [row[0] for row in db.execute(indexes)] == ["sqlite_autoindex_items_1"]
    assert db.execute("SELECT source_id, guid, title FROM items").fetchall() == [("wire", "a", "A")]


def test_a_file_database_runs_in_wal_mode(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db", NOW)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_failed_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    db = connect(tmp_path / "bot.db")
    db.execute("CREATE TABLE deliveries (x INTEGER)")  # collides with the last statement of migration 1
    with pytest.raises(sqlite3.OperationalError, match="deliveries"):
        migrate(db, NOW)
    assert "sources" not in db.table_names()
    assert applied_migrations(db) == set()


def test_record_change_writes_history(db: Database) -> None:
    change_id = record_change(db, change(0, 3, "2026-01-06T00:00:00+00:00"))
    row = db.execute("SELECT old_level, new_level, end_use, title FROM status_changes WHERE id = ?", [change_id])
    assert row.fetchone() == (0, 3, "any", "to 3")


def test_history_filters_and_orders_newest_first(db: Database) -> None:
    record_change(db, change(0, 3, "2023-07-03T00:00:00+00:00"))
    record_change(db, change(3, 5, "2024-12-03T00:00:00+00:00"))
    record_change(db, change(0, 3, "2025-02-04T00:00:00+00:00", material="tungsten", target="ALL"))
    assert [row["new_level"] for row in status_history(db, targets=["JP"])] == [5, 3]
    assert [row["material"] for row in status_history(db, materials=["tungsten"])] == ["tungsten"]
    assert len(status_history(db, limit=2)) == 2


def test_baseline_loads_once_and_derives_the_statuses_of_the_measures(
    db: Database, baseline: list[Measure], vocabulary: Vocabulary
) -> None:
    assert apply_baseline(db, baseline, NOW, vocabulary) == len(baseline)
    assert apply_baseline(db, baseline, NOW, vocabulary) == 0
    assert get_status(db, "CN", "US", "gallium") is None  # Ann. 46 clause 2 suspended: ALL's licensing holds
    apply_lapses(db, vocabulary, NOW)  # the suspensions of Ann. 70 and 72/2025 ran out on 11-10 and 11-27
    levels = {(row["target"], row["material"], row["end_use"]): row["level"] for row in current_statuses(db)}
    assert levels[("ALL", "gallium", "any")] == 2  # Ann. 23/2023: licensing
    assert levels[("US", "gallium", "any")] == 5  # Ann. 46 clause 2: in force again since 2026-11-28
    assert levels[("ALL", "holmium", "any")] == 2  # Ann. 57/2025: in force again since 2026-11-11
    assert levels[("JP", "dual_use", "military")] == 4  # Ann. 1/2026, military end users only
    assert levels[("ALL", "dysprosium", "any")] == 2  # Ann. 18/2025 was never suspended
    assert get_status(db, "CN", "US", "gallium")["lapsed"] == "2026-11-27"  # type: ignore[index]
    assert get_status(db, "CN", "JP", "dual_use")["level"] == 1  # type: ignore[index]  # entity listing: watch


def test_select_reads_the_rows_query_reads_and_leaves_no_transaction_open(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db", NOW)
    with db.atomic():
        record_change(db, change(0, 2, "2026-11-29T09:00:00+00:00"))
        record_change(db, change(2, 4, "2026-11-29T10:00:00+00:00", target="KR", until="2027-01-01"))
    sql = "SELECT * FROM status_changes WHERE issuer = ? ORDER BY id"
    assert select(db, sql, ["CN"]) == list(db.query(sql, ["CN"]))
    assert [row["target"] for row in select(db, sql, ["CN"])] == ["JP", "KR"]
    assert select(db, sql, ["US"]) == []
    assert not db.conn.in_transaction


def test_sync_sources_refreshes_a_changed_description_and_keeps_the_state() -> None:
    db = connect(MEMORY)
    migrate(db, NOW)
    first = {"id": "s", "name": "Old", "kind": "rss", "url": "https://a.example/rss", "every_seconds": 600}
    sync_sources(db, [first])
    db.execute("UPDATE sources SET etag = 'e1', items_seen = 7 WHERE id = 's'")
    db.conn.commit()
    sync_sources(db, [first])  # unchanged: kept as it is
    sync_sources(db, [{**first, "name": "New", "every_seconds": 300}])
    row = get_source(db, "s")
    assert row is not None
    assert (row["name"], row["every_seconds"], row["etag"], row["items_seen"]) == ("New", 300, "e1", 7)


def test_the_reading_state_counts_the_sources_asked_for() -> None:
    db = connect(MEMORY)
    migrate(db, NOW)
    sync_sources(db, [{"id": f"s{n}", "name": f"S{n}", "kind": "rss", "url": f"https://a.example/{n}",
                       "every_seconds": 600} for n in range(4)])  # fmt: skip
    assert reading_state(db) == ReadingState(None, 0, 4)  # none read yet
    db.execute("UPDATE sources SET health = 'ok', last_success_at = '2026-11-29T08:00:00+00:00' WHERE id = 's0'")
    db.execute("UPDATE sources SET health = 'ok', last_success_at = '2026-11-29T09:00:00+00:00' WHERE id = 's1'")
    db.execute("UPDATE sources SET health = 'down', last_success_at = '2026-11-29T10:00:00+00:00' WHERE id = 's2'")
    db.conn.commit()
    assert reading_state(db) == ReadingState("2026-11-29T10:00:00+00:00", 2, 4)
    assert reading_state(db, ["s0", "s3", "gone"]) == ReadingState("2026-11-29T08:00:00+00:00", 1, 2)
    assert reading_state(db, []) == ReadingState(None, 0, 0)


def test_sync_sources_writes_no_row_for_an_unchanged_source() -> None:
    db = connect(MEMORY)
    migrate(db, NOW)
    rows = [{"id": f"s{n}", "name": f"S{n}", "kind": "rss", "url": f"https://a.example/{n}", "every_seconds": 600}
            for n in range(3)]  # fmt: skip
    sync_sources(db, rows)
    before = db.conn.total_changes
    sync_sources(db, rows)
    assert db.conn.total_changes == before
    sync_sources(db, [{**rows[1], "url": "https://b.example/1"}])
    assert db.conn.total_changes == before + 1


def test_the_first_event_of_a_bundled_report_says_reported_and_old_databases_are_mended(
    db: Database, baseline: list[Measure], vocabulary: Vocabulary
) -> None:
    apply_baseline(db, baseline, NOW, vocabulary)
    first = "SELECT kind FROM measure_events WHERE measure_id = ? ORDER BY at LIMIT 1"
    assert db.execute(first, ["REPORTED-2026-01-JP-civilian-halt"]).fetchone() == ("reported",)
    assert db.execute(first, ["MOFCOM-18-2025"]).fetchone() == ("announced",)
    # A database whose baseline was stored before migration 12, when every first event said 'announced'.
    db.execute("UPDATE measure_events SET kind = 'announced' WHERE kind = 'reported'")
    db.execute("DELETE FROM migrations WHERE number = 12")
    assert migrate(db, NOW) == [12]
    assert db.execute(first, ["REPORTED-2026-01-JP-civilian-halt"]).fetchone() == ("reported",)
    assert db.execute(first, ["MOFCOM-18-2025"]).fetchone() == ("announced",)


def test_a_plain_transaction_whose_commit_fails_is_rolled_back_and_holds_no_lock(tmp_path: Path) -> None:
    """A commit can fail (a full disk; here a deferred foreign key): the connection must not stay inside it."""
    path = tmp_path / "bot.db"
    open_database(path, NOW).close()
    plain = PlainDatabase(path)
    plain.conn.execute("PRAGMA foreign_keys = ON")
    plain.conn.execute("CREATE TABLE child (parent TEXT REFERENCES sources (id) DEFERRABLE INITIALLY DEFERRED)")
    try:
        with pytest.raises(sqlite3.IntegrityError), plain.atomic():
            plain.conn.execute("INSERT INTO child (parent) VALUES ('no such source')")
        assert not plain.conn.in_transaction
        with contextlib.closing(sqlite3.connect(path, timeout=0.1)) as other:
            other.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            other.commit()
        assert plain.conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    finally:
        plain.close()
