"""/failed (admins): the deliveries the bot gave up on, and the outbox at a glance."""

from __future__ import annotations

from telegram import Update

from bot.domain.html import esc
from bot.domain.i18n import Words, words
from handlers.context import Context, Services, chat_words
from handlers.replies import refuse_unless_admin, reply_html
from storage.outbox import delivery_counts, failed_deliveries

FAILED_SHOWN = 20


def failed_answer(services: Services, w: Words | None = None) -> str:
    """The latest failed deliveries and the count of deliveries in each state."""
    w = w or words()
    counts = delivery_counts(services.db)
    summary = ", ".join(f"{state} {count}" for state, count in sorted(counts.items())) or w._("empty")
    rows = failed_deliveries(services.db, FAILED_SHOWN)
    lines = [
        "• " + w.ngettext(
            "#%(id)s alert %(alert)s (%(kind)s) → chat %(chat)s, %(n)s attempt: %(error)s",
            "#%(id)s alert %(alert)s (%(kind)s) → chat %(chat)s, %(n)s attempts: %(error)s",
            int(row["attempts"]), id=row["id"], alert=row["alert_id"], kind=esc(row["kind"]), chat=row["chat_id"],
            error=esc(row["last_error"] or "?"),
        )
        for row in rows
    ]  # fmt: skip
    body = lines or [w._("No failed deliveries.")]
    heading = w._("<b>Outbox</b>: %(summary)s", summary=esc(summary))
    return "\n".join([heading, "", w._("<b>Failed deliveries</b>"), *body])


async def failed(update: Update, context: Context) -> None:
    """List failed deliveries (admins only)."""
    services = context.bot_data.services
    w = chat_words(update, services)
    if await refuse_unless_admin(update, services.admins, "failed", w):
        return
    await reply_html(update, failed_answer(services, w))
