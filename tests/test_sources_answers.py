"""/sources and /latest answers: health, counts, schedule; newest items linked and escaped."""

from __future__ import annotations

import pytest

from handlers.context import Services, UsageError
from handlers.sources import latest_answer, sources_answer
from storage.items import insert_new_items
from storage.sources import record_failure, record_success, sync_sources
from tests.conftest import NOW

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
    answer = sources_answer(services)
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
