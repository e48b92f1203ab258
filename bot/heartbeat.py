"""Heartbeats of the running bot: a poll of Telegram answered, a check finished; `chokepoint health` reads them."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from telegram.request import BaseRequest, HTTPXRequest, RequestData

from handlers.context import Services
from storage.heartbeats import Heartbeat, record_heartbeat

logger = logging.getLogger(__name__)

POLL_BEAT_EVERY = dt.timedelta(seconds=30)  # a busy bot polls many times a second: one write per half minute


def heartbeat(services: Services, name: Heartbeat, every: dt.timedelta = dt.timedelta(0)) -> Callable[[], None]:
    """A function that records the heartbeat `name` now, at most once per `every`; a failed write is logged."""
    last: list[dt.datetime] = []

    def beat() -> None:
        now = services.clock()
        if last and now - last[0] < every:
            return
        try:
            record_heartbeat(services.db, name, now.isoformat())
        except sqlite3.Error as error:  # the health check will notice; the bot goes on
            logger.warning("could not record the %s heartbeat: %s", name, error)
            return
        last[:] = [now]

    return beat


class PollingRequest(HTTPXRequest):
    """PTB's HTTP request for getUpdates, calling `beat` each time the Bot API server answers a poll."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)
        self.beat: Callable[[], None] = lambda: None  # set once the database is open (post_init)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make the request; an answer of 200 is a heartbeat."""
        answer = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if answer[0] == 200:
            self.beat()
        return answer
