"""End to end: a user subscribes in chat, a loopback source publishes a rare-earth tightening on Japan, and that
user — and no one subscribed elsewhere — receives the alert, through the real checks, outbox and delivery.

Who else could receive it is read from the outbox once the check has committed (the /checknow summary follows
the commit): the alert has one delivery, to the Japan-autos chat, so no other chat can ever get it."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from pathlib import Path

from jobs.sources import SourceSpec
from storage.db import open_database
from storage.outbox import delivery_counts
from tests.bot_harness import ADMIN, polling_bot
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer, Response

RSS = {"Content-Type": "application/rss+xml"}
JAPAN_AUTOS, US_GALLIUM, JAPAN_GALLIUM = 801, 802, 803
HEADLINE = "China halts rare-earth exports to Japan & tightens licence <reviews>"


def feed(*items: tuple[str, str, dt.datetime]) -> Response:
    """An RSS feed of (guid, title, published) items; titles escaped as XML."""
    entries = "".join(
        f"<item><title>{title.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</title>"
        f"<link>https://mofcom.example/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(published)}</pubDate></item>"
        for guid, title, published in items
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>MOFCOM</title>{entries}</channel></rss>'
    return Response(200, body, RSS)


def loopback_source(server: LoopbackServer) -> SourceSpec:
    """MOFCOM's feed, served by a loopback server at /feed."""
    return SourceSpec(
        id="mofcom-loopback", name="MOFCOM (loopback)", kind="rss", url=server.url("/feed"), every_seconds=3600,
        issuer="CN", allow_private=True, trust="official",
    )  # fmt: skip


async def test_a_subscriber_hears_of_a_tightening_on_japan_and_no_one_else_does(tmp_path: Path) -> None:
    old = dt.datetime(2020, 5, 1, tzinfo=dt.UTC)
    async with LoopbackServer({"/feed": feed(("old", "Trade fair opens in Guangzhou", old))}) as source_server:
        source = loopback_source(source_server)
        async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", [source]):
            api.user_says("/subscribe japan autos", chat_id=JAPAN_AUTOS)
            api.user_says("/subscribe us gallium", chat_id=US_GALLIUM)
            api.user_says("/subscribe japan gallium", chat_id=JAPAN_GALLIUM)
            for chat in (JAPAN_AUTOS, US_GALLIUM, JAPAN_GALLIUM):
                await api.wait_for_messages(chat, timeout=10)
            api.user_says("/checknow", chat_id=ADMIN)  # the source as it was: nothing new
            await api.wait_for_messages(ADMIN, count=2, timeout=15)  # "checking…", then the summary

            now = dt.datetime.now(dt.UTC)
            source_server.routes["/feed"] = feed(("new", HEADLINE, now), ("old", "Trade fair opens", old))
            api.user_says("/checknow", chat_id=ADMIN)
            await api.wait_for_messages(ADMIN, count=4, timeout=15)  # the second summary: the check has committed
            deliveries = read(
                tmp_path / "bot.db", "SELECT a.kind, d.chat_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
            )
            [_, alert] = await api.wait_for_messages(JAPAN_AUTOS, count=2, timeout=15)

    assert deliveries == [("status", JAPAN_AUTOS)]
    assert [len(api.messages_to(chat)) for chat in (JAPAN_AUTOS, US_GALLIUM, JAPAN_GALLIUM)] == [2, 1, 1]
    assert api.messages_to(US_GALLIUM)[0]["text"].startswith("✅ Subscribed to <b>United States · gallium</b>")
    assert api.messages_to(JAPAN_GALLIUM)[0]["text"].startswith("✅ Subscribed to <b>Japan · gallium</b>")
    text = alert["text"]
    assert alert["parse_mode"] == "HTML"
    assert text.startswith("🔴 <b>Tightened: China → Japan</b>\n🔴 Rare earths: normal → <b>restricted</b>\n")
    assert (
        '📰 <a href="https://mofcom.example/new">China halts rare-earth exports to Japan &amp; tightens licence '
        "&lt;reviews&gt;</a> — MOFCOM (loopback)"
    ) in text
    assert "📊 <b>Your exposure</b>\n• Japan · autos: " in text
    db = open_database(tmp_path / "bot.db", dt.datetime.now(dt.UTC))
    assert delivery_counts(db) == {"sent": 1}
    db.close()


def read(path: Path, query: str) -> list[tuple[object, ...]]:
    """Rows read through a connection of our own, as another process would see them."""
    db = open_database(path, dt.datetime.now(dt.UTC))
    try:
        return [tuple(row) for row in db.execute(query).fetchall()]
    finally:
        db.close()
