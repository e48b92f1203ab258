"""The desk: an unsure reading goes to a person. A reported restriction or ban from one source is alerted as
unconfirmed and put to the desk with Confirm and Dismiss; a second source or an official one settles it without a
person; an easing of an official measure seen only from the press waits for the desk."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, replace
from email.utils import format_datetime
from pathlib import Path

from sqlite_utils import Database

from bot.domain.alert_text import alert_buttons, alert_message
from bot.domain.desk import desk_list
from bot.domain.knowledge import ExposureTable
from bot.domain.ladder import Level
from bot.domain.measure import Measurement
from bot.domain.measures import Measure
from bot.domain.rules import load_rules
from bot.domain.status import Status, StatusBook
from bot.domain.vocab import Vocabulary
from jobs.alerts import AlertContext
from jobs.baseline import apply_baseline
from jobs.check import NewItem
from jobs.desk import decide
from jobs.measures import apply_lapses, measurement_from_json, measurement_json
from jobs.pipeline import MeasuringSink
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.desk import add_desk_item, get_desk_item, pending_desk_items
from storage.items import insert_new_items
from storage.outbox import get_alert
from storage.schema import migrate
from storage.statuses import current_statuses
from storage.subscribers import add_subscription, save_subscriber
from tests.bot_harness import ADMIN, polling_bot
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer, Response
from tests.storage_reads import database_at_version

DESK = (70,)
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
REPORT = "China halts dysprosium export licences for Germany, sources say"


def source(id_: str, trust: str) -> SourceSpec:
    return SourceSpec(id=id_, name=id_.capitalize(), kind="rss", url="http://127.0.0.1/", every_seconds=600,
                      issuer="CN", trust=trust)  # fmt: skip


def check(
    db: Database, vocabulary: Vocabulary, table: ExposureTable, title: str, spec: SourceSpec,
    when: dt.datetime = NOW,
) -> None:  # fmt: skip
    row = {"guid": f"{spec.id}:{title}", "title": title, "summary": "", "link": None, "published_at": None}
    [stored] = insert_new_items(db, spec.id, [row], when.isoformat())
    item = NewItem(int(stored["id"]), spec, title, "", None, when, fresh=True)
    with db.atomic():
        MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, table, DESK))(db, [item], when)


def subscribed_db(chats: dict[int, tuple[str, str]]) -> Database:
    db = open_database(":memory:", NOW)
    for chat_id, (country, material) in chats.items():
        save_subscriber(db, chat_id, "private", None, "UTC", NOW.isoformat())
        add_subscription(db, chat_id, country, "", material, 0, NOW.isoformat())
    return db


def level(db: Database, vocabulary: Vocabulary, country: str, material: str) -> Level:
    return StatusBook([Status.from_row(r) for r in current_statuses(db)], vocabulary).level(country, material)


def chats_of_kind(db: Database, kind: str) -> list[int]:
    sql = "SELECT d.chat_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.kind = ? ORDER BY 1"
    return [row[0] for row in db.execute(sql, [kind]).fetchall()]


def test_a_reported_ban_from_one_source_is_alerted_as_unconfirmed_and_put_to_the_desk(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db = subscribed_db({1: ("DE", "dysprosium"), 2: ("ALL", "dysprosium")})
    check(db, vocabulary, table, REPORT, source("wire", "press"))
    assert chats_of_kind(db, "status") == [1, 2]  # Germany's own, and all destinations' (the target's levels)
    [item] = pending_desk_items(db)
    assert (item["kind"], item["source"]) == ("unconfirmed", "Wire")
    assert chats_of_kind(db, "desk") == list(DESK)
    [desk_alert] = [get_alert(db, row[0]) for row in db.execute("SELECT id FROM alerts WHERE kind = 'desk'")]
    assert desk_alert is not None
    assert alert_buttons("desk", desk_alert["payload"]) == (
        ("✅ Confirm", f"desk:confirmed:{item['id']}"), ("🗑 Dismiss", f"desk:dismissed:{item['id']}")
    )  # fmt: skip
    assert "For the desk: tighten restricted" in alert_message("desk", desk_alert["payload"])


def test_dismiss_withdraws_the_measure_and_corrects_every_chat_that_got_the_alert_once(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db = subscribed_db({1: ("DE", "dysprosium"), 3: ("EU", "dysprosium")})
    check(db, vocabulary, table, REPORT, source("wire", "press"))
    assert level(db, vocabulary, "DE", "dysprosium") == Level.RESTRICTED
    [item] = pending_desk_items(db)
    context = AlertContext(vocabulary, table, DESK)
    first = decide(db, item["id"], "dismissed", "@editor (70)", context, NOW)
    again = decide(db, item["id"], "confirmed", "@other (71)", context, NOW)
    assert (first.decided, first.state) == (True, "dismissed")
    assert (again.decided, again.state, again.by) == (False, "dismissed", "@editor (70)")
    assert level(db, vocabulary, "DE", "dysprosium") == Level.NORMAL
    assert db.execute("SELECT state FROM measures").fetchall() == [("withdrawn",)]
    assert chats_of_kind(db, "correction") == chats_of_kind(db, "status") == [1]
    assert chats_of_kind(db, "status") == [1]  # no "eased" alert: nothing eased, the reading was wrong


def test_confirm_records_who_confirmed(vocabulary: Vocabulary, table: ExposureTable) -> None:
    db = subscribed_db({})
    check(db, vocabulary, table, REPORT, source("wire", "press"))
    [item] = pending_desk_items(db)
    decide(db, item["id"], "confirmed", "@editor (70)", AlertContext(vocabulary, table, DESK), NOW)
    assert get_desk_item(db, item["id"])["decided_by"] == "@editor (70)"  # type: ignore[index]
    assert db.execute("SELECT kind, actor FROM measure_events WHERE kind = 'confirmed'").fetchall() == [
        ("confirmed", "@editor (70)")
    ]


def test_a_second_independent_source_or_an_official_one_settles_it_without_a_person(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db = subscribed_db({})
    check(db, vocabulary, table, REPORT, source("wire", "press"))
    check(db, vocabulary, table, "China has halted dysprosium export licences for Germany, sources say",
          source("press", "press"))  # fmt: skip
    [item] = db.execute("SELECT state, decided_by FROM desk_items").fetchall()
    assert item == ("corroborated", "second source: Press")
    other = subscribed_db({})
    check(other, vocabulary, table, REPORT, source("wire", "press"))
    check(other, vocabulary, table, "MOFCOM halts dysprosium export licences for Germany", source("mofcom", "official"))
    assert other.execute("SELECT state, decided_by FROM desk_items").fetchall() == [
        ("corroborated", "official source: Mofcom")
    ]
    assert other.execute("SELECT provenance FROM measures").fetchall() == [("official",)]


def test_an_easing_of_an_official_measure_from_an_aggregator_waits_for_the_desk(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    late = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)  # the US ban in force again since 2026-11-28
    db = subscribed_db({5: ("US", "gallium")})
    apply_baseline(db, baseline, late, vocabulary)
    with db.atomic():
        apply_lapses(db, vocabulary, late)
    history = db.execute("SELECT count(*) FROM status_changes").fetchone()[0]
    easing = "China lifts the ban on gallium exports to the US, blog says"
    check(db, vocabulary, table, easing, source("news-search", "aggregator"), late)
    assert level(db, vocabulary, "US", "gallium") == Level.BANNED  # unchanged, no history row, no alert
    assert db.execute("SELECT count(*) FROM status_changes").fetchone()[0] == history
    [item] = pending_desk_items(db)
    assert item["kind"] == "easing" and chats_of_kind(db, "status") == []
    decide(db, item["id"], "confirmed", "@editor (70)", AlertContext(vocabulary, table, DESK), late)
    assert level(db, vocabulary, "US", "gallium") == Level.LICENSING
    assert chats_of_kind(db, "status") == [5]


BAN = "China halts dysprosium export licences for Germany"
EASING = "China lifts curbs on dysprosium exports to Germany"


def easing_held_for_the_desk(vocabulary: Vocabulary, table: ExposureTable) -> tuple[Database, dt.datetime]:
    """An official ban, then two days later the press easing it: held for the desk. The database and that day."""
    db = subscribed_db({1: ("DE", "dysprosium")})
    check(db, vocabulary, table, BAN, source("mofcom", "official"))
    later = NOW + dt.timedelta(days=2)
    check(db, vocabulary, table, EASING, source("wire", "press"), later)
    return db, later


def test_another_issuer_s_official_pages_neither_confirm_a_reported_ban_nor_ease_an_official_one(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    """METI's or USGS's pages are official about Japan's or the United States' own measures; what they say of
    China's is a report, as a newsroom's is."""
    usgs = replace(source("usgs", "official"), issuer="US", name="USGS news")
    db = subscribed_db({1: ("DE", "dysprosium")})
    check(db, vocabulary, table, BAN, source("wire", "press"))
    check(db, vocabulary, table, f"{BAN}, USGS notes", usgs, NOW + dt.timedelta(hours=1))
    assert db.execute("SELECT provenance FROM measures").fetchall() == [("reported",)]
    [(state, by)] = db.execute("SELECT state, decided_by FROM desk_items").fetchall()
    assert (state, by.startswith("second source")) == ("corroborated", True)  # a second report, no confirmation
    assert chats_of_kind(db, "confirmation") == []

    db = subscribed_db({1: ("DE", "dysprosium")})
    check(db, vocabulary, table, BAN, source("mofcom", "official"))
    meti = replace(source("meti", "official"), issuer="JP", name="METI press releases")
    check(db, vocabulary, table, EASING, meti, NOW + dt.timedelta(days=1))
    assert level(db, vocabulary, "DE", "dysprosium") == Level.RESTRICTED  # unchanged until the desk confirms
    assert [item["kind"] for item in pending_desk_items(db)] == ["easing"]


def test_the_press_restating_an_official_measure_in_force_adds_evidence_not_a_measure_for_the_desk(
    vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]
) -> None:
    late = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)  # Announcement 46/2024's US ban, in force again since 11-28
    db = subscribed_db({5: ("US", "gallium")})
    apply_baseline(db, baseline, late, vocabulary)
    with db.atomic():
        apply_lapses(db, vocabulary, late)
    measures = db.execute("SELECT count(*) FROM measures").fetchone()[0]
    check(db, vocabulary, table, "China bans gallium exports to the US", source("wire", "press"), late)
    assert db.execute("SELECT count(*) FROM measures").fetchone()[0] == measures
    assert pending_desk_items(db) == []
    evidence = db.execute("SELECT measure_id FROM measure_events WHERE kind = 'evidence'").fetchall()
    assert [row[0] for row in evidence] == ["MOFCOM-46-2024-c2"]


def test_an_easing_waiting_for_the_desk_stays_when_another_source_repeats_the_measure(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    """A second report of the measure settles a doubt about the measure, not the easing of it."""
    db, later = easing_held_for_the_desk(vocabulary, table)
    check(db, vocabulary, table, f"{BAN}, SCMP says", source("scmp", "press"), later + dt.timedelta(hours=1))
    [item] = pending_desk_items(db)
    assert item["kind"] == "easing"
    decide(db, item["id"], "confirmed", "@editor (70)", AlertContext(vocabulary, table, DESK), later)
    assert level(db, vocabulary, "DE", "dysprosium") == Level.NORMAL


def test_an_easing_many_outlets_carry_waits_at_the_desk_once_naming_the_others(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db, later = easing_held_for_the_desk(vocabulary, table)
    for n, outlet in enumerate(("scmp", "wire", "nikkei"), start=1):  # the wire again: the same report
        check(db, vocabulary, table, f"{EASING} ({n})", source(outlet, "press"), later + dt.timedelta(minutes=n))
    [item] = pending_desk_items(db)
    assert (item["kind"], item["source"], item["also_reported_by"]) == ("easing", "Wire", ["Scmp", "Nikkei"])
    assert chats_of_kind(db, "desk") == list(DESK)  # one message to the desk, not one per outlet
    assert "(also reported by Scmp, Nikkei)" in desk_list(pending_desk_items(db))

    until = "China suspends curbs on dysprosium exports to Germany until 31 December 2027"
    check(db, vocabulary, table, until, source("scmp", "press"), later + dt.timedelta(hours=1))
    assert [i["also_reported_by"] for i in pending_desk_items(db)] == [["Scmp", "Nikkei"], []]  # another easing


def test_the_issuer_s_own_easing_settles_the_same_easing_held_for_the_desk(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db, later = easing_held_for_the_desk(vocabulary, table)
    add_desk_item(db, {**held_copy(db), "source": "Scmp"}, later.isoformat())  # a copy, as kept before migration 13
    check(db, vocabulary, table, f"{EASING} today", source("mofcom", "official"), later + dt.timedelta(hours=1))
    assert level(db, vocabulary, "DE", "dysprosium") == Level.NORMAL
    assert pending_desk_items(db) == []
    decided = db.execute("SELECT state, decided_by FROM desk_items").fetchall()
    assert decided == [("corroborated", "official source: Mofcom")] * 2


def held_copy(db: Database) -> dict[str, object]:
    """The one pending desk item, as the fields a copy of it would be stored with."""
    [held] = pending_desk_items(db)
    return {key: held[key] for key in ("kind", "measure_id", "measurement", "title", "source", "url", "item_id")}


def test_a_confirm_decides_every_copy_of_the_same_easing_held_before_they_were_kept_as_one(
    vocabulary: Vocabulary, table: ExposureTable
) -> None:
    db, later = easing_held_for_the_desk(vocabulary, table)
    [held] = pending_desk_items(db)
    copy = held_copy(db)
    for outlet in ("Scmp", "Nikkei"):  # as a database from before migration 13 kept every copy
        add_desk_item(db, {**copy, "source": outlet}, later.isoformat())
    decide(db, held["id"], "confirmed", "@editor (70)", AlertContext(vocabulary, table, DESK), later)
    assert level(db, vocabulary, "DE", "dysprosium") == Level.NORMAL
    assert db.execute("SELECT state, decided_by FROM desk_items").fetchall() == [("confirmed", "@editor (70)")] * 3


def test_further_reports_kept_in_the_item_s_row_move_to_a_table_of_their_own() -> None:
    db = database_at_version(13, NOW.isoformat())
    db.execute(
        "INSERT INTO desk_items (kind, measure_id, title, source, also_reported_by, created_at)"
        " VALUES ('easing', 'M', ?, 'Wire', '[\"Scmp\", \"Nikkei\"]', ?)",
        [EASING, NOW.isoformat()],
    )
    assert migrate(db, NOW) == [14]
    [item] = pending_desk_items(db)
    assert (item["source"], sorted(item["also_reported_by"])) == ("Wire", ["Nikkei", "Scmp"])


# ---------------------------------------------------------------- through the fake Bot API


def feed(title: str, published: dt.datetime) -> Response:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item>'
        f"<title>{title}</title><link>https://wire.example/1</link><guid>1</guid>"
        f"<pubDate>{format_datetime(published)}</pubDate></item></channel></rss>"
    )
    return Response(200, body, {"Content-Type": "application/rss+xml"})


async def test_a_reported_ban_is_dismissed_at_the_desk_and_every_recipient_gets_the_correction(
    tmp_path: Path,
) -> None:
    empty = Response(200, '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title></channel></rss>',
                     {"Content-Type": "application/rss+xml"})  # fmt: skip
    async with LoopbackServer({"/feed": empty}) as server:
        wire = SourceSpec(id="wire", name="Wire", kind="rss", url=server.url("/feed"), every_seconds=3600,
                          issuer="CN", allow_private=True, trust="press")  # fmt: skip
        async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", [wire]):
            for chat, words in ((901, "germany dysprosium"), (902, "all dysprosium")):
                api.user_says(f"/subscribe {words}", chat_id=chat)
                await api.wait_for_messages(chat, timeout=10)
            api.user_says("/desk", chat_id=555)
            [refused] = await api.wait_for_messages(555, timeout=10)
            assert refused["text"] == "This is for the desk."
            server.routes["/feed"] = feed(REPORT, dt.datetime.now(dt.UTC))
            api.user_says("/checknow", chat_id=ADMIN)
            await api.wait_for(lambda: any("desk:dismissed:" in json.dumps(m) for m in api.messages_to(ADMIN)), 15)
            [alert] = [m for m in await api.wait_for_messages(901, count=2, timeout=15) if "Tightened" in m["text"]]
            assert "Reported, not confirmed by MOFCOM." in alert["text"]
            desk_message = next(m for m in api.messages_to(ADMIN) if "desk:dismissed:" in json.dumps(m))
            keyboard = desk_message["reply_markup"]
            keyboard = json.loads(keyboard) if isinstance(keyboard, str) else keyboard
            data = next(b["callback_data"] for row in keyboard["inline_keyboard"]
                        for b in row if b["callback_data"].startswith("desk:dismissed:"))  # fmt: skip
            api.press_button(data, chat_id=555, message_id=1, user_id=555)  # outside the desk: refused
            await api.wait_for(lambda: len(api.callback_answers) >= 1, 10)
            assert api.callback_answers[0]["text"] == "This is for the desk."
            api.press_button(data, chat_id=ADMIN, message_id=1, user_id=ADMIN)
            await api.wait_for(lambda: any("Correction" in m["text"] for m in api.messages_to(901)), 15)
            await api.wait_for(lambda: any("Correction" in m["text"] for m in api.messages_to(902)), 15)
            for chat in (901, 902):  # every chat that got the alert gets one correction
                assert sum("Correction" in m["text"] for m in api.messages_to(chat)) == 1
            api.press_button(data.replace("dismissed", "confirmed"), chat_id=ADMIN, message_id=1, user_id=ADMIN)
            await api.wait_for(lambda: len(api.callback_answers) >= 3, 10)
            assert api.callback_answers[2]["text"].startswith("Already decided: dismissed by")
            assert any("Dismissed by" in str(edit.get("text")) for edit in api.edited)


async def test_a_second_source_confirms_it_without_a_person_end_to_end(tmp_path: Path) -> None:
    empty = Response(200, '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title></channel></rss>',
                     {"Content-Type": "application/rss+xml"})  # fmt: skip
    async with LoopbackServer({"/a": empty, "/b": empty}) as server:
        sources = [
            SourceSpec(id=name, name=name.capitalize(), kind="rss", url=server.url(f"/{path}"), every_seconds=3600,
                       issuer="CN", allow_private=True, trust="press")
            for name, path in (("wire", "a"), ("press", "b"))
        ]  # fmt: skip
        async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", sources):
            api.user_says("/subscribe germany dysprosium", chat_id=901)
            await api.wait_for_messages(901, timeout=10)
            server.routes["/a"] = feed(REPORT, dt.datetime.now(dt.UTC))
            api.user_says("/checknow wire", chat_id=ADMIN)
            await api.wait_for(lambda: any("desk:dismissed:" in json.dumps(m) for m in api.messages_to(ADMIN)), 15)
            server.routes["/b"] = feed("China has halted dysprosium export licences for Germany, sources say",
                                       dt.datetime.now(dt.UTC))  # fmt: skip
            api.user_says("/checknow press", chat_id=ADMIN)
            await api.wait_for(lambda: len(api.messages_to(ADMIN)) >= 5, 15)
            api.user_says("/desk", chat_id=ADMIN)
            await api.wait_for(lambda: any("Nothing waits" in m["text"] for m in api.messages_to(ADMIN)), 15)
        db = open_database(tmp_path / "bot.db", dt.datetime.now(dt.UTC))
        assert db.execute("SELECT state, decided_by FROM desk_items").fetchall() == [
            ("corroborated", "second source: Press")
        ]
        assert sum("Tightened" in m["text"] for m in api.messages_to(901)) == 1  # one measure, one alert


def test_a_held_measurement_is_stored_as_every_field_of_it_and_read_back_the_same() -> None:
    said = Measurement(True, "ease", "CN", ("US", "JP"), ("gallium",), 2, ("suspends",), scope="goods",
                       effect="removed", until="2027-11-27", end_use="military", provenance="reported",
                       instrument="Announcement 70/2025", action="suspend", extend_years=1, month=10,
                       effective="--12-01")  # fmt: skip
    stored = json.loads(json.dumps(measurement_json(said)))
    assert stored == json.loads(json.dumps(asdict(said)))
    assert measurement_from_json(stored) == said
