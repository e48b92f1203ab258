"""IANA time zones as people type them: any case, with the closest names when a name is not one."""

from __future__ import annotations

import zoneinfo


def known_time_zone(name: str) -> str:
    """The IANA name of a time zone typed in any case ('asia/tokyo' → 'Asia/Tokyo'); ValueError naming the closest
    ones when there is no such zone."""
    try:
        zoneinfo.ZoneInfo(name)
        return name  # the common case, without listing every zone (a walk of the time zone database)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ('Asia'), say
        pass
    import difflib  # only a name that is no zone needs it

    by_lower = {known.lower(): known for known in zoneinfo.available_timezones()}
    typed = name.strip().lower()
    if typed in by_lower:
        return by_lower[typed]
    closest = [by_lower[lower] for lower in difflib.get_close_matches(typed, by_lower, n=3, cutoff=0.6)]
    if not closest:
        raise ValueError(f"unknown time zone '{name[:40]}'; use e.g. UTC, Asia/Tokyo, Europe/Berlin")
    raise ValueError(f"unknown time zone '{name[:40]}'. Closest: {', '.join(closest)}")
