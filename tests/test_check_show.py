"""`chokepoint check --source ID --show`: one source fetched now, each item printed with what measuring made of
it, nothing stored — so an operator can verify a selector and the reading against the live page."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

import pytest

from bot.cli import main
from tests.loopback import LoopbackServer, Response

FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
    "<item><title>China halts rare-earth export licence approvals for Japanese companies, sources say</title>"
    "<link>https://wire.example/a1</link><guid>a1</guid><pubDate>Mon, 30 Nov 2026 08:40:00 GMT</pubDate></item>"
    "<item><title>中國暫停實施對美國鎵、鍺出口管制</title><link>https://wire.example/a2</link><guid>a2</guid></item>"
    "<item><title>Toyota raises full-year profit forecast</title><guid>a3</guid></item>"
    "</channel></rss>"
)


def sources_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        f"  - {{id: local-wire, name: Local wire, kind: rss, url: '{url}', every: 10m, issuer: CN,"
        " allow_private: true}\n",
        encoding="utf-8",
    )
    return path


async def run_show(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(main, ["check", *args])
    return code, out.getvalue(), err.getvalue()


async def test_show_prints_each_item_with_its_reading_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "bot.db"))
    async with LoopbackServer({"/feed": Response(200, FEED, {"Content-Type": "application/rss+xml"})}) as server:
        path = sources_file(tmp_path, server.url("/feed"))
        code, out, _ = await run_show(tmp_path, "--sources", str(path), "--source", "local-wire", "--show")
    assert code == 0
    assert out.startswith("local-wire (Local wire, rss, trust press): 3 items, http://127.0.0.1:")
    assert "→ tighten restricted (4) (reported): CN → JP: rare_earths" in out
    assert (  # a newsroom's item: reported, as a check records it, though its headline hedges nothing
        "中國暫停實施對美國鎵、鍺出口管制\n  https://wire.example/a2\n"
        "  → ease licensing (2) (reported): CN → US: gallium" in out
    )
    assert "undated Toyota raises full-year profit forecast\n  http://127.0.0.1:" in out  # the guid, resolved
    assert out.endswith("→ none: no export-control signal []\n")
    assert not (tmp_path / "bot.db").exists()


async def test_an_unknown_source_names_the_closest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "bot.db"))
    path = sources_file(tmp_path, "http://127.0.0.1:9/feed")
    code, _, err = await run_show(tmp_path, "--sources", str(path), "--source", "local-wir", "--show")
    assert code == 2 and "unknown source 'local-wir'. Closest: local-wire." in err
    code, _, err = await run_show(tmp_path, "--sources", str(path), "--show")
    assert code == 2 and "--show needs --source ID" in err


async def test_show_reads_an_html_page_as_a_check_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTML page is read in a parser worker, under the reading deadline, as a check reads it (jobs/workers.py)."""
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "bot.db"))
    page = (
        "<html><body><ul class='news'>"
        "<li><a href='/a1'>商务部公告：对镓、锗相关物项实施出口管制</a></li>"
        "<li><a href='/a2'>商务部举行例行新闻发布会</a></li>"
        "</ul></body></html>"
    )
    async with LoopbackServer({"/news": Response(200, page, {"Content-Type": "text/html; charset=utf-8"})}) as server:
        path = tmp_path / "sources.yaml"
        path.write_text(
            "sources:\n"
            f"  - {{id: mofcom, name: MOFCOM, kind: html, url: '{server.url('/news')}', every: 10m, issuer: CN,"
            " select: 'ul.news li a', trust: official, allow_private: true}\n",
            encoding="utf-8",
        )
        code, out, _ = await run_show(tmp_path, "--sources", str(path), "--source", "mofcom", "--show")
    assert code == 0
    assert out.startswith("mofcom (MOFCOM, html, trust official): 2 items, http://127.0.0.1:")
    assert "商务部公告:对镓、锗相关物项实施出口管制\n  http://127.0.0.1:" in out  # NFKC: a full-width colon
    assert "gallium, germanium" in out.split("\n\n")[1]  # the announcement is read as a measure
    assert "→ none: no export-control signal []\n" in out  # the press conference
    assert not (tmp_path / "bot.db").exists()
