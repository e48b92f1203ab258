"""Flood benchmark: one user sends 300 `/exposure japan` at once while another asks `/status gallium`.

The real Application long-polls a fake Bot API on loopback (tests/fake_bot_api.py, in this process) that takes
50 ms to answer each message, as Telegram's servers about do. The figure is how long the other user waits for
the answer, from the moment the question is queued to the moment the answer reaches the fake Bot API, next to
the same question asked with no flood. Each round runs a fresh bot on a fresh database.

    python -m bench flood        # through `make bench`
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI

FLOOD = 300
ROUNDS = 3
FLOODER = 501
OTHER = 502
CALM = 503  # asks the same with no flood (a chat of its own: one message a second per chat is a limit kept)
QUESTION = "/status gallium"
LATENCY = 0.05  # seconds the fake Bot API takes to answer each sendMessage, as Telegram's servers about do
SETTLE = 7.0  # seconds after the answer to count what the flooder got in the end


async def answered_in(api: FakeBotAPI, chat_id: int, asked: float, count: int) -> float:
    """Seconds from `asked` to the arrival of this chat's `count`-th message."""
    await api.wait_for_messages(chat_id, count, timeout=120)
    arrivals = [moment for moment, chat in api.received if chat == chat_id]
    return arrivals[count - 1] - asked


async def one_round(folder: Path) -> tuple[float, float, int]:
    """(seconds for the answer without a flood, seconds under the flood, messages the flooder got in the end)."""
    async with FakeBotAPI(delay=LATENCY, lifetime=600) as api, polling_bot(api, folder / "bench.db"):
        asked = time.time()
        api.user_says(QUESTION, chat_id=CALM)
        idle = await answered_in(api, CALM, asked, 1)
        for _ in range(FLOOD):
            api.user_says("/exposure japan", chat_id=FLOODER)
        asked = time.time()
        api.user_says(QUESTION, chat_id=OTHER)
        flooded = await answered_in(api, OTHER, asked, 1)
        await asyncio.sleep(SETTLE)
        return idle, flooded, len(api.messages_to(FLOODER))


async def rounds() -> list[tuple[float, float, int]]:
    """ROUNDS rounds, each in a fresh folder."""
    results = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as folder:
            results.append(await one_round(Path(folder)))
    return results


def main() -> None:
    """Run the rounds and print the figures."""
    results = asyncio.run(rounds())
    idle = [result[0] for result in results]
    flooded = [result[1] for result in results]
    flooder = sorted({result[2] for result in results})
    print(
        f"another user's {QUESTION} under a flood of {FLOOD} /exposure japan from one user: answered in "
        f"{statistics.median(flooded):.2f} s (median of {ROUNDS}; runs {', '.join(f'{s:.2f}' for s in flooded)}); "
        f"with no flood {statistics.median(idle):.2f} s"
    )
    print(f"the flooder got {' or '.join(map(str, flooder))} messages for its {FLOOD} commands")


if __name__ == "__main__":
    main()
