"""The one real clock. The core never reads it: the wiring passes `now` (or this function) in, so that tests
pass a fixed time instead."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
