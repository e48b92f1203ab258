"""The schema, as numbered migrations recorded in the database; safe to re-apply at every start."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.database import Database


MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "initial schema",
        (
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE sources (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
                every_seconds INTEGER NOT NULL,
                etag TEXT, last_modified TEXT, fingerprint TEXT,
                last_checked_at TEXT, last_success_at TEXT, next_check_at TEXT,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                health TEXT NOT NULL DEFAULT 'new', last_error TEXT,
                items_seen INTEGER NOT NULL DEFAULT 0)""",
            """CREATE TABLE items (
                id INTEGER PRIMARY KEY, source_id TEXT NOT NULL, guid TEXT NOT NULL,
                title TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '', link TEXT,
                published_at TEXT, fetched_at TEXT NOT NULL,
                UNIQUE (source_id, guid))""",
            "CREATE INDEX items_by_fetched ON items (fetched_at DESC, id DESC)",
            """CREATE TABLE signals (
                id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items (id),
                issuer TEXT, target TEXT NOT NULL, material TEXT NOT NULL,
                level INTEGER NOT NULL, direction TEXT NOT NULL,
                evidence TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL)""",
            "CREATE INDEX signals_by_item ON signals (item_id)",
            """CREATE TABLE statuses (
                issuer TEXT NOT NULL, target TEXT NOT NULL, material TEXT NOT NULL,
                level INTEGER NOT NULL, since TEXT NOT NULL,
                title TEXT NOT NULL, source TEXT NOT NULL, url TEXT, item_id INTEGER, until TEXT,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (issuer, target, material))""",
            """CREATE TABLE status_changes (
                id INTEGER PRIMARY KEY, issuer TEXT NOT NULL, target TEXT NOT NULL, material TEXT NOT NULL,
                old_level INTEGER NOT NULL, new_level INTEGER NOT NULL, direction TEXT NOT NULL,
                at TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL, url TEXT,
                item_id INTEGER, until TEXT, origin TEXT NOT NULL)""",
            "CREATE INDEX status_changes_by_target ON status_changes (target, at DESC)",
            "CREATE INDEX status_changes_by_material ON status_changes (material, at DESC)",
            "CREATE INDEX status_changes_by_key ON status_changes (issuer, target, material, id DESC)",
            """CREATE TABLE baseline_events (
                key TEXT PRIMARY KEY, date TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
                url TEXT, applied_at TEXT NOT NULL)""",
            """CREATE TABLE subscribers (
                chat_id INTEGER PRIMARY KEY, chat_type TEXT NOT NULL DEFAULT 'private', title TEXT,
                active INTEGER NOT NULL DEFAULT 1, deactivated_reason TEXT,
                timezone TEXT NOT NULL DEFAULT 'UTC', digest_at TEXT,
                quiet_start TEXT, quiet_end TEXT, quiet_allows_banned INTEGER NOT NULL DEFAULT 0,
                muted_until TEXT, created_at TEXT NOT NULL)""",
            """CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL REFERENCES subscribers (chat_id),
                country TEXT NOT NULL, sector TEXT NOT NULL DEFAULT '', material TEXT NOT NULL DEFAULT '',
                min_level INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
                UNIQUE (chat_id, country, sector, material, min_level))""",
            "CREATE INDEX subscriptions_by_country ON subscriptions (country)",
            """CREATE TABLE alerts (
                id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                severity TEXT NOT NULL, created_at TEXT NOT NULL, payload TEXT NOT NULL)""",
            """CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts (id),
                chat_id INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL,
                last_error TEXT, sent_at TEXT,
                UNIQUE (alert_id, chat_id))""",
            "CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at)",
        ),
    ),
    (
        2,
        "delivery modes, parts and claims",
        (
            "ALTER TABLE deliveries ADD COLUMN mode TEXT NOT NULL DEFAULT 'instant'",
            "ALTER TABLE deliveries ADD COLUMN detail TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE deliveries ADD COLUMN plain INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE deliveries ADD COLUMN claimed_at TEXT",
            "CREATE INDEX deliveries_by_chat ON deliveries (chat_id, state)",
            "CREATE INDEX deliveries_digest_due ON deliveries (next_attempt_at)"
            " WHERE state = 'pending' AND mode = 'digest'",
            "CREATE INDEX subscriptions_by_chat ON subscriptions (chat_id)",
        ),
    ),
    (
        3,
        "why a delivery is held",
        (
            # 'digest', or 'mute' and/or 'quiet' (comma-separated); NULL when nothing of the chat's holds it
            "ALTER TABLE deliveries ADD COLUMN held_by TEXT",
            "UPDATE deliveries SET held_by = 'digest' WHERE state = 'pending' AND mode = 'digest'",
        ),
    ),
    (
        4,
        "effective levels in the history",
        (
            # What the change did to its target's effective level (own, bloc's or ALL's; material or group),
            # which is what people act on; NULL for rows written before this migration.
            "ALTER TABLE status_changes ADD COLUMN effective_old INTEGER",
            "ALTER TABLE status_changes ADD COLUMN effective_new INTEGER",
        ),
    ),
    (
        5,
        "who holds a delivery's claim",
        (
            # The worker (host:pid:token) that claimed a delivery being sent: its claim is honoured while the
            # lease on claimed_at runs and that worker lives, and only it settles the delivery.
            "ALTER TABLE deliveries ADD COLUMN claimed_by TEXT",
            "CREATE INDEX deliveries_claims ON deliveries (claimed_at) WHERE state = 'sending'",
        ),
    ),
    (
        6,
        "one key's history in time order",
        (
            # Moves read the latest changes of one (issuer, target, material) by time: the level before a rise,
            # whether the same easing was just seen.
            "CREATE INDEX status_changes_by_key_and_time"
            " ON status_changes (issuer, target, material, at DESC, id DESC)",
        ),
    ),
    (
        7,
        "measures, not levels; ladder v2",
        (
            # Measures are the source of truth (docs/ARCHITECTURE.md, "Measures"); statuses are derived from them.
            """CREATE TABLE measures (
                id TEXT PRIMARY KEY, issuer TEXT NOT NULL, instrument TEXT, title TEXT NOT NULL,
                source TEXT NOT NULL, url TEXT, targets TEXT NOT NULL, materials TEXT NOT NULL,
                end_use TEXT NOT NULL DEFAULT 'any', level INTEGER NOT NULL,
                provenance TEXT NOT NULL DEFAULT 'official', announced TEXT NOT NULL, effective TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'in_force', until TEXT, state_since TEXT,
                origin TEXT NOT NULL DEFAULT 'live', sources TEXT NOT NULL DEFAULT '[]', updated_at TEXT NOT NULL)""",
            """CREATE TABLE measure_events (
                id INTEGER PRIMARY KEY, measure_id TEXT NOT NULL REFERENCES measures (id), at TEXT NOT NULL,
                kind TEXT NOT NULL, state TEXT, until TEXT, title TEXT NOT NULL, source TEXT NOT NULL,
                url TEXT, item_id INTEGER, actor TEXT)""",
            # What each measure names, one row per (target, material): how a live item finds the measures it bears on.
            """CREATE TABLE measure_keys (
                measure_id TEXT NOT NULL REFERENCES measures (id), issuer TEXT NOT NULL, target TEXT NOT NULL,
                material TEXT NOT NULL, PRIMARY KEY (measure_id, target, material))""",
            "CREATE INDEX measure_keys_by_key ON measure_keys (issuer, material, target)",
            "CREATE INDEX measures_suspended ON measures (until) WHERE state = 'suspended'",
            "CREATE INDEX measure_events_by_measure ON measure_events (measure_id, at DESC)",
            "CREATE INDEX measure_events_by_time ON measure_events (at DESC, id DESC)",
            # Ladder v2: licensing is 2, review 3 (they swap) in the history and in what live items had set.
            "UPDATE status_changes SET old_level = CASE old_level WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE old_level END,"
            " new_level = CASE new_level WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE new_level END,"
            " effective_old = CASE effective_old WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE effective_old END,"
            " effective_new = CASE effective_new WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE effective_new END",
            "UPDATE signals SET level = CASE level WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE level END",
            # What live items had set becomes a reported measure each (the baseline's come back from its file).
            """INSERT INTO measures (id, issuer, instrument, title, source, url, targets, materials, end_use, level,
                   provenance, announced, effective, state, origin, updated_at)
               SELECT 'MIGRATED-' || issuer || '-' || target || '-' || material, issuer, NULL, title, source, url,
                   json_array(target), json_array(material), 'any',
                   CASE level WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE level END, 'reported', substr(since, 1, 10),
                   substr(since, 1, 10), 'in_force', 'migrated', updated_at
               FROM statuses WHERE item_id IS NOT NULL AND level > 0 AND until IS NULL""",
            """INSERT INTO measure_keys (measure_id, issuer, target, material)
               SELECT id, issuer, json_extract(targets, '$[0]'), json_extract(materials, '$[0]') FROM measures""",
            "DROP TABLE statuses",
            """CREATE TABLE statuses (
                issuer TEXT NOT NULL, target TEXT NOT NULL, material TEXT NOT NULL,
                end_use TEXT NOT NULL DEFAULT 'any', level INTEGER NOT NULL, since TEXT NOT NULL,
                title TEXT NOT NULL, source TEXT NOT NULL, url TEXT, item_id INTEGER, until TEXT,
                measure TEXT, provenance TEXT NOT NULL DEFAULT 'official', effective TEXT, lapsed TEXT,
                instrument TEXT, updated_at TEXT NOT NULL,
                PRIMARY KEY (issuer, target, material, end_use))""",
            "ALTER TABLE status_changes ADD COLUMN end_use TEXT NOT NULL DEFAULT 'any'",
            "ALTER TABLE status_changes ADD COLUMN measure TEXT",
            "ALTER TABLE status_changes ADD COLUMN provenance TEXT NOT NULL DEFAULT 'official'",
        ),
    ),
    (
        8,
        "heartbeats for the health check",
        # start, poll (a getUpdates answered) and check (a check finished): `chokepoint health` reads them.
        ("CREATE TABLE heartbeats (name TEXT PRIMARY KEY, at TEXT NOT NULL)",),
    ),
    (
        9,
        "the desk: readings a person confirms or dismisses",
        (
            # kind: 'unconfirmed' (a reported restriction or ban from one source) or 'easing' (an easing of an
            # official measure seen only from press or aggregators, held until confirmed). state: pending,
            # confirmed, dismissed, corroborated (a second source or an official one confirmed it).
            """CREATE TABLE desk_items (
                id INTEGER PRIMARY KEY, kind TEXT NOT NULL, measure_id TEXT, measurement TEXT NOT NULL DEFAULT '{}',
                title TEXT NOT NULL, source TEXT NOT NULL, url TEXT, item_id INTEGER,
                state TEXT NOT NULL DEFAULT 'pending', decided_by TEXT, decided_at TEXT, created_at TEXT NOT NULL)""",
            "CREATE INDEX desk_items_pending ON desk_items (created_at) WHERE state = 'pending'",
            "CREATE INDEX desk_items_by_measure ON desk_items (measure_id)",
        ),
    ),
    (
        10,
        "each chat's language",
        # language: 'en', 'ja' or 'zh', or NULL for English. language_chosen: 1 once the chat chose with /language;
        # until then a private chat follows its user's Telegram language_code.
        (
            "ALTER TABLE subscribers ADD COLUMN language TEXT",
            "ALTER TABLE subscribers ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    (
        11,
        "no index of items by the time they were fetched",
        # No query reads items in that order (the newest come by publication, else arrival: an expression no index
        # of the column serves), and keeping it up was a sixth of the pages a cold check writes to the log: new
        # entries of a descending index go to its left edge, where every insert splits pages.
        ("DROP INDEX items_by_fetched",),
    ),
    (
        12,
        "a bundled report's first event says reported",
        # The baseline recorded every bundled measure's first event as 'announced', so /history said a press
        # report was announced; live reports were recorded as 'reported' all along (jobs/baseline.py).
        (
            """UPDATE measure_events SET kind = 'reported'
               WHERE kind = 'announced' AND measure_id IN (
                   SELECT id FROM measures WHERE origin = 'baseline' AND provenance = 'reported')""",
        ),
    ),
    (
        13,
        "the desk hears of a held easing once",
        # The sources that reported a held easing again while it waited (a JSON array of their names): the desk
        # got an item and a message for every report of the same easing, one per outlet that carried the news.
        ("ALTER TABLE desk_items ADD COLUMN also_reported_by TEXT NOT NULL DEFAULT '[]'",),
    ),
    (
        14,
        "a desk item's further reports in a table of their own",
        # One row a report, one insert: the JSON array of migration 13 was rewritten, and read back, whole at every
        # report, and an easing the whole press carries gathers hundreds of names.
        (
            """CREATE TABLE desk_reports (
                desk_item_id INTEGER NOT NULL REFERENCES desk_items (id), source TEXT NOT NULL, at TEXT NOT NULL,
                PRIMARY KEY (desk_item_id, source)) WITHOUT ROWID""",
            """INSERT OR IGNORE INTO desk_reports (desk_item_id, source, at)
               SELECT desk_items.id, json_each.value, desk_items.created_at
               FROM desk_items, json_each(desk_items.also_reported_by)""",
            "ALTER TABLE desk_items DROP COLUMN also_reported_by",
        ),
    ),
)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Chokepoint; the message names both schema versions."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database is at schema version {found}, newer than this Chokepoint knows (version {known}): "
            "run the newer Chokepoint that wrote it, or restore a backup made by this one"
        )
        self.found = found
        self.known = known


def schema_version() -> int:
    """The schema version this code writes: the number of its last migration."""
    return MIGRATIONS[-1][0]


def refuse_a_newer_schema(newest: int | None) -> None:
    """SchemaTooNew when NEWEST, the last migration a database recorded, is one this code does not know."""
    if newest is not None and newest > schema_version():
        raise SchemaTooNew(newest, schema_version())


def newest_migration(connection: sqlite3.Connection) -> int | None:
    """The last migration a database recorded, read without writing it (`applied_migrations` makes the table);
    None before any."""
    try:
        newest: int | None = connection.execute("SELECT max(number) FROM migrations").fetchone()[0]
    except sqlite3.OperationalError:  # no migrations table
        return None
    return newest


def applied_migrations(db: Database) -> set[int]:
    """The numbers of the migrations this database has recorded."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations"
        " (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    return {row[0] for row in db.execute("SELECT number FROM migrations").fetchall()}


def migrate(db: Database, now: dt.datetime) -> list[int]:
    """Apply the migrations not yet recorded, each in its own transaction; return their numbers.

    A database that has recorded a migration this code does not know is refused before anything is written:
    a newer Chokepoint's tables may mean what this one cannot read or keep.
    """
    done = applied_migrations(db)
    refuse_a_newer_schema(max(done, default=None))
    applied = []
    for number, name, statements in MIGRATIONS:
        if number in done:
            continue
        with db.atomic():
            for statement in statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, ?)",
                [number, name, now.isoformat()],
            )
        applied.append(number)
    return applied
