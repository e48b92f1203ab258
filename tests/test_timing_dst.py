"""Digest times and quiet hours across daylight-saving changes: always compared in UTC, never in the past."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.domain.timing import Hold, next_daily, quiet_until, release_time

NEW_YORK = "America/New_York"  # 2026: clocks spring forward on 8 March 07:00Z, fall back on 1 November 06:00Z


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_in_the_repeated_fall_back_hour_the_next_digest_is_tomorrow_not_in_the_past() -> None:
    now = utc(2026, 11, 1, 6, 30)  # 01:30 EST, the second pass of 01:xx
    due = next_daily(dt.time(1, 45), NEW_YORK, now)
    assert due >= now
    assert due == utc(2026, 11, 2, 6, 45)  # 01:45 EST the next day; 01:45 EDT (05:45Z) has passed


def test_a_fall_back_day_has_one_digest() -> None:
    first = next_daily(dt.time(1, 30), NEW_YORK, utc(2026, 11, 1, 4, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_daily(dt.time(1, 30), NEW_YORK, first + dt.timedelta(seconds=1)) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize(
    ("now", "at", "due"),
    [
        (utc(2026, 3, 8, 6, 0), dt.time(8, 0), utc(2026, 3, 8, 12, 0)),  # 08:00 EDT on the short day
        (utc(2026, 3, 8, 6, 0), dt.time(2, 30), utc(2026, 3, 8, 7, 30)),  # 02:30 does not exist: 03:30 EDT
        (utc(2026, 3, 8, 7, 15), dt.time(2, 30), utc(2026, 3, 8, 7, 30)),  # 03:15 EDT: still ahead, not past
        (utc(2026, 3, 8, 12, 30), dt.time(8, 0), utc(2026, 3, 9, 12, 0)),
    ],
)
def test_spring_forward_digests_are_never_in_the_past(now: dt.datetime, at: dt.time, due: dt.datetime) -> None:
    assert next_daily(at, NEW_YORK, now) == due


def test_quiet_hours_end_at_the_local_time_across_both_changes() -> None:
    night = (dt.time(22, 0), dt.time(7, 0))
    assert quiet_until(night, NEW_YORK, utc(2026, 3, 8, 4, 0)) == utc(2026, 3, 8, 11, 0)  # 07:00 EDT
    assert quiet_until(night, NEW_YORK, utc(2026, 11, 1, 3, 0)) == utc(2026, 11, 1, 12, 0)  # 07:00 EST


def test_quiet_hours_inside_the_repeated_hour_end_on_its_second_pass_not_in_the_past() -> None:
    window = (dt.time(1, 0), dt.time(1, 30))
    assert quiet_until(window, NEW_YORK, utc(2026, 11, 1, 5, 10)) == utc(2026, 11, 1, 5, 30)  # first pass
    assert quiet_until(window, NEW_YORK, utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 1, 6, 30)  # second pass


def test_a_digest_chat_placed_in_the_repeated_hour_waits_for_its_next_digest() -> None:
    now = utc(2026, 11, 1, 6, 30)
    due, digest = release_time(Hold(timezone=NEW_YORK, digest_at=dt.time(1, 45)), now, banned=False)
    assert digest and due > now
