"""The sources table: what is tracked, its conditional-GET validators, and its health."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from storage.connections import Transactional, connect_read_only
from storage.rows import Row, select
from storage.schema import newest_migration, refuse_a_newer_schema, schema_version

if TYPE_CHECKING:
    from storage.database import Database

IDENTITY = ("id", "name", "kind", "url", "every_seconds")
_AMONG = "id IN (SELECT value FROM json_each(?))"  # the ids as one JSON list: any number of them, one statement
SourceHealth: TypeAlias = Literal["new", "ok", "degraded", "down"]  # new: never checked


def sync_sources(db: Transactional, sources: Iterable[Row]) -> None:
    """Insert new sources and refresh the description of known ones, keeping their state (committed here unless
    the caller holds a transaction). An unchanged source is not written again: a thousand of them cost a
    check ~0.1 s of page writes otherwise."""
    with db.atomic():
        db.conn.executemany(
            """INSERT INTO sources (id, name, kind, url, every_seconds)
               VALUES (:id, :name, :kind, :url, :every_seconds)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, url = excluded.url,
                   every_seconds = excluded.every_seconds
               WHERE (name, kind, url, every_seconds)
                   IS NOT (excluded.name, excluded.kind, excluded.url, excluded.every_seconds)""",
            ({key: source[key] for key in IDENTITY} for source in sources),
        )


def get_source(db: Transactional, source_id: str) -> Row | None:
    """One source's row, or None (read twice per check of a source: kept to one statement)."""
    rows = select(db, "SELECT * FROM sources WHERE id = ?", [source_id])
    return rows[0] if rows else None


@dataclass(frozen=True)
class FirstRead:
    """What a one-shot check reads of its database, with the standard library alone, before it opens it to write:
    its first requests go out before it imports sqlite-utils (~40 ms)."""

    validators: dict[str, tuple[str | None, str | None]]  # each source's ETag and Last-Modified
    upgrade_pending: bool  # a database this version has migrations for that it has not had yet


def read_before_opening(path: Path) -> FirstRead:
    """The validators of the database file at PATH, and whether an upgrade's migrations wait for it. No
    validators when there is no such file yet, no table of sources in it, or it cannot be opened to read (opening
    it to write says why): those first requests then go unconditional. What no check may go on with is refused
    here, before any request is sent: SchemaTooNew for a database of a newer Chokepoint, sqlite3.DatabaseError
    for a file that is not a database."""
    if not path.is_file():
        return FirstRead({}, upgrade_pending=False)
    try:
        db = connect_read_only(path)
    except sqlite3.OperationalError:
        return FirstRead({}, upgrade_pending=False)
    with contextlib.closing(db):
        newest = newest_migration(db)
        refuse_a_newer_schema(newest)
        try:
            rows = db.execute("SELECT id, etag, last_modified FROM sources").fetchall()
        except sqlite3.OperationalError:  # no such table yet, or the file cannot be read now
            rows = []
    validators = {str(source_id): (etag, last_modified) for source_id, etag, last_modified in rows}
    return FirstRead(validators, upgrade_pending=newest is not None and newest < schema_version())


@dataclass(frozen=True)
class ReadingState:
    """How fresh what the sources said is: the last time any was read, and how many are healthy."""

    last_success: str | None  # ISO time; None when no source has been read yet
    healthy: int
    total: int


def reading_state(db: Transactional, ids: Iterable[str] | None = None) -> ReadingState:
    """The sources' reading state (of those with these ids, when given), counted by SQLite: every answer tells it,
    and a row each for a thousand sources would be read to make three numbers."""
    among = f"WHERE {_AMONG}" if ids is not None else ""
    last, healthy, total = db.conn.execute(
        f"SELECT max(nullif(last_success_at, '')), coalesce(sum(health = 'ok'), 0), count(*) FROM sources {among}",
        [json.dumps(sorted(ids))] if ids is not None else [],
    ).fetchone()
    return ReadingState(last, healthy, total)


def list_sources(db: Transactional, ids: Iterable[str] | None = None) -> list[Row]:
    """Every source (or those with these ids), by id."""
    rows = sources_by_id(db, sorted(ids) if ids is not None else None)
    return [rows[source_id] for source_id in sorted(rows)]


_SUCCESS = """UPDATE sources SET etag = ?, last_modified = ?, fingerprint = COALESCE(?, fingerprint),
                  last_checked_at = ?, last_success_at = ?, next_check_at = ?, consecutive_failures = 0,
                  health = 'ok', last_error = NULL, items_seen = items_seen + ?
              WHERE id = ?"""


def record_success(
    db: Database,
    source_id: str,
    *,
    now: str,
    next_check_at: str,
    etag: str | None,
    last_modified: str | None,
    fingerprint: str | None,
    new_items: int,
) -> None:
    """A check that reached the source: validators kept, failures cleared, health ok."""
    db.execute(_SUCCESS, [etag, last_modified, fingerprint, now, now, next_check_at, new_items, source_id])


@dataclass(frozen=True, slots=True)
class QuietSuccess:
    """A check that reached its source and found nothing new to store (a 304, or the same items again)."""

    source_id: str
    next_check_at: str
    etag: str | None
    last_modified: str | None
    fingerprint: str | None


def record_quiet_successes(db: Transactional, successes: Sequence[QuietSuccess], now: str) -> None:
    """Record many quiet successes with one statement, as `record_success` would each."""
    db.conn.executemany(
        _SUCCESS,
        ([s.etag, s.last_modified, s.fingerprint, now, now, s.next_check_at, 0, s.source_id] for s in successes),
    )


def down_among(db: Transactional, ids: Sequence[str]) -> dict[str, int]:
    """Which of these sources are down, with their consecutive failures: a quiet batch reads no other row (every
    row of a thousand sources cost a warm check ~5 ms of its CPU)."""
    rows = db.conn.execute(
        f"SELECT id, consecutive_failures FROM sources WHERE health = 'down' AND {_AMONG}",
        [json.dumps(ids)],
    )
    return dict(rows.fetchall())


def sources_by_id(db: Transactional, ids: Sequence[str] | None = None) -> dict[str, Row]:
    """The rows of these sources (every source when IDS is None), by id, read with one statement."""
    if ids is None:
        rows = select(db, "SELECT * FROM sources")
    else:
        rows = select(db, f"SELECT * FROM sources WHERE {_AMONG}", [json.dumps(ids)])
    return {row["id"]: row for row in rows}


def record_failure(
    db: Database, source_id: str, *, now: str, next_check_at: str, error: str, health: SourceHealth
) -> None:
    """A failed check: one more consecutive failure, the reason, the health and when to try again."""
    db.execute(
        """UPDATE sources SET last_checked_at = ?, next_check_at = ?, consecutive_failures = consecutive_failures + 1,
               health = ?, last_error = ?
           WHERE id = ?""",
        [now, next_check_at, health, error, source_id],
    )
