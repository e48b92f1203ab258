"""Subscribers (one row per chat, with its delivery mode) and their subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

from storage.rows import Row

if TYPE_CHECKING:
    from storage.database import Database

SubscriptionKey: TypeAlias = tuple[str, str, str, int]  # (country, sector, material, min_level)


def save_subscriber(
    db: Database, chat_id: int, chat_type: str, title: str | None, timezone: str, now: str, language: str | None = None
) -> None:
    """Create the chat's row, or bring it back to active (a chat that blocked us and came back); `language`, the
    one its user's Telegram app shows, is kept until the chat chooses one with /language."""
    db.execute(
        """INSERT INTO subscribers (chat_id, chat_type, title, timezone, created_at, language) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (chat_id) DO UPDATE SET chat_type = excluded.chat_type, title = excluded.title,
               active = 1, deactivated_reason = NULL,
               language = CASE WHEN language_chosen = 1 THEN language
                               ELSE COALESCE(excluded.language, language) END""",
        [chat_id, chat_type, title, timezone, now, language],
    )


def set_language(db: Database, chat_id: int, chat_type: str, title: str | None, language: str, now: str) -> None:
    """The chat chose its language: kept over its users' Telegram settings from now on."""
    save_subscriber(db, chat_id, chat_type, title, "UTC", now)
    db.execute("UPDATE subscribers SET language = ?, language_chosen = 1 WHERE chat_id = ?", [language, chat_id])


def note_language(db: Database, chat_id: int, language: str) -> None:
    """The language a private chat's user reads, for its alerts, while the chat has not chosen one."""
    db.execute(
        "UPDATE subscribers SET language = ? WHERE chat_id = ? AND language_chosen = 0 AND language IS NOT ?",
        [language, chat_id, language],
    )


def chosen_language(db: Database, chat_id: int) -> str | None:
    """The language the chat chose with /language, or None while it has not chosen."""
    row = db.execute("SELECT language FROM subscribers WHERE chat_id = ? AND language_chosen = 1", [chat_id])
    found = row.fetchone()
    return str(found[0]) if found else None


def get_subscriber(db: Database, chat_id: int) -> Row | None:
    """The chat's row, or None."""
    return next(iter(db.query("SELECT * FROM subscribers WHERE chat_id = ?", [chat_id])), None)


def add_subscription(
    db: Database, chat_id: int, country: str, sector: str, material: str, min_level: int, now: str
) -> str:
    """Subscribe a chat: 'added'; 'updated' when it followed the same thing at another minimum level (the new
    minimum replaces it); 'unchanged' when it had exactly this subscription."""
    same = [chat_id, country, sector, material]
    levels = [row[0] for row in db.execute(
        "SELECT min_level FROM subscriptions WHERE chat_id = ? AND country = ? AND sector = ? AND material = ?", same
    )]  # fmt: skip
    if min_level in levels:
        return "unchanged"
    if levels:
        db.execute(
            """UPDATE subscriptions SET min_level = ? WHERE chat_id = ? AND country = ? AND sector = ? AND material = ?
               AND min_level = ?""",
            [min_level, *same, levels[0]],
        )
        return "updated"
    db.execute(
        """INSERT INTO subscriptions (chat_id, country, sector, material, min_level, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [*same, min_level, now],
    )
    return "added"


def subscriptions_of(db: Database, chat_id: int) -> list[Row]:
    """A chat's subscriptions, oldest first (the numbering /subscriptions shows)."""
    return list(db.query("SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", [chat_id]))


def remove_subscription(db: Database, chat_id: int, subscription_id: int) -> bool:
    """Remove one subscription of a chat; False when there was none."""
    cursor = db.execute("DELETE FROM subscriptions WHERE chat_id = ? AND id = ?", [chat_id, subscription_id])
    return cursor.rowcount > 0


def remove_all_subscriptions(db: Database, chat_id: int) -> int:
    """Remove every subscription of a chat; return how many."""
    return db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id]).rowcount


def set_digest(db: Database, chat_id: int, at: str | None, timezone: str | None) -> None:
    """Daily digest at a local time ('08:00'), or None for instant alerts; optionally the chat's time zone."""
    db.execute(
        "UPDATE subscribers SET digest_at = ?, timezone = COALESCE(?, timezone) WHERE chat_id = ?",
        [at, timezone, chat_id],
    )


def set_quiet(
    db: Database, chat_id: int, start: str | None, end: str | None, allow_banned: bool, timezone: str | None = None
) -> None:
    """Quiet hours as local 'HH:MM' start and end, or None for none; optionally the chat's time zone."""
    db.execute(
        """UPDATE subscribers SET quiet_start = ?, quiet_end = ?, quiet_allows_banned = ?,
               timezone = COALESCE(?, timezone) WHERE chat_id = ?""",
        [start, end, int(allow_banned), timezone, chat_id],
    )


def set_muted_until(db: Database, chat_id: int, until: str | None) -> None:
    """Hold alerts until this moment (ISO, UTC), or None to unmute."""
    db.execute("UPDATE subscribers SET muted_until = ? WHERE chat_id = ?", [until, chat_id])


def deactivate_subscriber(db: Database, chat_id: int, reason: str) -> None:
    """Stop sending to a chat (it blocked the bot, or the bot left it); its subscriptions are kept."""
    db.execute("UPDATE subscribers SET active = 0, deactivated_reason = ? WHERE chat_id = ?", [reason[:200], chat_id])


def move_subscriber(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: carry its settings and subscriptions over to the new id."""
    with db.atomic():
        db.execute(
            """INSERT OR IGNORE INTO subscribers (chat_id, chat_type, title, active, timezone, digest_at,
                   quiet_start, quiet_end, quiet_allows_banned, muted_until, created_at, language, language_chosen)
               SELECT ?, 'supergroup', title, 1, timezone, digest_at, quiet_start, quiet_end,
                   quiet_allows_banned, muted_until, created_at, language, language_chosen
               FROM subscribers WHERE chat_id = ?""",
            [new_chat_id, old_chat_id],
        )
        db.execute("UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?", [new_chat_id, old_chat_id])
        db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [old_chat_id])
        deactivate_subscriber(db, old_chat_id, f"migrated to {new_chat_id}")


def active_filters(db: Database) -> list[SubscriptionKey]:
    """Every distinct (country, sector, material, min_level) that an active chat subscribes to."""
    rows = db.execute(
        """SELECT DISTINCT s.country, s.sector, s.material, s.min_level FROM subscriptions s
           JOIN subscribers c ON c.chat_id = s.chat_id WHERE c.active = 1"""
    ).fetchall()
    return [(str(country), str(sector), str(material), int(level)) for country, sector, material, level in rows]


def load_filters(db: Database, filters: Iterable[SubscriptionKey]) -> None:
    """Put filters in the connection's temporary `matched_filters` table, for the fan-out queries to join."""
    with db.atomic():
        db.execute(
            """CREATE TEMP TABLE IF NOT EXISTS matched_filters (country TEXT, sector TEXT, material TEXT,
                   min_level INTEGER, PRIMARY KEY (country, sector, material, min_level))"""
        )
        db.execute("DELETE FROM temp.matched_filters")
        db.conn.executemany("INSERT OR IGNORE INTO temp.matched_filters VALUES (?, ?, ?, ?)", list(filters))
