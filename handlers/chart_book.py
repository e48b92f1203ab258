"""Drawn charts, drawn off the event loop and kept until a status changes.

Drawing takes a few hundred milliseconds of CPU; it runs in a worker thread (`asyncio.to_thread`), so the bot keeps
answering other chats meanwhile. A picture is kept under a key that names what it shows and the latest measure
event and status change it was drawn from (storage/measures.py `latest_change`), with the day: any new event or
change, or a new day, draws it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

from bot.domain.chart_render import Chart, ChartRenderer
from bot.domain.chart_words import ChartWords

logger = logging.getLogger(__name__)

Renderer = Callable[[Chart, ChartWords], bytes]
KEPT = 64  # pictures kept, the least recently asked for dropped first


class ChartBook:
    """Draws charts in a worker thread and keeps the latest pictures."""

    def __init__(
        self, render: Renderer | None = None, kept: int = KEPT, warm: Callable[[], None] | None = None
    ) -> None:
        """`render` draws (a ChartRenderer's by default); `warm` prepares it (the default renderer's warm-up; none
        for a renderer given without one)."""
        renderer = ChartRenderer()
        self._render = render or renderer.render
        self._warm = warm or (renderer.warm if render is None else None)
        self._kept = kept
        self._pictures: OrderedDict[Hashable, bytes] = OrderedDict()
        self._warming: asyncio.Future[None] | None = None

    def warm_up(self) -> None:
        """Load the drawing library and fonts in a worker thread now, so the first chart asked for is not slower
        than the next (about a second once per process); returns at once. A failure is the first chart's to tell."""
        if self._warm is not None and self._warming is None:
            self._warming = asyncio.get_running_loop().run_in_executor(None, self._quiet_warm)

    async def warmed(self) -> None:
        """Wait for the warm-up started, if any."""
        if self._warming is not None:
            await self._warming

    def _quiet_warm(self) -> None:
        try:
            assert self._warm is not None
            self._warm()
        except Exception:
            logger.warning("charts could not be prepared; the first chart will try again", exc_info=True)

    async def picture(self, key: Hashable, chart: Chart, words: ChartWords) -> bytes:
        """The PNG of a chart: kept, or drawn now off the event loop. A drawing failure is raised."""
        kept = self._pictures.get(key)
        if kept is not None:
            self._pictures.move_to_end(key)
            return kept
        drawn = await asyncio.to_thread(self._render, chart, words)
        self._pictures[key] = drawn
        while len(self._pictures) > self._kept:
            self._pictures.popitem(last=False)
        return drawn

    def __len__(self) -> int:
        return len(self._pictures)
