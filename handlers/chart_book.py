"""Drawn charts, drawn off the event loop and kept until a status changes.

Drawing takes a few hundred milliseconds of CPU; it runs in a worker thread (`asyncio.to_thread`), so the bot keeps
answering other chats meanwhile. A picture is kept under a key that names what it shows and the latest measure
event and status change it was drawn from (storage/measures.py `latest_change`), with the day: any new event or
change, or a new day, draws it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the drawing modules load when the first chart is drawn or warmed (see ChartBook._default)
    from bot.domain.chart_render import Chart, ChartRenderer
    from bot.domain.chart_words import ChartWords

logger = logging.getLogger(__name__)

Renderer = Callable[["Chart", "ChartWords"], bytes]
KEPT = 64  # pictures kept, the least recently asked for dropped first


class ChartBook:
    """Draws charts in a worker thread and keeps the latest pictures."""

    def __init__(
        self, render: Renderer | None = None, kept: int = KEPT, warm: Callable[[], None] | None = None
    ) -> None:
        """`render` draws (a ChartRenderer's by default, made on first use); `warm` prepares it (the default
        renderer's warm-up; none for a renderer given without one)."""
        self._renderer: ChartRenderer | None = None
        self._making = threading.Lock()  # the first drawing and the warm-up may both ask for it, in two threads
        self._render = render or self._default_render
        self._warm = warm or (self._default_warm if render is None else None)
        self._kept = kept
        self._pictures: OrderedDict[Hashable, bytes] = OrderedDict()
        self._warming: asyncio.Future[None] | None = None

    def _default(self) -> ChartRenderer:
        """The default renderer, made when first asked for: the drawing modules are imported then, in a worker
        thread, not by every process that opens the services (a one-shot `check` draws nothing)."""
        with self._making:
            if self._renderer is None:
                from bot.domain.chart_render import ChartRenderer

                self._renderer = ChartRenderer()
            return self._renderer

    def _default_render(self, chart: Chart, words: ChartWords) -> bytes:
        return self._default().render(chart, words)

    def _default_warm(self) -> None:
        self._default().warm()

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
