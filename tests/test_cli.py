"""The command line of docs/ARCHITECTURE.md: exposure and status answers, JSON shapes, exits, and console mode."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from jobs.sources import kept_document
from tests.loopback import Response, serve

OFFLINE_SOURCES = Path(__file__).parent / "fixtures" / "sources" / "offline.yaml"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("CHOKEPOINT_SOURCES", str(OFFLINE_SOURCES))
    return tmp_path


def test_exposure_json_matches_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exposure", "japan", "autos", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"country", "sector", "score", "band", "materials", "buffer_months", "drivers", "as_of"}
    assert (document["country"], document["sector"]) == ("JP", "autos")
    assert 0 <= document["score"] <= 100 and document["band"] in ("high", "severe")
    assert set(document["materials"][0]) >= {"material", "china_share", "share_source", "level", "level_name",
                                             "weight"}  # fmt: skip
    assert document["materials"][0]["end_use"] == "any"
    assert document["buffer_months"] == 2
    assert len(document["as_of"]) == 10


def test_exposure_text_is_the_chat_answer_without_markup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exposure", "jp", "cars"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Japan · autos: ")
    assert "<b>" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exposure", "narnia", "autos"], "unknown country 'narnia'. Closest: "),
        (["exposure", "japan", "knitting"], "unknown sector 'knitting'"),
        (["status", "unobtainium"], "unknown country or material 'unobtainium'"),
    ],
)
def test_unknown_names_exit_non_zero_naming_the_closest(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_status_json_lists_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "gallium", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["query"] == {"kind": "material", "code": "gallium"}
    assert {"ALL", "US", "JP"} <= {status["target"] for status in document["statuses"]}


def test_a_bad_setting_stops_with_the_variable_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOKEPOINT_SEND_RATE", "lots")
    assert main(["status"]) == 2
    assert "CHOKEPOINT_SEND_RATE" in capsys.readouterr().err


def test_run_without_a_token_in_a_terminal_explains_and_answers_in_the_console(isolated: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"/exposure japan autos\n/exposure\n\x04")  # Ctrl-D on an empty line: end of input
        finished = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=isolated,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert finished.returncode == 0, finished.stderr
    assert "No TELEGRAM_BOT_TOKEN is set" in finished.stderr
    assert "@BotFather" in finished.stderr
    assert "Japan · autos: " in finished.stdout
    assert "Usage: /exposure COUNTRY [SECTOR]" in finished.stdout
    assert "100% from China" in finished.stdout


FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>China tightens '
    "rare-earth export reviews for Japan</title><link>https://example.org/1</link><guid>1</guid></item>"
    "</channel></rss>"
)


async def test_check_reports_each_healthy_and_broken_source_and_exits_zero(isolated: Path) -> None:
    routes = {
        "/feed": Response(200, FEED, {"Content-Type": "application/rss+xml"}),
        "/gone": Response(404, "gone"),
        "/error": Response(500, "oops"),
        "/page": Response(200, "<!doctype html><html><body>hi</body></html>", {"Content-Type": "text/html"}),
    }
    async with serve(routes) as base:
        sources = isolated / "sources.yaml"
        entries = "".join(
            f"  - {{id: {path.strip('/')}, name: {path}, kind: rss, url: '{base}{path}', every: 10m,"
            " allow_private: true}\n"
            for path in routes
        )
        sources.write_text(f"sources:\n{entries}", encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", "--sources", str(sources), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=isolated,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    document = json.loads(out)
    outcomes = {
        source["id"]: (source["outcome"], source["new_items"], source["error"]) for source in document["sources"]
    }
    assert outcomes["feed"] == ("changed", 1, None)
    assert outcomes["gone"] == ("failed", 0, "HTTP 404")
    assert outcomes["error"][0] == "failed" and outcomes["page"][0] == "failed"
    assert (document["checked"], document["changed"], document["failed"], document["new_items"]) == (4, 1, 3, 1)
    assert set(document) == {"checked", "unchanged", "changed", "failed", "new_items", "status_changes", "seconds",
                             "sources"}  # fmt: skip
    # The sources file as parsed is kept beside the database, for the next check to read.
    assert kept_document(isolated / "cli.db.sources.json", sources.read_bytes()) is not None


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", [["check", "--json"], ["exposure", "japan"]], ids=["check", "exposure"])
def test_output_that_cannot_be_written_is_an_error_not_a_silent_success(
    isolated: Path, command: list[str], buffered: bool
) -> None:
    """A check ends its process at once (bot/launch.py); its output still reaches the disk, or the exit says not,
    in one line, whether the output is written as it goes or at the end."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}  # as in a shell
    if not buffered:
        environment["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:  # every write fails: no space left on the device
        done = subprocess.run(
            [sys.executable, "-m", "bot", *command], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
            env=environment,
        )  # fmt: skip
    assert done.returncode == 120
    assert done.stderr.endswith("chokepoint: the output could not be written: [Errno 28] No space left on device\n")
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "command", [["status", "gallium"], ["exposure", "japan"], ["check", "--json"]], ids=["status", "exposure", "check"]
)
def test_a_reader_that_went_away_is_no_error(isolated: Path, command: list[str], buffered: bool) -> None:
    """`chokepoint status | head -2`: the reader has what it wanted and closes the pipe; no error follows."""
    environment = dict(os.environ)
    if buffered:  # as in a shell: the output reaches the pipe at the exit
        environment.pop("PYTHONUNBUFFERED", None)
    else:
        environment["PYTHONUNBUFFERED"] = "1"
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first line is written: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *command], stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120,
            env=environment,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert (done.returncode, "Broken pipe" in done.stderr, "Traceback" in done.stderr) == (0, False, False)


def test_a_check_that_ends_its_process_at_once_leaves_its_whole_output(isolated: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--json"], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout)["sources"][0]["id"] == "offline"
    row = sqlite3.connect(isolated / "cli.db").execute("SELECT consecutive_failures FROM sources WHERE id = 'offline'")
    assert row.fetchone() == (1,)  # and what it recorded is in the database: nothing was lost at the exit


def test_a_bad_sources_file_exits_non_zero_naming_file_source_and_key(
    capsys: pytest.CaptureFixture[str], isolated: Path
) -> None:
    sources = isolated / "bad.yaml"
    sources.write_text(
        "sources:\n  - {id: a, name: A, kind: rss, url: 'http://127.0.0.1:9/', every: 10m, colour: red}\n"
    )
    assert main(["check", "--sources", str(sources)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "'a'" in err and "colour" in err


async def test_a_check_refuses_an_issuer_the_vocabulary_does_not_know_once_its_services_open(
    isolated: Path,
) -> None:
    async with serve({"/feed": Response(200, FEED, {"Content-Type": "application/rss+xml"})}) as base:
        sources = isolated / "sources.yaml"
        sources.write_text(
            f"sources:\n  - {{id: wire, name: Wire, kind: rss, url: '{base}/feed', every: 10m, issuer: CM,"
            " allow_private: true}\n",
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", "--sources", str(sources),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=isolated,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 2
    assert f"{sources}: source 'wire': key 'issuer': 'CM' is not a country of the vocabulary." in err.decode()
    assert "Traceback" not in err.decode()


async def test_a_rejected_token_is_explained_and_never_printed(isolated: Path) -> None:
    token = "123456:SECRET-VALUE"
    unauthorized = Response(401, '{"ok": false, "error_code": 401, "description": "Unauthorized"}',
                            {"Content-Type": "application/json"})  # fmt: skip
    async with serve({f"/bot{token}/getMe": unauthorized}) as base:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_BASE_URL": f"{base}/bot"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=isolated,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    text = (out + err).decode()
    assert process.returncode == 2, text
    assert "TELEGRAM_BOT_TOKEN was rejected" in text
    assert "SECRET-VALUE" not in text


def test_an_unknown_sector_lists_the_known_ones_as_the_chat_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exposure", "japan", "knitting"]) == 2
    assert "Known sectors: autos, evs, semiconductors" in capsys.readouterr().err


def test_an_unusable_database_file_is_named_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    (isolated / "a-folder.db").mkdir()
    monkeypatch.setenv("CHOKEPOINT_DB", str(isolated / "a-folder.db"))
    assert main(["status"]) == 2
    assert capsys.readouterr().err == (
        f"chokepoint: the database {isolated / 'a-folder.db'} (CHOKEPOINT_DB) cannot be used: unable to open "
        "database file; its folder must exist and be writable by the user running Chokepoint, and the path must "
        "name a file, not a folder\n"
    )
