"""Storage: migrations, WAL, the baseline load and the status tables, with whole rows asserted."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.knowledge import BaselineEvent
from bot.domain.vocab import Vocabulary
from jobs.baseline import apply_baseline
from storage.db import connect, open_database
from storage.schema import MIGRATIONS, applied_migrations, migrate
from storage.statuses import (
    StatusChange,
    current_statuses,
    get_status,
    level_before_rise_to,
    record_change,
    status_history,
)

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


def test_record_change_writes_history_and_current_status(db: Database) -> None:
    with db.atomic():
        change_id = record_change(db, change(0, 3, "2023-07-03T00:00:00+00:00", until="2026-11-10"))
    assert change_id == 1
    assert get_status(db, "CN", "JP", "gallium") == {
        "issuer": "CN", "target": "JP", "material": "gallium", "level": 3,
        "since": "2023-07-03T00:00:00+00:00", "title": "to 3", "source": "mofcom", "url": "https://example.org/a",
        "item_id": None, "until": "2026-11-10", "updated_at": "2023-07-03T00:00:00+00:00",
    }  # fmt: skip
    assert status_history(db)[0] == {
        "id": 1, "issuer": "CN", "target": "JP", "material": "gallium", "old_level": 0, "new_level": 3,
        "direction": "tighten", "at": "2023-07-03T00:00:00+00:00", "title": "to 3", "source": "mofcom",
        "url": "https://example.org/a", "item_id": None, "until": "2026-11-10", "origin": "live",
        "effective_old": None, "effective_new": None,
    }  # fmt: skip


def test_history_filters_and_orders_newest_first(db: Database) -> None:
    record_change(db, change(0, 3, "2023-07-03T00:00:00+00:00"))
    record_change(db, change(3, 5, "2024-12-03T00:00:00+00:00"))
    record_change(db, change(0, 3, "2025-02-04T00:00:00+00:00", material="tungsten", target="ALL"))
    assert [row["new_level"] for row in status_history(db, targets=["JP"])] == [5, 3]
    assert [row["material"] for row in status_history(db, materials=["tungsten"])] == ["tungsten"]
    assert len(status_history(db, limit=2)) == 2


def test_the_level_before_a_rise_is_what_stays_when_that_measure_is_lifted(db: Database) -> None:
    key = ("CN", "JP", "gallium")
    assert level_before_rise_to(db, key, 3) == 0
    record_change(db, change(0, 3, "2023-07-03T00:00:00+00:00"))
    record_change(db, change(3, 5, "2024-12-03T00:00:00+00:00"))
    record_change(db, change(5, 3, "2025-11-09T00:00:00+00:00"))
    assert level_before_rise_to(db, key, 5) == 3  # lifting the ban leaves licensing
    assert level_before_rise_to(db, key, 3) == 0  # lifting licensing, set by the first rise, leaves nothing


def test_baseline_loads_once_and_sets_the_levels_of_the_timeline(
    db: Database, baseline: list[BaselineEvent], vocabulary: Vocabulary
) -> None:
    moved = apply_baseline(db, baseline, NOW, vocabulary)
    assert moved > 0
    assert apply_baseline(db, baseline, NOW, vocabulary) == 0
    levels = {(row["target"], row["material"]): row["level"] for row in current_statuses(db)}
    assert levels[("ALL", "gallium")] == 3
    assert levels[("US", "gallium")] == 3  # Ann. 72/2025 eased the ban back to licensing
    assert levels[("ALL", "holmium")] == 0  # Ann. 70/2025 suspended the October 2025 measures
    assert levels[("JP", "dual_use")] == 4
    assert levels[("ALL", "dysprosium")] == 3
    assert get_status(db, "CN", "US", "gallium")["until"] == "2026-11-27"  # type: ignore[index]


def test_baseline_never_overrides_a_newer_live_status(
    db: Database, baseline: list[BaselineEvent], vocabulary: Vocabulary
) -> None:
    record_change(db, change(0, 5, "2026-11-28T00:00:00+00:00", target="US", material="gallium"))
    apply_baseline(db, baseline, NOW, vocabulary)
    assert get_status(db, "CN", "US", "gallium")["level"] == 5  # type: ignore[index]
