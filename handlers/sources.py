"""/sources, /latest [N] and the admins' /checknow [SOURCE]: what the bot watches and what it last saw."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence

from telegram import Update

from bot.domain import i18n
from bot.domain.html import esc, link
from bot.domain.i18n import N_, NP_, Words
from bot.domain.labels import DIRECTION_WORDS, level_name, word
from bot.domain.problems import Problem
from bot.domain.scripts import unread_script
from handlers.context import Context, Services, UsageError, chat_words, check_arguments
from handlers.replies import admin_in_private, refuse_unless_admin, reply_answer, reply_html, reply_problem
from storage.items import count_items, latest_items
from storage.rows import Row
from storage.signals import signals_of
from storage.sources import list_sources, reading_state

LATEST_USAGE = N_("Usage: /latest [N]") + "\n" + N_("Example: /latest 5")
CHECKNOW_USAGE = "Usage: /checknow [SOURCE]\nExample: /checknow mofcom-security-bureau"
LATEST_DEFAULT, LATEST_MAX = 10, 30
HEALTH_MARKS = {"ok": "🟢", "degraded": "🟡", "down": "🔴", "new": "⚪"}
HEALTH_WORDS = {
    "ok": NP_("health", "ok"),
    "degraded": NP_("health", "degraded"),
    "down": NP_("health", "down"),
    "new": NP_("health", "new"),
}


def _when(value: str | None, now: dt.datetime, w: Words, unset: str) -> str:
    if not value:
        return unset
    moment = dt.datetime.fromisoformat(value)
    minutes = int((moment - now).total_seconds() / 60)  # toward zero: ten seconds ago is now, not a minute ago
    if abs(minutes) < 1:
        return w._("now")
    if abs(minutes) < 120:
        span = w.ngettext("%(n)s min", "%(n)s min", abs(minutes))
    else:
        span = w.ngettext("%(n)s h", "%(n)s h", abs(minutes) // 60)
    return w._("in %(span)s", span=span) if minutes > 0 else w._("%(span)s ago", span=span)


def reading_line(services: Services, w: Words) -> str:
    """How fresh an answer's live part is: when the sources were last read, or that none has been yet."""
    state = reading_state(services.db, services.watched)
    if state.last_success is None:
        text = w._("No source has been read yet: this answer rests on the bundled record of measures alone.")
    else:
        when = _when(state.last_success, services.clock(), w, w._("never"))
        text = w._(
            "Sources: %(healthy)s of %(total)s healthy, last read %(when)s (/sources).",
            healthy=w.number(state.healthy), total=w.number(state.total), when=when,
        )  # fmt: skip
    return f"<i>{text}</i>"


def _source_line(row: Row, items: int, now: dt.datetime, detail: bool, w: Words) -> str:
    mark = HEALTH_MARKS.get(row["health"], "⚪")
    line = w._(
        "%(mark)s <b>%(source)s</b> %(health)s: last success %(success)s, %(items)s, next check %(next)s",
        mark=mark,
        source=esc(row["id"]),
        health=word(w, HEALTH_WORDS, row["health"]),
        success=_when(row["last_success_at"], now, w, w._("never")),
        items=w.ngettext("%(n)s item", "%(n)s items", items),
        next=_when(row["next_check_at"], now, w, w._("soon")),
    )
    if row["last_error"]:
        # The reason names addresses, ports and what answered there: for admins only, so that /sources
        # cannot be used to probe the network the bot sits in.
        reason = esc(row["last_error"]) if detail else w._("the last check failed")
        failures = row["consecutive_failures"]
        line += "\n    " + w._("last error: %(reason)s (%(count)s in a row)", reason=reason, count=failures)
    return line


def sources_answer(services: Services, *, detail: bool = False, w: Words | None = None) -> str:
    """The HTML reply to /sources; detail shows each failing source's reason (for admins)."""
    w = w or i18n.words()
    rows = list_sources(services.db, services.watched)
    if not rows:
        return w._("No sources have been checked yet.")
    counts = count_items(services.db)
    now = services.clock()
    lines = [_source_line(row, counts.get(row["id"], 0), now, detail, w) for row in rows]
    return "\n".join([w._("<b>Sources</b> (%(count)s)", count=len(rows)), *lines])


def latest_answer(services: Services, args: Sequence[str], w: Words | None = None) -> str:
    """The HTML reply to /latest [N]: titles and sources as published."""
    w = w or i18n.words()
    words = check_arguments(args, LATEST_USAGE)
    if len(words) > 1 or (words and not (words[0].isascii() and words[0].isdecimal())):
        raise UsageError(LATEST_USAGE)
    limit = int(words[0]) if words else LATEST_DEFAULT
    if not 1 <= limit <= LATEST_MAX:
        raise UsageError(f"{N_('N must be from 1 to 30.')}\n{LATEST_USAGE}")  # 30: LATEST_MAX
    items = latest_items(services.db, limit)
    if not items:
        return w._("No items yet: sources are checked on their schedule (/sources).")
    lines = [
        f"• {w.date(item['published_at'] or item['fetched_at'])} {link(item['title'], item['link'])} "
        f"<i>({esc(item['source_name'] or item['source_id'])})</i>{reading_note(services, item, w)}"
        for item in items
    ]
    heading = w.ngettext("Latest %(n)s item", "Latest %(n)s items", len(items))
    return "\n".join([f"<b>{heading}</b>", *lines])


def reading_note(services: Services, item: Row, w: Words | None = None) -> str:
    """What measuring made of an item: its signal, or that its script is not read (kept, never guessed)."""
    w = w or i18n.words()
    script = unread_script(item["title"])
    if script is not None:
        return " — <i>" + w._("not read (%(script)s script)", script=esc(script)) + "</i>"
    signals = signals_of(services.db, int(item["id"]))
    if not signals:
        return ""
    first = signals[0]
    targets = w.listing(sorted({s["target"] for s in signals}))
    direction = word(w, DIRECTION_WORDS, str(first["direction"]))
    return f" — {esc(direction)} {level_name(w, first['level'])} → {esc(targets)}"


async def sources(update: Update, context: Context) -> None:
    """Answer /sources: failure reasons in detail for an admin in a private chat only."""
    services = context.bot_data.services
    detail = admin_in_private(update, services.admins)
    await reply_html(update, sources_answer(services, detail=detail, w=chat_words(update, services)))


async def latest(update: Update, context: Context) -> None:
    """Answer /latest [N]."""
    services = context.bot_data.services
    w = chat_words(update, services)
    await reply_answer(update, lambda: latest_answer(services, context.args or [], w), w=w)


async def checknow(update: Update, context: Context) -> None:
    """Check every source, or one, now (admins only)."""
    services = context.bot_data.services
    w = chat_words(update, services)
    if await refuse_unless_admin(update, services.admins, "checknow", w):
        return
    try:
        wanted = _checknow_arguments(services, context.args or [])
    except (UsageError, Problem) as problem:
        await reply_problem(update, problem, w=w)
        return
    check_now = services.check_now
    if check_now is None:
        await reply_html(update, w._("Checking is not running in this process."))
        return
    if wanted:
        text = w._("Checking %(sources)s now; the summary follows.", sources=esc(w.listing(wanted)))
    else:
        text = w._("Checking every source now; the summary follows.")
    await reply_html(update, text)

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
        raise Problem(
            "unknown source '%(text)s'. Closest: %(names)s. Usage: /checknow [SOURCE]",
            text=words[0][:40],
            names=", ".join(closest) or "—",
        )
    return words
