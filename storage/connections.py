"""The database file through the standard library alone: how long every connection waits for a lock, and the
read-only connection of the readers that neither write nor import sqlite-utils (~40 ms): a one-shot check's
first read (`read_before_opening`), a backup's integrity check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000  # a connection waits this long for another to finish before "database is locked"


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the file at PATH: no write lock, and closing it does not checkpoint the log."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
