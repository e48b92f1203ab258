"""Scheduling checks: one APScheduler job per source, due-ness read from the database, starts spread out."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs.sources import SourceSpec

logger = logging.getLogger(__name__)

MAX_START_SPREAD = dt.timedelta(minutes=2)
JITTER_SHARE = 0.1  # of the interval


def stagger(source_id: str, every_seconds: int) -> dt.timedelta:
    """A stable offset within the interval (two minutes at most): sources due together do not start at once."""
    window = min(dt.timedelta(seconds=every_seconds), MAX_START_SPREAD).total_seconds()
    fraction = int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return dt.timedelta(seconds=window * fraction)


def first_run_at(source: SourceSpec, next_check_at: str | None, now: dt.datetime) -> dt.datetime:
    """When a source's first check after a start runs: when it was due (spread if already past), never later."""
    due = dt.datetime.fromisoformat(next_check_at) if next_check_at else now
    return max(due, now + stagger(source.id, source.every_seconds)) if due <= now else due


def is_due(next_check_at: str | None, now: dt.datetime, slack: dt.timedelta = dt.timedelta(seconds=1)) -> bool:
    """Whether a source backing off may be checked now; `slack` absorbs the scheduler's jitter."""
    return next_check_at is None or dt.datetime.fromisoformat(next_check_at) <= now + slack


def should_run(row: Mapping[str, Any] | None, now: dt.datetime, every_seconds: int) -> bool:
    """A healthy source runs whenever its job fires; a failing one only once its backoff has passed.

    The backoff is measured from the failed check's start, and jobs fire up to a tenth of the interval late,
    so that much slack keeps a source from skipping a whole interval because of jitter.
    """
    if row is None or not row["consecutive_failures"]:
        return True
    slack = dt.timedelta(seconds=every_seconds * JITTER_SHARE + 1)
    return is_due(row["next_check_at"], now, slack)


def guarded(source_id: str, check: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """The job body: a failing check is logged and never reaches the scheduler."""

    async def job() -> None:
        try:
            await check()
        except Exception:
            logger.exception("scheduled check of %s failed", source_id)

    return job


def schedule_checks(
    scheduler: BaseScheduler,
    sources: Iterable[SourceSpec],
    next_checks: Mapping[str, str | None],
    run: Callable[[SourceSpec], Awaitable[Any]],
    now: dt.datetime,
) -> list[str]:
    """Add one job per source at its interval with jitter; return the job ids."""
    ids = []
    for source in sources:
        start = first_run_at(source, next_checks.get(source.id), now)
        trigger = IntervalTrigger(
            seconds=source.every_seconds, start_date=start, jitter=int(source.every_seconds * JITTER_SHARE)
        )
        job_id = f"check:{source.id}"
        scheduler.add_job(
            guarded(source.id, lambda s=source: run(s)),  # type: ignore[misc]
            trigger,
            id=job_id,
            name=f"check {source.id}",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            next_run_time=start,
            misfire_grace_time=source.every_seconds,
        )
        ids.append(job_id)
    return ids
