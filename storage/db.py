"""Opening the database: one SQLite file in WAL mode, migrated to the current schema."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from storage.schema import migrate

MEMORY = ":memory:"


def connect(path: str | Path) -> Database:
    """A connection with the pragmas every part of the bot relies on (no migration)."""
    if str(path) == MEMORY:
        db = Database(sqlite3.connect(MEMORY, check_same_thread=False))
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(str(path), check_same_thread=False, timeout=10))
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def open_database(path: str | Path, now: dt.datetime) -> Database:
    """Connect and bring the schema up to date."""
    db = connect(path)
    migrate(db, now)
    return db
