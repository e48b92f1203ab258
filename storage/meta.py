"""The `meta` table: a few values the bot keeps about its own database, by key."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.connections import Transactional

BUNDLE_KEY = "bundle_digest"  # the digest of the bundled data whose measures were last stored (`apply_baseline`)


def read_meta(db: Transactional, key: str) -> str | None:
    """The value kept under KEY, or None."""
    row = db.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def write_meta(db: Transactional, key: str, value: str) -> None:
    """Keep VALUE under KEY (committed here unless the caller holds a transaction)."""
    with db.atomic():
        db.conn.execute(
            """INSERT INTO meta (key, value) VALUES (?, ?)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value""",
            [key, value],
        )
