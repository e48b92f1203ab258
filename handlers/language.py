"""/language en|ja|zh, and the language every reply of a chat is written in.

A chat that chose with /language is answered in its language; until then a private chat follows its user's Telegram
`language_code` (ja → Japanese, zh → Chinese, else English) and a group reads English. In a group only its
administrators choose.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.i18n import LANGUAGE_NAMES, LANGUAGES, Words, parse_language, words
from handlers.chat_rights import refuse_non_admin
from handlers.context import Context, chat_words
from handlers.replies import reply_html
from storage.outbox import stamp
from storage.subscribers import set_language


def choices(w: Words) -> str:
    """The three choices, each with its own name."""
    listed = "\n".join(f"<code>/language {code}</code> — {LANGUAGE_NAMES[code]}" for code in LANGUAGES)
    return w._("Choose the language of this chat's replies and alerts:") + "\n" + listed


async def language(update: Update, context: Context) -> None:
    """Answer /language [en|ja|zh]: show the chat's language and the choices, or choose one."""
    services, chat = context.bot_data.services, update.effective_chat
    w = chat_words(update, services)
    args = context.args or []
    if chat is None:
        return
    if not args:
        current = w._("This chat reads %(language)s.", language=LANGUAGE_NAMES[w.language])
        await reply_html(update, f"{current}\n{choices(w)}")
        return
    chosen = parse_language(" ".join(args)) if len(args) == 1 else None
    if chosen is None:
        await reply_html(update, choices(w))
        return
    if await refuse_non_admin(update, context, "/language", w):  # the rule of subscriptions: group admins only
        return
    set_language(services.db, chat.id, chat.type, chat.title, chosen, stamp(services.clock()))
    chosen_words = words(chosen)
    await reply_html(update, chosen_words._("This chat now reads %(language)s.", language=LANGUAGE_NAMES[chosen]))
