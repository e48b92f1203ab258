"""Checking sources over a real loopback server: outcomes, items, health, backoff, and one bad source alone."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Sequence
from email.utils import format_datetime

import pytest
from sqlite_utils import Database

from jobs.check import (
    Checker,
    HealthPolicy,
    NewItem,
    Reading,
    RecordingGate,
    backoff,
    health_after_failure,
    ignore_health,
    keep_items,
    read_inline,
)
from jobs.fetch import Fetcher, FetchLimits, FetchResult, Validators
from jobs.sources import SourceSpec
from storage.sources import get_source
from tests.loopback import Exchange, Request, Response, conditional, endless_body, no_headers, redirect, serve

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
FAST = FetchLimits(connect_timeout=1, read_timeout=0.5, total_timeout=1, attempts=1, backoff_base=0, max_bytes=100_000)


def feed(*titles: str, published: dt.datetime = NOW) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>https://example.org/{i}</link><guid>g-{t}</guid>"
        f"<pubDate>{format_datetime(published)}</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


RSS = {"Content-Type": "application/rss+xml"}


def spec(source_id: str, url: str, kind: str = "rss", select: str | None = None) -> SourceSpec:
    return SourceSpec(
        id=source_id, name=source_id, kind=kind, url=url, every_seconds=600, select=select, allow_private=True
    )  # type: ignore[arg-type]


class Recorder:
    """A sink and a health sink that remember what they were given."""

    def __init__(self) -> None:
        self.items: list[NewItem] = []
        self.health: list[tuple[str, str]] = []

    def sink(self, db: Database, items: Sequence[NewItem], now: dt.datetime) -> int:
        self.items.extend(items)
        return len([item for item in items if item.fresh])

    def on_health(self, db: Database, source: SourceSpec, event: str, detail: str, now: dt.datetime) -> None:
        self.health.append((source.id, event))


def checker(db: Database, fetcher: Fetcher, recorder: Recorder, clock: list[dt.datetime] | None = None) -> Checker:
    times = clock or [NOW]
    return Checker(db, fetcher, sink=recorder.sink, on_health=recorder.on_health, clock=lambda: times[-1])


async def test_healthy_and_broken_sources_in_one_run_are_each_reported(db: Database) -> None:
    routes = {
        "/good": Response(200, feed("China tightens gallium exports", "Rates steady"), RSS),
        "/404": Response(404, "gone"),
        "/500": Response(500, "oops"),
        "/hang": no_headers(),
        "/loop": redirect("/loop"),
        "/huge": endless_body(50_000_000, headers=RSS),
        "/html": Response(200, "<!doctype html><html><body><p>hello</p></body></html>", {"Content-Type": "text/html"}),
        "/broken": Response(200, "<rss><channel><title>x</ti", RSS),
        "/empty": Response(200, "", RSS),
        "/nomatch": Response(200, "<html><body><ul><li>nothing</li></ul></body></html>", {"Content-Type": "text/html"}),
    }
    recorder = Recorder()
    async with serve(routes) as base, Fetcher(FAST) as fetcher:
        sources = [spec(path.strip("/"), base + path) for path in routes if path != "/nomatch"]
        sources.append(spec("nomatch", base + "/nomatch", kind="html", select="ul.list li a"))
        summary = await checker(db, fetcher, recorder).check_all(sources)
    by_id = {report.id: report for report in summary.sources}
    assert by_id["good"].outcome == "changed" and by_id["good"].new_items == 2
    failed = {source_id for source_id, report in by_id.items() if report.outcome == "failed"}
    assert failed == {"404", "500", "hang", "loop", "huge", "html", "broken", "empty", "nomatch"}
    assert all(by_id[source_id].error for source_id in failed)
    assert by_id["404"].error == "HTTP 404"
    document = summary.as_json()
    assert (document["checked"], document["changed"], document["failed"], document["new_items"]) == (10, 1, 9, 2)
    assert get_source(db, "500")["health"] == "degraded"  # type: ignore[index]
    assert get_source(db, "good")["health"] == "ok"  # type: ignore[index]
    assert [item.title for item in recorder.items] == ["China tightens gallium exports", "Rates steady"]


async def test_items_seen_before_are_not_new_again_and_a_reorder_is_unchanged(db: Database) -> None:
    pages = [feed("a", "b"), feed("a", "b"), feed("b", "a"), feed("a", "b", "c")]
    served = iter(pages)

    async def handler(request: object, exchange: object) -> Response:
        return Response(200, next(served), RSS)

    recorder = Recorder()
    async with serve({"/f": handler}) as base, Fetcher(FAST) as fetcher:
        check = checker(db, fetcher, recorder)
        outcomes = [(await check.check(spec("f", base + "/f"))) for _ in pages]
    assert [(r.outcome, r.new_items) for r in outcomes] == [
        ("changed", 2), ("unchanged", 0), ("unchanged", 0), ("changed", 1),
    ]  # fmt: skip
    assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 3


async def test_conditional_get_turns_a_304_into_unchanged(db: Database) -> None:
    route = conditional(Response(200, feed("x"), RSS), etag='"v1"')
    recorder = Recorder()
    async with serve({"/f": route}) as base, Fetcher(FAST) as fetcher:
        check = checker(db, fetcher, recorder)
        first = await check.check(spec("f", base + "/f"))
        second = await check.check(spec("f", base + "/f"))
    assert (first.outcome, second.outcome) == ("changed", "unchanged")
    assert get_source(db, "f")["etag"] == '"v1"'  # type: ignore[index]


async def test_first_check_records_old_items_without_moving_statuses(db: Database) -> None:
    old = NOW - dt.timedelta(days=400)
    recorder = Recorder()
    async with serve({"/f": Response(200, feed("old news", published=old), RSS)}) as base, Fetcher(FAST) as fetcher:
        report = await checker(db, fetcher, recorder).check(spec("f", base + "/f"))
    assert report.new_items == 1 and report.status_changes == 0
    assert recorder.items[0].fresh is False


async def test_first_check_holds_back_an_item_dated_in_the_future_as_if_undated(db: Database) -> None:
    ahead = NOW + dt.timedelta(days=3650)  # a plausible year, but no news is dated ten years ahead
    recorder = Recorder()
    async with serve({"/f": Response(200, feed("ahead", published=ahead), RSS)}) as base, Fetcher(FAST) as fetcher:
        report = await checker(db, fetcher, recorder).check(spec("f", base + "/f"))
    assert report.new_items == 1 and report.status_changes == 0
    assert recorder.items[0].fresh is False


async def test_down_after_five_failures_alerts_once_and_recovery_once(db: Database) -> None:
    responses = [Response(503, "busy")] * 7 + [Response(200, feed("back"), RSS)] * 2
    served = iter(responses)

    async def handler(request: object, exchange: object) -> Response:
        return next(served)

    recorder = Recorder()
    clock = [NOW]
    async with serve({"/f": handler}) as base, Fetcher(FAST) as fetcher:
        check = checker(db, fetcher, recorder, clock)
        for step in range(len(responses)):
            clock.append(NOW + dt.timedelta(hours=step))
            await check.check(spec("f", base + "/f"))
            if step == 4:
                assert get_source(db, "f")["health"] == "down"  # type: ignore[index]
    assert recorder.health == [("f", "down"), ("f", "recovered")]
    row = get_source(db, "f")
    assert row is not None and (row["health"], row["consecutive_failures"], row["last_error"]) == ("ok", 0, None)


def test_backoff_grows_with_failures_and_is_capped_at_a_day() -> None:
    cap = HealthPolicy().max_backoff
    assert [backoff(600, n, cap).total_seconds() for n in (1, 2, 3, 4)] == [600, 1200, 2400, 4800]
    assert backoff(600, 30, cap) == dt.timedelta(days=1)


def test_health_is_degraded_then_down() -> None:
    policy = HealthPolicy(down_after=5)
    assert [health_after_failure(n, policy) for n in (1, 4, 5, 9)] == ["degraded", "degraded", "down", "down"]


async def test_the_next_check_is_due_an_interval_after_this_one_started(db: Database) -> None:
    ticks = iter(NOW + dt.timedelta(seconds=30 * n) for n in range(100))  # every reading of the clock is later
    recorder = Recorder()
    async with (
        serve({"/f": Response(200, feed("x"), RSS), "/bad": Response(500, "")}) as base,
        Fetcher(FAST) as fetcher,
    ):
        check = Checker(db, fetcher, sink=recorder.sink, on_health=recorder.on_health, clock=lambda: next(ticks))
        await check.check(spec("f", base + "/f"))
        await check.check(spec("bad", base + "/bad"))
    good, bad = get_source(db, "f"), get_source(db, "bad")
    assert good is not None and bad is not None
    assert dt.datetime.fromisoformat(good["next_check_at"]) == NOW + dt.timedelta(seconds=600)
    assert dt.datetime.fromisoformat(bad["next_check_at"]) - dt.datetime.fromisoformat(bad["last_checked_at"]) < (
        dt.timedelta(seconds=600)
    )


async def test_a_change_and_its_alerts_commit_together_or_not_at_all(db: Database) -> None:
    def failing_sink(db: Database, items: Sequence[NewItem], now: dt.datetime) -> int:
        db.execute(
            "INSERT INTO status_changes (issuer, target, material, old_level, new_level, direction, at, title,"
            " source, origin) VALUES ('CN', 'JP', 'gallium', 0, 5, 'tighten', ?, 't', 's', 'live')",
            [now.isoformat()],
        )
        raise RuntimeError("alerts could not be written")

    async with serve({"/f": Response(200, feed("China bans gallium exports to Japan"), RSS),
                      "/g": Response(200, feed("other"), RSS)}) as base, Fetcher(FAST) as fetcher:  # fmt: skip
        check = Checker(db, fetcher, sink=failing_sink, clock=lambda: NOW)
        failed = await check.check(spec("f", base + "/f"))
        check.sink = keep_items
        kept = await check.check(spec("g", base + "/g"))
    assert (failed.outcome, kept.outcome) == ("failed", "changed")
    assert db.execute("SELECT count(*) FROM status_changes").fetchone()[0] == 0
    assert [row[0] for row in db.execute("SELECT source_id FROM items")] == ["g"]


async def test_the_same_body_again_is_not_parsed_again(db: Database) -> None:
    served = iter([feed("a", "b"), feed("a", "b"), feed("a", "b", "c")])
    parsed: list[str] = []

    async def counting(source: SourceSpec, text: str, base_url: str) -> list[Reading]:
        parsed.append(source.id)
        return await read_inline(source, text, base_url)

    async def handler(request: Request, exchange: Exchange) -> Response:
        return Response(200, next(served), RSS)

    async with serve({"/feed": handler}) as base, Fetcher(FAST) as fetcher:
        checking = Checker(db, fetcher, parse=counting, clock=lambda: NOW)
        reports = [await checking.check(spec("s", base + "/feed")) for _ in range(3)]
    assert [(report.outcome, report.new_items) for report in reports] == [
        ("changed", 2),
        ("unchanged", 0),
        ("changed", 1),
    ]
    assert parsed == ["s", "s"]  # the second body was the first one again


NO_VALIDATORS = Validators()


class FetcherWithABug(Fetcher):
    """A fetcher that raises on one URL, as a bug of ours would."""

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, allow_private: bool = False
    ) -> FetchResult:
        if url.endswith("/bug"):
            raise ValueError("a bug of ours")
        return await super().fetch(url, validators, allow_private=allow_private)


async def test_a_bug_while_fetching_one_source_fails_that_source_only(db: Database) -> None:
    async with serve({"/f": Response(200, feed("news"), RSS)}) as base, FetcherWithABug(FAST) as fetcher:
        summary = await checker(db, fetcher, Recorder()).check_all(
            [spec("ok", f"{base}/f"), spec("bad", f"{base}/bug")]
        )
    reports = {report.id: report for report in summary.sources}
    assert (reports["ok"].outcome, reports["ok"].new_items) == ("changed", 1)
    assert (reports["bad"].outcome, reports["bad"].error) == ("failed", "internal error while fetching (logged)")


async def reader_with_a_bug(source: SourceSpec, text: str, base_url: str) -> list[Reading]:
    """The reader a checker runs, raising on one source as a bug of ours would."""
    if source.id == "bad":
        raise KeyError("a bug of ours")
    return await read_inline(source, text, base_url)


async def test_a_bug_while_reading_one_source_fails_that_source_only(db: Database) -> None:
    async with serve({"/f": Response(200, feed("news"), RSS)}) as base, Fetcher(FAST) as fetcher:
        checking = Checker(db, fetcher, parse=reader_with_a_bug, clock=lambda: NOW)
        summary = await checking.check_all([spec("ok", f"{base}/f"), spec("bad", f"{base}/f")])
    reports = {report.id: report for report in summary.sources}
    assert (reports["ok"].outcome, reports["ok"].new_items) == ("changed", 1)
    assert (reports["bad"].outcome, reports["bad"].error) == ("failed", "internal error while reading (logged)")


# --- quiet successes: a 304 or the same items again, recorded together ------------------------------------------


class NotModified(Fetcher):
    """A fetcher whose every source answers 304 at once, without the network: the checks end in one turn of the
    event loop, as many answers arriving together do."""

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, allow_private: bool = False
    ) -> FetchResult:
        return FetchResult("not_modified", url, url, 304, validators=validators)


def traced(db: Database) -> list[str]:
    """The statements the connection runs from now on, as SQLite traces them (until the trace is set to None)."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    return statements


async def test_quiet_checks_that_end_together_are_recorded_in_one_transaction(db: Database) -> None:
    sources = [spec(f"s{n}", f"http://127.0.0.1:9/{n}") for n in range(20)]
    recorder = Recorder()
    async with NotModified(FAST) as fetcher:
        check = checker(db, fetcher, recorder)
        check.register(sources)
        statements = traced(db)
        summary = await check.check_all(sources)
        db.conn.set_trace_callback(None)
    assert summary.as_json()["unchanged"] == 20
    begun = [statement for statement in statements if statement.startswith("BEGIN")]
    assert len(begun) == 2  # the sources' rows made sure of, then the twenty checks' successes
    rows = db.execute("SELECT count(*) FROM sources WHERE last_success_at = ? AND health = 'ok'", [NOW.isoformat()])
    assert rows.fetchone()[0] == 20


async def test_a_quiet_success_that_cannot_be_recorded_fails_its_source_alone(db: Database) -> None:
    """Recording together fails as a whole; each source is then recorded alone, and only the bad one fails."""
    sources = [spec(name, f"http://127.0.0.1:9/{name}") for name in ("a", "bad", "b")]

    class Recovery(Recorder):
        """Tells of a recovery in the database, inside the transaction that records it, as the admins' alerts are."""

        def on_health(self, db: Database, source: SourceSpec, event: str, detail: str, now: dt.datetime) -> None:
            if source.id == "bad":
                raise RuntimeError("a bug of ours")
            db.execute("INSERT INTO told (source, event) VALUES (?, ?)", [source.id, event])

    async with NotModified(FAST) as fetcher:
        check = checker(db, fetcher, Recovery())
        check.register(sources)
        db.execute("CREATE TABLE told (source TEXT, event TEXT)")
        db.execute("UPDATE sources SET health = 'down', consecutive_failures = 5")
        db.conn.commit()
        summary = await check.check_all(sources)
    reports = {report.id: (report.outcome, report.error) for report in summary.sources}
    assert reports == {
        "a": ("unchanged", None),
        "bad": ("failed", "internal error while recording (logged)"),
        "b": ("unchanged", None),
    }
    assert sorted(db.execute("SELECT source, event FROM told").fetchall()) == [("a", "recovered"), ("b", "recovered")]
    assert {row["id"]: row["health"] for row in db.query("SELECT id, health FROM sources")} == {
        "a": "ok", "bad": "down", "b": "ok",
    }  # fmt: skip


class AnsweredInTurn(Fetcher):
    """A fetcher whose first answer for a URL is a 304 at once, and whose second, a turn of the loop later, a
    failure: two checks of one source, answered in that order."""

    def __init__(self, limits: FetchLimits) -> None:
        super().__init__(limits)
        self.calls = 0

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, allow_private: bool = False
    ) -> FetchResult:
        self.calls += 1
        if self.calls == 1:
            return FetchResult("not_modified", url, url, 304, validators=validators)
        await asyncio.sleep(0)
        return FetchResult("failed", url, url, None, error="cannot connect: refused")


async def test_a_quiet_success_is_recorded_before_a_later_answer_of_the_same_source(db: Database) -> None:
    """A scheduled check and /check may meet on one source: what was answered first is recorded first."""
    source = spec("s", "http://127.0.0.1:9/s")
    async with AnsweredInTurn(FAST) as fetcher:
        check = checker(db, fetcher, Recorder())
        check.register([source])
        first, second = await asyncio.gather(check.check(source), check.check(source))
    assert (first.outcome, second.outcome) == ("unchanged", "failed")
    row = get_source(db, "s")
    assert row is not None and (row["health"], row["consecutive_failures"]) == ("degraded", 1)


async def test_a_quiet_check_cancelled_while_it_waits_is_recorded_all_the_same(db: Database) -> None:
    sources = [spec(f"s{n}", f"http://127.0.0.1:9/{n}") for n in range(3)]
    async with NotModified(FAST) as fetcher:
        check = checker(db, fetcher, Recorder())
        check.register(sources)
        checking = asyncio.create_task(check.check_all(sources))
        for _ in range(5):  # each check has its answer and waits to be recorded with the others
            await asyncio.sleep(0)
        checking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await checking
    rows = db.execute("SELECT count(*) FROM sources WHERE last_success_at = ?", [NOW.isoformat()])
    assert rows.fetchone()[0] == 3


def test_a_checker_goes_on_recording_on_a_new_event_loop_after_one_ended_with_checks_waiting(db: Database) -> None:
    """A loop that stops with quiet checks waiting (their tasks never cancelled) leaves nothing that holds up the
    checker's recording on the next loop: not a timer of its own, nor its checks counted as under way."""
    first, second, slow = (spec(name, f"http://127.0.0.1:9/{name}") for name in ("a", "b", "slow"))
    ended = asyncio.new_event_loop()
    fetcher = ended.run_until_complete(held_back())
    check = Checker(db, fetcher, clock=lambda: NOW, quiet_wait=3600)
    check.register([first, second, slow])
    try:
        held = ended.create_task(check.check(slow))
        waiting = ended.create_task(check.check(first))
        ended.run_until_complete(asyncio.sleep(0))  # the check of a waits to be recorded (slow is under way)
        assert not waiting.done()
    finally:
        for task in (waiting, held):
            task._log_destroy_pending = False  # type: ignore[attr-defined]  # left pending on purpose
        ended.close()
    report = asyncio.run(asyncio.wait_for(check.check(second), timeout=10))
    assert report.outcome == "unchanged"
    assert get_source(db, "b")["last_success_at"] == NOW.isoformat()  # type: ignore[index]


async def test_sources_that_were_down_recover_in_one_batch_each_once_and_delivery_is_woken(db: Database) -> None:
    sources = [spec(name, f"http://127.0.0.1:9/{name}") for name in ("a", "b")]
    woken = []
    recorder = Recorder()
    async with NotModified(FAST) as fetcher:
        check = Checker(
            db, fetcher, sink=recorder.sink, on_health=recorder.on_health, clock=lambda: NOW,
            notify=lambda: woken.append(True),
        )  # fmt: skip
        check.register(sources)
        db.execute("UPDATE sources SET health = 'down', consecutive_failures = 5")
        db.conn.commit()
        statements = traced(db)
        summary = await check.check_all([*sources, sources[0]])  # a checked twice in the same batch
        db.conn.set_trace_callback(None)
    assert [report.outcome for report in summary.sources] == ["unchanged"] * 3
    assert sorted(recorder.health) == [("a", "recovered"), ("b", "recovered")]
    assert woken == [True]
    assert len([statement for statement in statements if statement.startswith("BEGIN")]) == 2  # not each alone


async def test_quiet_checks_are_recorded_at_once_when_no_check_under_way_is_left_to_join_them(db: Database) -> None:
    sources = [spec(f"s{n}", f"http://127.0.0.1:9/{n}") for n in range(3)]
    async with NotModified(FAST) as fetcher:
        check = Checker(db, fetcher, clock=lambda: NOW, quiet_wait=3600)
        check.register(sources)
        summary = await asyncio.wait_for(check.check_all(sources), timeout=10)  # not an hour
    assert summary.as_json()["unchanged"] == 3


class FailsOne(Fetcher):
    """A fetcher whose source `bad` fails at once and whose others answer 304 at once."""

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, allow_private: bool = False
    ) -> FetchResult:
        if url.endswith("/bad"):
            return FetchResult("failed", url, url, None, error="cannot connect: refused")
        return FetchResult("not_modified", url, url, 304, validators=validators)


async def test_a_check_that_ended_in_the_same_turn_is_not_waited_for(db: Database) -> None:
    """A failure ends its check just before a 304 comes: the 304 is the last check under way, recorded at once."""
    sources = [spec(name, f"http://127.0.0.1:9/{name}") for name in ("bad", "quiet")]
    async with FailsOne(FAST) as fetcher:
        check = Checker(db, fetcher, clock=lambda: NOW, quiet_wait=3600)
        check.register(sources)
        summary = await asyncio.wait_for(check.check_all(sources), timeout=10)  # not an hour
    assert [report.outcome for report in summary.sources] == ["failed", "unchanged"]


async def held_back() -> HeldBack:
    """A HeldBack fetcher made on the running loop (its event belongs to it)."""
    return HeldBack(FAST)


class HeldBack(Fetcher):
    """A fetcher whose every source answers 304, the source named `slow` only once the test lets it."""

    def __init__(self, limits: FetchLimits) -> None:
        super().__init__(limits)
        self.go = asyncio.Event()

    async def fetch(
        self, url: str, validators: Validators = NO_VALIDATORS, *, allow_private: bool = False
    ) -> FetchResult:
        if url.endswith("/slow"):
            await self.go.wait()
        return FetchResult("not_modified", url, url, 304, validators=validators)


async def test_quiet_checks_wait_for_a_check_still_under_way_and_are_recorded_with_it(db: Database) -> None:
    sources = [spec(name, f"http://127.0.0.1:9/{name}") for name in ("a", "b", "slow")]
    async with HeldBack(FAST) as fetcher:
        check = Checker(db, fetcher, clock=lambda: NOW, quiet_wait=3600)
        check.register(sources)
        statements = traced(db)
        checking = asyncio.create_task(check.check_all(sources))
        for _ in range(5):
            await asyncio.sleep(0)
        begun = [statement for statement in statements if statement.startswith("BEGIN")]
        assert not checking.done() and len(begun) == 1  # the sources' rows made sure of; a and b wait
        fetcher.go.set()
        summary = await asyncio.wait_for(checking, timeout=10)
        db.conn.set_trace_callback(None)
    assert summary.as_json()["unchanged"] == 3
    assert len([statement for statement in statements if statement.startswith("BEGIN")]) == 2  # all three at once


async def test_a_cycle_of_304s_before_the_database_opened_reads_only_which_of_its_sources_were_down(
    db: Database,
) -> None:
    """A source's row is wanted for a body, to compare its items with the last ones kept: a 304 needs none."""
    sources = [spec(f"s{n}", f"http://127.0.0.1:9/{n}") for n in range(5)]
    async with NotModified(FAST) as fetcher:
        checker(db, fetcher, Recorder()).register(sources)
        fresh = Checker(None, fetcher, clock=lambda: NOW, gate=RecordingGate())

        async def open_services() -> None:
            raise AssertionError("a cycle of 304s from sources that were up needs no services")

        checking = asyncio.create_task(fresh.check_all(sources, known={}))
        await asyncio.sleep(0)
        statements = traced(db)
        fresh.start_recording_quietly(db, open_services)
        summary = await asyncio.wait_for(checking, timeout=10)
        db.conn.set_trace_callback(None)
    assert summary.as_json()["unchanged"] == 5
    assert [statement for statement in statements if statement.lstrip().startswith("SELECT *")] == []


async def test_the_same_items_again_before_the_database_opened_are_compared_with_its_row_and_stored_quietly(
    db: Database,
) -> None:
    async def handler(request: Request, exchange: Exchange) -> Response:
        return Response(200, feed("a", "b"), RSS)

    async with serve({"/feed": handler}) as base, Fetcher(FAST) as fetcher:
        source = spec("s", base + "/feed")
        await checker(db, fetcher, Recorder()).check(source)  # the items are kept, and their fingerprint
        gate = RecordingGate()
        fresh = Checker(None, fetcher, clock=lambda: NOW, gate=gate)
        checking = asyncio.create_task(fresh.check_all([source], known={}))
        await asyncio.wait_for(gate.reached(), timeout=10)
        statements = traced(db)
        fresh.start_recording(keep_items, ignore_health, db)
        summary = await asyncio.wait_for(checking, timeout=10)
        db.conn.set_trace_callback(None)
    assert [(report.outcome, report.new_items) for report in summary.sources] == [("unchanged", 0)]
    assert [statement for statement in statements if "INTO items" in statement] == []  # nothing stored anew


class ReadsFailing:
    """A database whose reads of the sources' rows by id fail (a damaged page, say); everything else is real."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def conn(self) -> ReadsFailing:
        return self

    def execute(self, sql: str, params: Sequence[object] = ()) -> object:
        if "json_each" in sql:
            raise sqlite3.OperationalError("disk I/O error")
        return self.db.conn.execute(sql, params)

    def executemany(self, sql: str, rows: object) -> object:
        return self.db.conn.executemany(sql, rows)  # type: ignore[arg-type]

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        return self.db.atomic()


async def test_quiet_checks_recorded_before_the_services_open_fail_alone_when_their_rows_cannot_be_read(
    db: Database,
) -> None:
    """Recording waits for no services until a check needs them: here the reading fails, and each check ends
    failed instead of waiting for ever."""
    sources = [spec(name, f"http://127.0.0.1:9/{name}") for name in ("a", "b")]
    async with NotModified(FAST) as fetcher:
        checker(db, fetcher, Recorder()).register(sources)
        fresh = Checker(None, fetcher, clock=lambda: NOW, gate=RecordingGate())

        async def open_services() -> None:
            fresh.start_recording(keep_items, ignore_health, db)

        checking = asyncio.create_task(fresh.check_all(sources, known={}))
        await asyncio.sleep(0)
        fresh.start_recording_quietly(ReadsFailing(db), open_services)  # type: ignore[arg-type]
        summary = await asyncio.wait_for(checking, timeout=10)
    assert [(report.outcome, report.error) for report in summary.sources] == [
        ("failed", "internal error while recording (logged)")
    ] * 2
