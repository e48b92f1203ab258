"""/sources and /latest answers: health, counts, schedule; newest items linked and escaped."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from bot.domain.scripts import unread_script
from handlers.context import Services, UsageError
from handlers.sources import latest_answer, sources_answer
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.items import insert_new_items
from storage.signals import record_signals
from storage.sources import record_failure, record_success, sync_sources
from tests.bot_harness import ADMIN, polling_bot
from tests.conftest import NOW
from tests.fake_bot_api import FakeBotAPI

LATER = NOW.replace(hour=10).isoformat()


def add_sources(services: Services) -> None:
    sync_sources(services.db, [
        {"id": "mofcom", "name": "MOFCOM", "kind": "html", "url": "https://x.org", "every_seconds": 600},
        {"id": "usgs", "name": "USGS", "kind": "rss", "url": "https://y.org", "every_seconds": 7200},
    ])  # fmt: skip
    record_success(services.db, "mofcom", now=NOW.isoformat(), next_check_at=LATER, etag=None, last_modified=None,
                   fingerprint="f", new_items=2)  # fmt: skip
    record_failure(services.db, "usgs", now=NOW.isoformat(), next_check_at=LATER, error="HTTP 503", health="degraded")


def test_sources_shows_health_last_success_items_and_next_check(services: Services) -> None:
    add_sources(services)
    insert_new_items(services.db, "mofcom", [
        {"guid": "1", "title": "a", "summary": "", "link": None, "published_at": None},
        {"guid": "2", "title": "b", "summary": "", "link": None, "published_at": None},
    ], NOW.isoformat())  # fmt: skip
    answer = sources_answer(services, detail=True)
    assert "🟢 <b>mofcom</b> ok: last success now, 2 items, next check in 60 min" in answer
    assert "🟡 <b>usgs</b> degraded: last success never, 0 items, next check in 60 min" in answer
    assert "last error: HTTP 503 (1 in a row)" in answer


def test_latest_lists_newest_first_linked_and_escaped(services: Services) -> None:
    add_sources(services)
    old = {"guid": "1", "title": "old <b>", "summary": "", "link": "https://x.org/1"}
    new = {"guid": "2", "title": "new & shiny", "summary": "", "link": "https://x.org/2"}
    insert_new_items(services.db, "mofcom", [
        {**old, "published_at": "2026-11-01T00:00:00+00:00"},
        {**new, "published_at": "2026-11-28T00:00:00+00:00"},
    ], NOW.isoformat())  # fmt: skip
    lines = latest_answer(services, ["5"]).splitlines()
    assert lines[0] == "<b>Latest 2 items</b>"
    assert lines[1] == '• 2026-11-28 <a href="https://x.org/2">new &amp; shiny</a> <i>(MOFCOM)</i>'
    assert "old &lt;b&gt;" in lines[2]


@pytest.mark.parametrize("args", [["0"], ["31"], ["many"], ["1", "2"]])
def test_latest_refuses_bad_counts_with_usage(services: Services, args: list[str]) -> None:
    with pytest.raises(UsageError, match="Usage: /latest"):
        latest_answer(services, args)


def test_latest_with_nothing_yet_says_so(services: Services) -> None:
    assert latest_answer(services, []).startswith("No items yet")


def test_sources_lists_only_what_this_process_watches(services: Services) -> None:
    add_sources(services)
    services.watched = frozenset({"usgs"})
    answer = sources_answer(services)
    assert "<b>usgs</b>" in answer and "mofcom" not in answer


def test_sources_tells_others_only_that_a_check_failed(services: Services) -> None:
    add_sources(services)
    error = "refused to connect to 10.0.0.7 (the address of intranet.example): a private address"
    record_failure(services.db, "mofcom", now=NOW.isoformat(), next_check_at=LATER, error=error, health="degraded")
    answer = sources_answer(services)
    assert "last error: the last check failed (1 in a row)" in answer
    assert "10.0.0.7" not in answer and "HTTP 503" not in answer
    assert "10.0.0.7" in sources_answer(services, detail=True)


async def test_only_an_admin_in_a_private_chat_reads_why_a_source_fails(tmp_path: Path) -> None:
    source = SourceSpec(id="gone", name="Gone", kind="rss", url="http://127.0.0.1:9/", every_seconds=86_400)
    db = open_database(tmp_path / "bot.db", NOW)
    sync_sources(db, [asdict(source)])
    error = "refused to connect to 10.0.0.7 (the address of intranet.example): a private address"
    never = "2100-01-01T00:00:00+00:00"  # no scheduled check replaces the error while the test reads it
    record_failure(db, "gone", now=NOW.isoformat(), next_check_at=never, error=error, health="degraded")
    db.close()
    async with FakeBotAPI() as api, polling_bot(api, tmp_path / "bot.db", [source]):
        api.user_says("/sources", chat_id=ADMIN)
        api.user_says("/sources", chat_id=-100, user_id=ADMIN, chat_type="group", chat_title="desk")
        api.user_says("/sources", chat_id=555)
        [admin] = await api.wait_for_messages(ADMIN, timeout=10)
        [group] = await api.wait_for_messages(-100, timeout=10)
        [other] = await api.wait_for_messages(555, timeout=10)
    assert "10.0.0.7" in admin["text"]
    for answer in (group, other):
        assert "last error: the last check failed (1 in a row)" in answer["text"] and "10.0.0.7" not in answer["text"]


def test_latest_says_what_measuring_made_of_each_item_and_keeps_an_unread_script_unread(services: Services) -> None:
    add_sources(services)
    rows = [
        {"guid": "ko", "title": "중국, 희토류 수출 통제 강화", "summary": "", "link": None,
         "published_at": "2026-11-28T02:00:00+00:00"},
        {"guid": "en", "title": "China bans gallium exports to the US", "summary": "", "link": None,
         "published_at": "2026-11-28T01:00:00+00:00"},
    ]  # fmt: skip
    stored = insert_new_items(services.db, "mofcom", rows, NOW.isoformat())
    record_signals(services.db, [(int(stored[1]["id"]), {"issuer": "CN", "target": "US", "material": "gallium",
                   "level": 5, "direction": "tighten", "evidence": ["bans"]})], NOW.isoformat())  # fmt: skip
    lines = latest_answer(services, ["5"]).splitlines()
    assert lines[1].endswith("— <i>not read (Korean script)</i>")
    assert lines[2].endswith("— tighten banned → US")


@pytest.mark.parametrize(
    ("text", "script"),
    [("중국, 희토류 수출 통제 강화", "Korean"), ("Китай ограничил экспорт галлия", "Cyrillic"),
     ("China bans gallium", None), ("中国、レアアース輸出規制", None), ("中國暫停實施出口管制", None)],
)  # fmt: skip
def test_scripts_the_rules_do_not_read_are_named(text: str, script: str | None) -> None:
    assert unread_script(text) == script
