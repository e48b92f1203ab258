"""Scheduling: due-ness from the database, starts spread over the interval, a failing job contained."""

from __future__ import annotations

import datetime as dt

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.watching import open_watch, start_checks
from handlers.context import Services
from jobs.schedule import MAX_START_SPREAD, first_run_at, guarded, is_due, schedule_checks, should_run, stagger
from jobs.sources import SourceSpec
from storage.sources import list_sources

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def spec(source_id: str, every: int = 600) -> SourceSpec:
    return SourceSpec(id=source_id, name=source_id, kind="rss", url="http://127.0.0.1/", every_seconds=every)


def test_a_source_due_later_keeps_its_time_across_a_restart() -> None:
    later = NOW + dt.timedelta(minutes=7)
    assert first_run_at(spec("a"), later.isoformat(), NOW) == later


def test_overdue_and_new_sources_run_soon_spread_within_two_minutes() -> None:
    starts = [first_run_at(spec(f"s{i}"), None, NOW) for i in range(200)]
    assert all(NOW <= start <= NOW + MAX_START_SPREAD for start in starts)
    assert len(set(starts)) > 150  # spread, not a herd
    overdue = (NOW - dt.timedelta(hours=3)).isoformat()
    assert NOW <= first_run_at(spec("x"), overdue, NOW) <= NOW + MAX_START_SPREAD


def test_stagger_is_stable_and_within_the_interval() -> None:
    assert stagger("mofcom", 600) == stagger("mofcom", 600)
    assert stagger("fast", 30) <= dt.timedelta(seconds=30)


def test_is_due_reads_the_backoff() -> None:
    assert is_due(None, NOW)
    assert is_due((NOW - dt.timedelta(seconds=5)).isoformat(), NOW)
    assert not is_due((NOW + dt.timedelta(minutes=5)).isoformat(), NOW)


async def test_one_job_per_source_at_its_interval_with_jitter_and_no_overlap() -> None:
    scheduler = AsyncIOScheduler(timezone="UTC")
    ran: list[str] = []

    async def run(source: SourceSpec) -> None:
        ran.append(source.id)

    ids = schedule_checks(scheduler, [spec("a", 600), spec("b", 3600)], {"b": None}, run, NOW)
    assert ids == ["check:a", "check:b"]
    job = scheduler.get_job("check:b")
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == dt.timedelta(hours=1) and job.trigger.jitter == 360
    assert (job.max_instances, job.coalesce) == (1, True)
    await job.func()
    assert ran == ["b"]


async def test_a_failing_check_is_logged_not_raised(caplog: object) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    await guarded("a", explode)()
    assert "scheduled check of a failed" in caplog.text  # type: ignore[attr-defined]


def test_a_healthy_source_runs_whenever_its_job_fires() -> None:
    row = {"consecutive_failures": 0, "next_check_at": (NOW + dt.timedelta(minutes=9)).isoformat()}
    assert should_run(row, NOW, 600)
    assert should_run(None, NOW, 600)


def test_a_failing_source_waits_for_its_backoff_but_not_for_jitter() -> None:
    failed_at = NOW  # the failed check started now, with one failure: due again one interval later
    row = {"consecutive_failures": 1, "next_check_at": (failed_at + dt.timedelta(seconds=600)).isoformat()}
    assert not should_run(row, NOW + dt.timedelta(seconds=300), 600)
    # the next job fires with less jitter than the failed one had: 40 s "early" is still this interval's run
    assert should_run(row, NOW + dt.timedelta(seconds=560), 600)
    row["consecutive_failures"] = 3  # backoff 2,400 s
    row["next_check_at"] = (failed_at + dt.timedelta(seconds=2400)).isoformat()
    assert not should_run(row, NOW + dt.timedelta(seconds=1200), 600)
    assert should_run(row, NOW + dt.timedelta(seconds=2400), 600)


async def test_opening_the_checks_writes_nothing_and_the_schedule_registers_its_sources(services: Services) -> None:
    watch = open_watch(services, [spec("a"), spec("b")])
    try:
        assert list_sources(services.db) == []  # a one-shot check registers its sources as it checks them
        start_checks(watch, AsyncIOScheduler(timezone="UTC"), services)
        assert [row["id"] for row in list_sources(services.db)] == ["a", "b"]
    finally:
        await watch.close()
