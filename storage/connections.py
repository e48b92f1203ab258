"""The database file through the standard library alone: how long every connection waits for a lock, and the
read-only connection of the readers that neither write nor import sqlite-utils (~40 ms): a one-shot check's
first read (`read_before_opening`), a backup's integrity check."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

BUSY_TIMEOUT_MS = 10_000  # a connection waits this long for another to finish before "database is locked"
# What every connection that writes sets: storage/db.py's, and `PlainDatabase`.
PRAGMAS = ("foreign_keys = ON", "synchronous = NORMAL", f"busy_timeout = {BUSY_TIMEOUT_MS}")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the file at PATH: no write lock, and closing it does not checkpoint the log."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)


class Transactional(Protocol):
    """What recording a check that found nothing new needs of a database: its connection, and transactions. The
    sqlite-utils `Database` of storage/db.py is one; `PlainDatabase` is another."""

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection."""
        ...

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """A transaction, or a savepoint within one."""
        ...


class PlainDatabase:
    """The database file through the standard library alone, for work that needs no more: a one-shot check records
    the checks that found nothing new through it, and opens the services (sqlite-utils, ~45 ms of imports, and the
    knowledge) only if a check needs them (bot/watching.py). Its transactions take the write lock when they
    begin, as ImmediateDatabase's do; the database must exist with the current schema."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        for pragma in PRAGMAS:
            self._conn.execute(f"PRAGMA {pragma}")

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection."""
        return self._conn

    @contextlib.contextmanager
    def atomic(self) -> Iterator[PlainDatabase]:
        """A transaction that holds the write lock from its first statement; a savepoint when one is open."""
        nested = self._conn.in_transaction
        self._conn.execute("SAVEPOINT plain" if nested else "BEGIN IMMEDIATE")
        try:
            yield self
            self._conn.execute("RELEASE plain" if nested else "COMMIT")
        except BaseException:
            if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                self._conn.execute("ROLLBACK TO plain" if nested else "ROLLBACK")
                if nested:
                    self._conn.execute("RELEASE plain")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
