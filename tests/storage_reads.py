"""Reads the tests make of the database that production code never needs."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from storage.rows import Row


def get_status(db: Database, issuer: str, target: str, material: str, end_use: str = "any") -> Row | None:
    """The current status of one key, or None."""
    sql = "SELECT * FROM statuses WHERE issuer = ? AND target = ? AND material = ? AND end_use = ?"
    return next(iter(db.query(sql, [issuer, target, material, end_use])), None)


def status_history(
    db: Database,
    *,
    targets: Iterable[str] = (),
    materials: Iterable[str] = (),
    limit: int = 20,
) -> list[Row]:
    """Status changes, newest first, optionally only those on these targets or materials."""
    clauses, params = [], []
    for column, values in (("target", list(targets)), ("material", list(materials))):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT * FROM status_changes {where} ORDER BY at DESC, id DESC LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def deliveries_of_alert(db: Database, alert_id: int) -> list[Row]:
    """An alert's deliveries, by chat."""
    return list(db.query("SELECT * FROM deliveries WHERE alert_id = ? ORDER BY chat_id", [alert_id]))


def database_at_version(number: int, now: str) -> Database:
    """An in-memory database as the first NUMBER migrations left it, recorded as applied at NOW: the state an
    older Chokepoint wrote, for a test of the next migration."""
    from storage.db import connect
    from storage.schema import MIGRATIONS, applied_migrations

    db = connect(":memory:")
    applied_migrations(db)
    for version, name, statements in MIGRATIONS[:number]:
        for statement in statements:
            db.execute(statement)
        db.execute("INSERT INTO migrations VALUES (?, ?, ?)", [version, name, now])
    return db
