"""The check pipeline: a fresh item moves statuses and raises one alert for the matching chats only."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlite_utils import Database

from bot.domain.knowledge import ExposureTable
from bot.domain.measure import irrelevant
from bot.domain.rules import Rules, load_rules
from bot.domain.vocab import Vocabulary
from jobs.alerts import AlertContext
from jobs.check import NewItem
from jobs.pipeline import MeasuringSink, RulesOnFirstUse, SourceHealthAlerts, window_of
from jobs.sources import SourceSpec
from storage.items import insert_new_items
from storage.subscribers import add_subscription, save_subscriber
from tests.storage_reads import get_status

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
SOURCE = SourceSpec(id="wire", name="Wire", kind="rss", url="http://127.0.0.1/", every_seconds=600, issuer="CN")
HEADLINE = "China halts rare-earth export licence approvals for Japanese companies"


def stored_item(db: Database, title: str, guid: str) -> int:
    row = {"guid": guid, "title": title, "summary": "", "link": "https://example.org/a", "published_at": None}
    return int(insert_new_items(db, SOURCE.id, [row], NOW.isoformat())[0]["id"])


def subscribe(db: Database, chat_id: int, country: str, sector: str = "", material: str = "") -> None:
    save_subscriber(db, chat_id, "private", None, "UTC", NOW.isoformat())
    add_subscription(db, chat_id, country, sector, material, 0, NOW.isoformat())


def sink(vocabulary: Vocabulary, table: ExposureTable) -> MeasuringSink:
    return MeasuringSink(load_rules(vocabulary), AlertContext(vocabulary, table))


def test_a_fresh_item_moves_statuses_and_alerts_matching_chats_only(
    db: Database, vocabulary: Vocabulary, table: ExposureTable
) -> None:
    subscribe(db, 1, "JP", sector="autos")
    subscribe(db, 2, "US", material="gallium")
    item = NewItem(stored_item(db, HEADLINE, "a"), SOURCE, HEADLINE, "", "https://example.org/a", NOW, fresh=True)
    with db.atomic():
        moved = sink(vocabulary, table)(db, [item], NOW)
    assert moved >= 1
    status = get_status(db, "CN", "JP", "rare_earths")
    assert status is not None and status["level"] == 4 and status["measure"].startswith("LIVE-CN-")
    events = db.execute("SELECT kind, item_id FROM measure_events WHERE measure_id = ?", [status["measure"]])
    assert events.fetchall() == [("reported", item.id)]  # a wire's report, until the issuer's own page says it
    chats = [row[0] for row in db.execute("SELECT chat_id FROM deliveries")]
    assert chats == [1]
    kinds = sorted(row[0] for row in db.execute("SELECT kind FROM alerts WHERE kind != 'admin'"))
    assert kinds == ["desk", "status"]  # one alert for the chats; the desk is asked about a report from one source


@pytest.mark.parametrize(
    ("trust", "provenance", "event"),
    [("official", "official", "announced"), ("press", "reported", "reported"), ("aggregator", "reported", "reported")],
)
def test_an_unhedged_headline_is_as_official_as_its_source(
    db: Database, vocabulary: Vocabulary, table: ExposureTable, trust: str, provenance: str, event: str
) -> None:
    """The wording hedges nothing; only the issuer's own pages make a measure official (a newsroom or a news
    search reports it, and the desk hears of a restriction seen from one of them alone)."""
    source = replace(SOURCE, trust=trust)
    item = NewItem(stored_item(db, HEADLINE, "a"), source, HEADLINE, "", "https://example.org/a", NOW, fresh=True)
    with db.atomic():
        sink(vocabulary, table)(db, [item], NOW)
    status = get_status(db, "CN", "JP", "rare_earths")
    assert status is not None and status["provenance"] == provenance
    events = db.execute("SELECT kind FROM measure_events WHERE measure_id = ?", [status["measure"]])
    assert [row[0] for row in events] == [event]
    desk = db.execute("SELECT count(*) FROM desk_items").fetchone()[0]
    assert desk == (0 if trust == "official" else 1)


def test_the_same_news_again_moves_nothing_and_alerts_no_one(
    db: Database, vocabulary: Vocabulary, table: ExposureTable
) -> None:
    subscribe(db, 1, "JP", sector="autos")
    measuring = sink(vocabulary, table)
    for guid in ("a", "b", "c"):  # three sources, or three reposts
        item = NewItem(stored_item(db, HEADLINE, guid), SOURCE, HEADLINE, "", None, NOW, fresh=True)
        measuring(db, [item], NOW)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1


def test_a_stale_item_leaves_signals_but_moves_nothing(
    db: Database, vocabulary: Vocabulary, table: ExposureTable
) -> None:
    item = NewItem(stored_item(db, HEADLINE, "a"), SOURCE, HEADLINE, "", None, None, fresh=False)
    assert sink(vocabulary, table)(db, [item], NOW) == 0
    assert get_status(db, "CN", "JP", "rare_earths") is None
    assert db.execute("SELECT count(*) FROM signals WHERE item_id = ?", [item.id]).fetchone()[0] >= 1


def test_the_rules_are_compiled_for_the_first_item_that_arrives_unmeasured_and_once(
    db: Database, vocabulary: Vocabulary, table: ExposureTable
) -> None:
    compiled: list[Rules] = []

    def compile_rules() -> Rules:
        compiled.append(load_rules(vocabulary))
        return compiled[-1]

    measuring = MeasuringSink(RulesOnFirstUse(compile_rules), AlertContext(vocabulary, table))
    quiet = "Bank of Japan holds rates steady"
    measured = NewItem(stored_item(db, quiet, "a"), SOURCE, quiet, "", None, NOW, True, irrelevant())
    assert measuring(db, [measured], NOW) == 0
    assert compiled == []  # the item arrived measured (by the reading lane): nothing to compile
    for guid in ("b", "c"):
        item = NewItem(stored_item(db, HEADLINE, guid), SOURCE, HEADLINE, "", None, NOW, fresh=True)
        measuring(db, [item], NOW)
    assert get_status(db, "CN", "JP", "rare_earths") is not None
    assert len(compiled) == 1


def test_health_alerts_reach_admins_once_per_window(db: Database) -> None:
    alerts = SourceHealthAlerts(frozenset({42, 43}))
    alerts(db, SOURCE, "down", "HTTP 503", NOW)
    alerts(db, SOURCE, "down", "HTTP 503", NOW + dt.timedelta(minutes=30))  # flapping within the window
    alerts(db, SOURCE, "recovered", "back after 5 failures", NOW + dt.timedelta(hours=1))
    rows = db.execute("SELECT key, payload FROM alerts ORDER BY id").fetchall()
    assert [key for key, _ in rows] == [f"source-down:wire:{window_of(NOW)}", f"source-recovered:wire:{window_of(NOW)}"]
    assert "is down: HTTP 503" in rows[0][1]
    assert sorted(row[0] for row in db.execute("SELECT chat_id FROM deliveries")) == [42, 42, 43, 43]
