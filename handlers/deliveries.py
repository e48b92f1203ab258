"""/failed (admins): the deliveries the bot gave up on, and the outbox at a glance."""

from __future__ import annotations

from telegram import Update

from bot.domain.html import esc
from handlers.context import Context, Services
from handlers.replies import refuse_unless_admin, reply_html
from storage.outbox import delivery_counts, failed_deliveries

FAILED_SHOWN = 20


def failed_answer(services: Services) -> str:
    """The latest failed deliveries and the count of deliveries in each state."""
    counts = delivery_counts(services.db)
    summary = ", ".join(f"{state} {count}" for state, count in sorted(counts.items())) or "empty"
    rows = failed_deliveries(services.db, FAILED_SHOWN)
    lines = [
        f"• #{row['id']} alert {row['alert_id']} ({esc(row['kind'])}) → chat {row['chat_id']}, "
        f"{row['attempts']} attempt(s): {esc(row['last_error'] or '?')}"
        for row in rows
    ]
    body = lines or ["No failed deliveries."]
    return "\n".join([f"<b>Outbox</b>: {esc(summary)}", "", "<b>Failed deliveries</b>", *body])


async def failed(update: Update, context: Context) -> None:
    """List failed deliveries (admins only)."""
    services = context.bot_data.services
    if await refuse_unless_admin(update, services.admins, "failed"):
        return
    await reply_html(update, failed_answer(services))
