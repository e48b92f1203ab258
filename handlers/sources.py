"""/sources, /latest [N] and the admins' /checknow [SOURCE]: what the bot watches and what it last saw."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence

from telegram import Update

from bot.domain.html import counted, esc, link
from bot.domain.ladder import Level
from bot.domain.scripts import unread_script
from handlers.context import Context, Services, UsageError, check_arguments
from handlers.replies import admin_in_private, refuse_unless_admin, reply_answer, reply_html, reply_problem
from storage.items import count_items, latest_items
from storage.rows import Row
from storage.signals import signals_of
from storage.sources import list_sources

LATEST_USAGE = "Usage: /latest [N]\nExample: /latest 5"
CHECKNOW_USAGE = "Usage: /checknow [SOURCE]\nExample: /checknow mofcom-security-bureau"
LATEST_DEFAULT, LATEST_MAX = 10, 30
HEALTH_MARKS = {"ok": "🟢", "degraded": "🟡", "down": "🔴", "new": "⚪"}


def _when(value: str | None, now: dt.datetime, unset: str = "never") -> str:
    if not value:
        return unset
    moment = dt.datetime.fromisoformat(value)
    minutes = int((moment - now).total_seconds() // 60)
    if abs(minutes) < 1:
        return "now"
    span = f"{abs(minutes)} min" if abs(minutes) < 120 else f"{abs(minutes) // 60} h"
    return f"in {span}" if minutes > 0 else f"{span} ago"


def _source_line(row: Row, items: int, now: dt.datetime, detail: bool) -> str:
    mark = HEALTH_MARKS.get(row["health"], "⚪")
    line = (
        f"{mark} <b>{esc(row['id'])}</b> {row['health']}: last success {_when(row['last_success_at'], now)}, "
        f"{items} items, next check {_when(row['next_check_at'], now, 'soon')}"
    )
    if row["last_error"]:
        # The reason names addresses, ports and what answered there: for admins only, so that /sources
        # cannot be used to probe the network the bot sits in.
        reason = esc(row["last_error"]) if detail else "the last check failed"
        line += f"\n    last error: {reason} ({row['consecutive_failures']} in a row)"
    return line


def sources_answer(services: Services, *, detail: bool = False) -> str:
    """The HTML reply to /sources; detail shows each failing source's reason (for admins)."""
    rows = list_sources(services.db, services.watched)
    if not rows:
        return "No sources have been checked yet."
    counts = count_items(services.db)
    now = services.clock()
    lines = [_source_line(row, counts.get(row["id"], 0), now, detail) for row in rows]
    return "\n".join([f"<b>Sources</b> ({len(rows)})", *lines])


def latest_answer(services: Services, args: Sequence[str]) -> str:
    """The HTML reply to /latest [N]."""
    words = check_arguments(args, LATEST_USAGE)
    if len(words) > 1 or (words and not (words[0].isascii() and words[0].isdecimal())):
        raise UsageError(LATEST_USAGE)
    limit = int(words[0]) if words else LATEST_DEFAULT
    if not 1 <= limit <= LATEST_MAX:
        raise UsageError(f"N must be from 1 to {LATEST_MAX}.\n{LATEST_USAGE}")
    items = latest_items(services.db, limit)
    if not items:
        return "No items yet: sources are checked on their schedule (/sources)."
    lines = [
        f"• {(item['published_at'] or item['fetched_at'])[:10]} {link(item['title'], item['link'])} "
        f"<i>({esc(item['source_name'] or item['source_id'])})</i>{reading_note(services, item)}"
        for item in items
    ]
    return "\n".join([f"<b>Latest {counted(len(items), 'item')}</b>", *lines])


def reading_note(services: Services, item: Row) -> str:
    """What measuring made of an item: its signal, or that its script is not read (kept, never guessed)."""
    script = unread_script(item["title"])
    if script is not None:
        return f" — <i>not read ({esc(script)} script)</i>"
    signals = signals_of(services.db, int(item["id"]))
    if not signals:
        return ""
    first = signals[0]
    targets = sorted({s["target"] for s in signals})
    return f" — {esc(first['direction'])} {Level(first['level']).label} → {esc(', '.join(targets))}"


async def sources(update: Update, context: Context) -> None:
    """Answer /sources: failure reasons in detail for an admin in a private chat only."""
    services = context.bot_data.services
    await reply_html(update, sources_answer(services, detail=admin_in_private(update, services.admins)))


async def latest(update: Update, context: Context) -> None:
    """Answer /latest [N]."""
    await reply_answer(update, lambda: latest_answer(context.bot_data.services, context.args or []))


async def checknow(update: Update, context: Context) -> None:
    """Check every source, or one, now (admins only)."""
    services = context.bot_data.services
    if await refuse_unless_admin(update, services.admins, "checknow"):
        return
    try:
        wanted = _checknow_arguments(services, context.args or [])
    except UsageError as problem:
        await reply_problem(update, problem)
        return
    check_now = services.check_now
    if check_now is None:
        await reply_html(update, "Checking is not running in this process.")
        return
    what = ", ".join(wanted) if wanted else "every source"
    await reply_html(update, f"Checking {esc(what)} now; the summary follows.")

    async def check_and_report() -> None:
        lines = await check_now(wanted)
        await reply_html(update, "\n".join(esc(line) for line in lines))

    # A check can take a minute (slow sources, retries): run it beside the chats, not in their way.
    context.application.create_task(check_and_report(), update=update)


def _checknow_arguments(services: Services, args: Sequence[str]) -> list[str] | None:
    words = check_arguments(args, CHECKNOW_USAGE)
    if not words:
        return None
    known = [row["id"] for row in list_sources(services.db, services.watched)]
    if len(words) > 1 or words[0] not in known:
        closest = difflib.get_close_matches(words[0], known, n=3, cutoff=0.3)
        hint = f" Closest: {', '.join(closest)}." if closest else ""
        raise UsageError(f"unknown source '{words[0][:40]}'.{hint}\n{CHECKNOW_USAGE}")
    return words
