"""Opening the database: one SQLite file in WAL mode, migrated to the current schema; and copying it live."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from storage.connections import BUSY_TIMEOUT_MS, PRAGMAS, connect_read_only
from storage.database import Database
from storage.schema import migrate

MEMORY = ":memory:"


class ImmediateDatabase(Database):
    """sqlite-utils' Database whose transactions take the write lock when they begin (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes fails at once with "database is locked" when another
    connection wrote in between, whatever the busy timeout; one that begins IMMEDIATE waits its turn instead.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction (a savepoint when nested) that holds the write lock from its first statement."""
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def connect(path: str | Path) -> Database:
    """A connection with the pragmas every part of the bot relies on (no migration)."""
    # isolation_level IMMEDIATE: a lone write outside atomic() begins its implicit transaction IMMEDIATE too.
    # execute_plugins=False: no sqlite-utils plugins are used, and looking for them scans every installed package.
    if str(path) == MEMORY:
        connection = sqlite3.connect(MEMORY, check_same_thread=False, isolation_level="IMMEDIATE")
        db = ImmediateDatabase(connection, execute_plugins=False)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level="IMMEDIATE"
        )
        db = ImmediateDatabase(connection, execute_plugins=False)
        db.enable_wal()
    for pragma in PRAGMAS:
        db.execute(f"PRAGMA {pragma}")
    return db


def open_database(path: str | Path, now: dt.datetime) -> Database:
    """Connect and bring the schema up to date; SchemaTooNew for a database of a newer Chokepoint."""
    db = connect(path)
    try:
        migrate(db, now)
    except BaseException:
        db.close()
        raise
    return db


def backup_database(source: Path, target: Path) -> int:
    """A consistent copy of a database in use, with SQLite's backup API; the copy's size in bytes.

    The copy is written beside the target and renamed into place, so the target is whole or untouched.
    Writers go on meanwhile: in WAL mode the copy reads one snapshot while they append to the log.
    """
    if not source.is_file():
        raise FileNotFoundError(2, "no such database", str(source))
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    reader = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            reader.backup(copy)  # all pages in one step: one snapshot, never restarted by a writer
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    finally:
        reader.close()
    os.replace(partial, target)
    return target.stat().st_size


def integrity_problems(path: Path) -> list[str]:
    """What PRAGMA integrity_check finds wrong with a database file (empty when it is sound)."""
    with contextlib.closing(connect_read_only(path)) as db:
        rows = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows
