"""Whether a running bot is healthy, from its heartbeats: it polls Telegram and finishes checks often enough."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

MIN_CHECK_AGE = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """How old the last poll and the last finished check may be."""

    poll: dt.timedelta = dt.timedelta(minutes=5)  # long polls come back every few seconds
    check: dt.timedelta = dt.timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Healthy or not, and one line that says why."""

    healthy: bool
    reason: str


def check_limit(shortest_interval: dt.timedelta) -> dt.timedelta:
    """The default age limit of the last check: three of the most frequent source's intervals, 15 min at least."""
    return max(MIN_CHECK_AGE, 3 * shortest_interval)


def health_verdict(beats: Mapping[str, dt.datetime], now: dt.datetime, limits: HealthLimits) -> Verdict:
    """Judge the heartbeats start, poll and check at `now`; a poll or check from before the start counts as none."""
    start = beats.get("start")
    if start is None:
        return Verdict(False, "unhealthy: the bot has not run on this database (no heartbeat)")
    problems: list[str] = []
    notes: list[str] = []
    for name, limit in (("poll", limits.poll), ("check", limits.check)):
        last = beats.get(name)
        since = last if last is not None and last >= start else start
        age = now - since
        line = f"last {name} {_age(age)} ago" if since is last else f"no {name} since the start {_age(age)} ago"
        if age > limit:
            problems.append(f"{line} (limit {_age(limit)})")
        else:
            notes.append(line)
    if problems:
        return Verdict(False, "unhealthy: " + "; ".join(problems))
    return Verdict(True, "healthy: " + ", ".join(notes))


def _age(span: dt.timedelta) -> str:
    """A duration for people: 42 s, 7 min, 3 h."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 120 * 60:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
