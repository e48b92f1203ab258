"""When an alert may reach a chat: digests, quiet hours and mutes, and the words people use for them.

Pure: every function takes `now` (timezone-aware); local times are read in the chat's IANA time zone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from bot.domain.alert_payloads import AlertPayload, StatusPayload
from bot.domain.ladder import Level
from bot.domain.problems import Problem

logger = logging.getLogger(__name__)
BANNED = int(Level.BANNED)

MAX_MUTE = dt.timedelta(days=30)
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")
_DURATION = re.compile(r"(\d+)(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)")
_UNITS = {"m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True, slots=True)
class Hold:
    """A chat's delivery preferences, as far as timing goes."""

    timezone: str = "UTC"
    digest_at: dt.time | None = None
    quiet: tuple[dt.time, dt.time] | None = None
    quiet_allows_banned: bool = False
    muted_until: dt.datetime | None = None


def parse_clock(text: str) -> dt.time:
    """'08:00', '8:30' or '8' as a time of day; ValueError with the expected form."""
    match = _CLOCK.fullmatch(text.strip())
    hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (99, 99)
    if hour > 23 or minute > 59:
        raise Problem("'%(text)s' is not a time of day; use HH:MM, e.g. 08:00", text=text[:20])
    return dt.time(hour, minute)


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    """'22:00-07:00' as (start, end); the window may wrap midnight."""
    start, separator, end = text.partition("-")
    if not separator:
        raise Problem("'%(text)s' is not a window; use HH:MM-HH:MM, e.g. 22:00-07:00", text=text[:20])
    window = parse_clock(start), parse_clock(end)
    if window[0] == window[1]:
        raise Problem("the window starts and ends at the same time")
    return window


def parse_duration(text: str) -> dt.timedelta:
    """'4h', '30m', '2d', '1h30m' as a duration of at most 30 days."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise Problem("'%(text)s' is not a duration; use e.g. 30m, 4h, 2d", text=text[:20])
    duration = dt.timedelta(seconds=sum(int(number) * _UNITS[unit[0]] for number, unit in parts))
    if not dt.timedelta(0) < duration <= MAX_MUTE:
        raise Problem("a mute lasts from a minute to 30 days")
    return duration


def clock_text(value: dt.time) -> str:
    """'08:00'."""
    return value.strftime("%H:%M")


def zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone; ValueError naming examples for an unknown one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Problem("unknown time zone '%(name)s'; use e.g. UTC, Asia/Tokyo, Europe/Berlin", name=name[:40]) from None


def next_daily(at: dt.time, timezone: str, now: dt.datetime) -> dt.datetime:
    """The next moment (UTC) the local clock shows `at`, at or after `now`; once a day (where a fall-back hour
    repeats `at`, its first occurrence). Compared in UTC: two local times of one zone compare by wall clock."""
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    for days in range(3):
        candidate = dt.datetime.combine(today + dt.timedelta(days=days), at, tzinfo=tz).astimezone(dt.UTC)
        if candidate >= now:
            return candidate
    raise AssertionError("unreachable: a local time of day recurs within two days")


def next_local(at: dt.time, timezone: str, now: dt.datetime) -> dt.datetime:
    """The next moment (UTC) the local clock shows `at`, at or after `now`, counting both passes of a repeated
    fall-back hour (the end of a quiet window comes on the first of them after `now`)."""
    first = next_daily(at, timezone, now)
    tz = zone(timezone)
    for date in sorted({now.astimezone(tz).date(), first.astimezone(tz).date()}):
        second = dt.datetime.combine(date, at, tzinfo=tz).replace(fold=1)
        repeated = second.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == second.replace(tzinfo=None)
        second_utc = second.astimezone(dt.UTC)
        if repeated and now <= second_utc < first:
            first = second_utc
    return first


def in_window(window: tuple[dt.time, dt.time], moment: dt.time) -> bool:
    """Whether a local time of day falls inside [start, end), wrapping midnight when start > end."""
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def quiet_until(window: tuple[dt.time, dt.time], timezone: str, now: dt.datetime) -> dt.datetime | None:
    """When the quiet window around `now` ends (UTC), or None when `now` is not in it."""
    local = now.astimezone(zone(timezone))
    if not in_window(window, local.time().replace(tzinfo=None)):
        return None
    return next_local(window[1], timezone, now)


def release_time(hold: Hold, now: dt.datetime, *, banned: bool) -> tuple[dt.datetime, bool]:
    """When an alert may go out to a chat, and whether it waits for the digest.

    A digest chat gets it in its next digest. Otherwise a mute holds it to the mute's end, and quiet hours to
    their end — except a `banned` change for a chat whose quiet hours let those through.
    """
    if hold.digest_at is not None:
        return next_daily(hold.digest_at, hold.timezone, now), True
    moment = now
    if hold.muted_until is not None and hold.muted_until > moment:
        moment = hold.muted_until
    if hold.quiet is not None and not (banned and hold.quiet_allows_banned):
        moment = quiet_until(hold.quiet, hold.timezone, moment) or moment
    return moment, False


def hold_of_timezone(subscriber: Mapping[str, Any]) -> str:
    """The chat's time zone, UTC when unset or unusable."""
    name = str(subscriber.get("timezone") or "UTC")
    try:
        zone(name)
    except ValueError:
        return "UTC"
    return name


def hold_of(subscriber: Mapping[str, Any]) -> Hold:
    """A subscriber row's timing preferences (a bad stored value counts as unset)."""
    start, end, digest_at, muted = (subscriber[key] for key in ("quiet_start", "quiet_end", "digest_at", "muted_until"))
    try:
        return Hold(
            timezone=hold_of_timezone(subscriber),
            digest_at=parse_clock(digest_at) if digest_at else None,
            quiet=(parse_clock(start), parse_clock(end)) if start and end else None,
            quiet_allows_banned=bool(subscriber["quiet_allows_banned"]),
            muted_until=dt.datetime.fromisoformat(muted) if muted else None,
        )
    except ValueError:
        logger.warning("chat %s has unusable timing settings; delivering now", subscriber.get("chat_id"))
        return Hold()


@dataclass(frozen=True, slots=True)
class Placement:
    """When an alert goes to one chat, whether it waits for the digest, and which of the chat's modes hold it
    (the outbox writes these as a delivery's mode and `held_by`)."""

    due: dt.datetime
    digest: bool = False
    muted: bool = False
    quiet: bool = False


def placement(hold: Hold, now: dt.datetime, *, banned: bool) -> Placement:
    """A delivery's due time and holds, for an alert raised at `now` (see release_time)."""
    due, digest = release_time(hold, now, banned=banned)
    if digest:
        return Placement(due, digest=True)
    muted_until = hold.muted_until if hold.muted_until is not None and hold.muted_until > now else now
    return Placement(due, muted=muted_until > now, quiet=_quiet_holds(hold, muted_until, banned=banned))


def _quiet_holds(hold: Hold, moment: dt.datetime, *, banned: bool) -> bool:
    """Whether the chat's quiet hours hold an alert at `moment` (a ban may pass when the chat says so)."""
    if hold.quiet is None or (banned and hold.quiet_allows_banned):
        return False
    return quiet_until(hold.quiet, hold.timezone, moment) is not None


def raises_a_ban(payload: AlertPayload) -> bool:
    """Whether an alert's payload moves something to banned (quiet hours may let those through); only a status
    alert's can."""
    changes = cast(StatusPayload, payload).get("changes", [])
    return any(c["new"] == BANNED and c["new"] > c["old"] for c in changes)
