"""Reading a fetched body into items, and measuring them where the reading happens: in the checking process or in
a parser worker (jobs/workers.py), which imports this module and little else, so a worker starts small.

Between a worker and the checking process readings travel packed as plain tuples: a feed's readings cost a tenth
of the time to unpickle that way (measured: 13 ms instead of 150 ms a thousand feeds), and the measurements of
items that are not about export controls, all equal, travel once per feed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from jobs.parse import ParsedItem, parse_items
from jobs.sources import SourceSpec

if TYPE_CHECKING:  # measuring is imported where it runs: a check whose worker measures never imports it here
    from bot.domain.measure import Measurement
    from bot.domain.rules import Rules

Annotate: TypeAlias = "Callable[[SourceSpec, ParsedItem], Measurement]"
Packed: TypeAlias = "tuple[str, str, str | None, str, dt.datetime | None, Measurement | None]"


@dataclass(frozen=True, slots=True)
class Reading:
    """A parsed item and what the reader already made of it (when measuring runs there)."""

    item: ParsedItem
    measurement: Measurement | None = None


def read_source(
    source: SourceSpec, text: str, base_url: str, annotate: Annotate | None = None, *, slow: bool = True
) -> list[Reading]:
    """Parse a source's body as its kind says, and annotate each item (plain, so a worker process can run it).

    With slow=False, raise SlowPath for what may take long (see parse_items).
    """
    items = parse_items(
        source.kind, text, base_url=base_url, select=source.select, json_keys=source.json_keys, slow=slow
    )
    return [Reading(item, annotate(source, item) if annotate else None) for item in items]


@functools.cache
def _worker_rules() -> Rules:
    """The measuring rules of a parser worker process, loaded on its first item."""
    from bot.domain.rules import load_rules
    from bot.domain.vocab import load_vocabulary

    return load_rules(load_vocabulary())


def measure_in_worker(source: SourceSpec, item: ParsedItem) -> Measurement:
    """Measure an item inside a parser worker, so that measuring runs in parallel with the event loop."""
    from bot.domain.measure import measure

    return measure(item.title, item.summary, _worker_rules(), default_issuer=source.issuer)


def pack(readings: Sequence[Reading]) -> list[Packed]:
    """Readings as plain tuples, equal measurements as one object (pickle then writes it once)."""
    same: dict[Measurement, Measurement] = {}
    packed: list[Packed] = []
    for reading in readings:
        item, measurement = reading.item, reading.measurement
        if measurement is not None:
            measurement = same.setdefault(measurement, measurement)
        packed.append((item.guid, item.title, item.link, item.summary, item.published, measurement))
    return packed


def unpack(packed: Sequence[Packed]) -> list[Reading]:
    """Packed readings back."""
    return [
        Reading(ParsedItem(guid, title, link, summary, published), measurement)
        for guid, title, link, summary, published, measurement in packed
    ]
