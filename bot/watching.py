"""Wiring of the checks: the sources, one fetcher, the parser workers, the checker and their schedule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.html import counted
from bot.domain.rules import load_rules
from bot.runtime import alert_context
from handlers.context import Services
from jobs.check import Checker, CheckSummary
from jobs.fetch import Fetcher
from jobs.lane import ReadingLane
from jobs.pipeline import MeasuringSink, RulesOnFirstUse, SourceHealthAlerts
from jobs.reading import measure_in_worker
from jobs.sources import SourceSpec, bundled_sources_path, load_sources
from jobs.workers import ParserPool
from storage.heartbeats import CHECK
from storage.sources import get_source, list_sources

if TYPE_CHECKING:  # the scheduler is for `run` only: a one-shot `check` starts faster without importing it
    from apscheduler.schedulers.base import BaseScheduler

logger = logging.getLogger(__name__)


@dataclass
class Watch:
    """What checking runs on, opened together and closed together."""

    sources: list[SourceSpec]
    fetcher: Fetcher
    pool: ParserPool
    checker: Checker

    async def close(self) -> None:
        """Close the HTTP client and stop the parser workers."""
        await self.fetcher.aclose()
        self.pool.close()


def sources_path(configured: Path | None) -> Path:
    """CHOKEPOINT_SOURCES, or the bundled file."""
    return configured or bundled_sources_path()


def open_watch(
    services: Services,
    sources: list[SourceSpec],
    notify: Callable[[], None] = lambda: None,
    lane: ReadingLane | None = None,
) -> Watch:
    """A fetcher, parser workers and a checker over the services' database, measuring what it finds."""
    fetcher = Fetcher()
    pool = ParserPool(annotate=measure_in_worker, lane=lane or ReadingLane(measure_in_worker))
    alerts = alert_context(services)
    sink = MeasuringSink(RulesOnFirstUse(lambda: load_rules(services.vocabulary)), alerts)
    checker = Checker(
        services.db, fetcher, sink=sink, on_health=SourceHealthAlerts(services.admins), parse=pool,
        notify=notify, clock=services.clock,
    )  # fmt: skip
    return Watch(sources, fetcher, pool, checker)  # each check registers its sources; the schedule does too


def summary_lines(summary: CheckSummary) -> list[str]:
    """A check's summary for people: the totals, then each source that changed or failed."""
    totals = summary.as_json()
    lines = [
        f"Checked {counted(totals['checked'], 'source')} in {totals['seconds']:.1f} s: "
        f"{totals['unchanged']} unchanged, {totals['changed']} changed, {totals['failed']} failed; "
        f"{counted(totals['new_items'], 'new item')}, {counted(totals['status_changes'], 'status change')}."
    ]
    for report in summary.sources:
        if report.outcome == "failed":
            lines.append(f"  ✗ {report.id}: {report.error}")
        elif report.outcome == "changed":
            lines.append(f"  + {report.id}: {counted(report.new_items, 'new item')}")
    return lines


async def check_now(watch: Watch, ids: Sequence[str] | None) -> list[str]:
    """Check these sources (or all) now, whatever their schedule; the summary for the chat."""
    chosen = [source for source in watch.sources if ids is None or source.id in ids]
    return summary_lines(await watch.checker.check_all(chosen))


def start_checks(watch: Watch, scheduler: BaseScheduler, services: Services) -> None:
    """One job per source; each checks only when the database says it is due (not backing off)."""
    from bot.heartbeat import heartbeat  # it imports the Telegram library, which `check` does without
    from jobs.schedule import schedule_checks, should_run

    watch.checker.register(watch.sources)  # a new source has its row before the schedule reads when it is due
    next_checks = {row["id"]: row["next_check_at"] for row in list_sources(services.db)}

    beat = heartbeat(services, CHECK)

    async def run(source: SourceSpec) -> None:
        if should_run(get_source(services.db, source.id), services.clock(), source.every_seconds):
            await watch.checker.check(source)
            beat()

    schedule_checks(scheduler, watch.sources, next_checks, run, services.clock())
    logger.info("scheduled %d sources", len(watch.sources))


def load_watched_sources(configured: Path | None) -> list[SourceSpec]:
    """The sources to watch; SourcesFileError names file, source and key."""
    return load_sources(sources_path(configured))
