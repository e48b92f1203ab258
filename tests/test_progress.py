"""`chokepoint check`'s progress bar: drawn on a terminal, silent when piped or with --json."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import sys
from pathlib import Path

import pytest

from bot.progress import CHECKING, progress_bar, wants_progress
from tests.loopback import Response, serve

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Gallium exports resume'
    "</title><link>https://example.org/1</link><guid>1</guid></item></channel></rss>"
)


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_bar_is_wanted_on_a_terminal_only_and_never_with_json() -> None:
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert wants_progress(terminal, json_output=False)
        assert not wants_progress(terminal, json_output=True)
    os.close(leader)
    assert not wants_progress(io.StringIO(), json_output=False)


def test_the_bar_counts_the_sources_on_a_terminal() -> None:
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        with progress_bar(3, terminal, shown=True) as tick:
            for source in ("mofcom", "gac", "reuters"):
                tick(source)
        terminal.flush()
    os.set_blocking(leader, False)
    shown = read_all(leader)
    os.close(leader)
    assert CHECKING in shown and "3/3" in shown and "reuters" in shown


def test_the_bar_writes_nothing_when_not_shown() -> None:
    stream = io.StringIO()
    with progress_bar(3, stream, shown=False) as tick:
        tick("mofcom")
    assert stream.getvalue() == ""


async def run_check(tmp_path: Path, base: str, *flags: str, terminal: bool) -> str:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{id: feed, name: feed, kind: rss, url: '{base}/feed', every: 10m}}\n")
    leader, follower = pty.openpty() if terminal else os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", "--sources", str(sources), *flags,
        stdout=follower, stderr=asyncio.subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    os.close(follower)
    output = await asyncio.wait_for(asyncio.to_thread(read_all, leader), timeout=120)
    await asyncio.wait_for(process.wait(), timeout=30)
    os.close(leader)
    assert process.returncode == 0
    return output


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "check.db"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)


@pytest.mark.usefixtures("database")
async def test_check_on_a_terminal_shows_the_bar_piped_or_json_does_not(tmp_path: Path) -> None:
    async with serve({"/feed": Response(200, FEED, {"Content-Type": "application/rss+xml"})}) as base:
        on_terminal = await run_check(tmp_path, base, terminal=True)
        piped = await run_check(tmp_path, base, terminal=False)
        json_on_terminal = await run_check(tmp_path, base, "--json", terminal=True)
    assert CHECKING in on_terminal
    assert CHECKING not in piped and piped.startswith("Checked 1 source")
    assert CHECKING not in json_on_terminal
    assert json.loads(json_on_terminal)["checked"] == 1
