"""Heartbeats: when the running bot started, last heard back from a poll of Telegram, and last finished a check.

`chokepoint health` reads them (a container's health check) from another process, while the bot runs.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from storage.connections import BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from storage.database import Database


Heartbeat: TypeAlias = Literal["start", "poll", "check"]
START: Heartbeat = "start"
POLL: Heartbeat = "poll"
CHECK: Heartbeat = "check"


def record_heartbeat(db: Database, name: Heartbeat, at: str) -> None:
    """Note that `name` happened at `at` (an ISO time), replacing the previous note."""
    db.execute(
        "INSERT INTO heartbeats (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        [name, at],
    )


def heartbeats_in(path: Path) -> dict[str, str]:
    """The heartbeats of a database file, read without migrating or writing it; empty when it holds none."""
    if not path.is_file():
        return {}
    with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
        try:
            rows = db.execute("SELECT name, at FROM heartbeats").fetchall()
        except sqlite3.OperationalError:  # a database from before heartbeats: the bot never ran on it since
            return {}
    return {str(name): str(at) for name, at in rows}
