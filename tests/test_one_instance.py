"""One instance per database: the lock, writes that wait their turn, a newer schema refused, a live backup."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from storage.connections import BUSY_TIMEOUT_MS
from storage.db import connect, open_database
from storage.instance_lock import AlreadyRunning, InstanceLock, lock_path_for
from storage.schema import SchemaTooNew, schema_version
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer, Response

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
TOKEN = "123456:ONE-INSTANCE"


@pytest.fixture(autouse=True)
def isolated(isolated_cwd: Path) -> Path:
    return isolated_cwd


# --- the lock ---------------------------------------------------------------------------------------------


def test_a_second_holder_is_refused_naming_the_first_pid(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    with InstanceLock(database):
        assert lock_path_for(database).read_text() == f"{os.getpid()}\n"
        with pytest.raises(AlreadyRunning, match=f"already running on {database} \\(pid {os.getpid()}, lock file"):
            InstanceLock(database).acquire()
    with InstanceLock(database):  # released on leaving: the next start takes it
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    lock_path_for(database).write_text("999999999\n")  # written by a process that no longer holds the lock
    with InstanceLock(database):
        assert lock_path_for(database).read_text() == f"{os.getpid()}\n"


def names(lock: Path, pid: int) -> bool:
    return lock.exists() and lock.read_text().strip() == str(pid)


async def wait_for_lock_holder(lock: Path, pid: int, process: asyncio.subprocess.Process) -> None:
    """Until the lock file names pid (at most 60 s; fails if the process ends first)."""
    for _ in range(600):
        if names(lock, pid):
            return
        assert process.returncode is None, "the first instance ended"
        await asyncio.sleep(0.1)
    raise AssertionError("the first instance never took the lock")


async def test_a_second_run_on_the_same_database_exits_naming_the_first(isolated: Path) -> None:
    async with FakeBotAPI() as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url,
               "CHOKEPOINT_DB": str(isolated / "bot.db"), "CHOKEPOINT_SOURCES": str(isolated / "s.yaml")}  # fmt: skip
        (isolated / "s.yaml").write_text(
            "sources:\n  - {id: a, name: A, kind: rss, url: 'http://127.0.0.1:9/', every: 7d, allow_private: true}\n"
        )
        pipes = {
            "stdout": asyncio.subprocess.PIPE,
            "stderr": asyncio.subprocess.PIPE,
            "stdin": asyncio.subprocess.DEVNULL,
        }
        first = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env, cwd=isolated, **pipes)
        try:
            await wait_for_lock_holder(lock_path_for(isolated / "bot.db"), first.pid, first)
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=isolated, **pipes
            )
            out, err = await asyncio.wait_for(second.communicate(), timeout=60)
        finally:
            first.terminate()
            await asyncio.wait_for(first.communicate(), timeout=60)
    assert second.returncode == 2, (out + err).decode()
    assert f"Chokepoint is already running on {isolated / 'bot.db'} (pid {first.pid}," in err.decode()
    assert "Traceback" not in err.decode()


# --- writes -------------------------------------------------------------------------------------------------


def test_a_transaction_takes_the_write_lock_when_it_begins(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db", NOW)
    other = sqlite3.connect(tmp_path / "bot.db", timeout=0, isolation_level=None)
    try:
        with db.atomic():
            db.execute("SELECT count(*) FROM items").fetchone()  # a read first: a deferred BEGIN would lock nothing
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ends
        other.execute("ROLLBACK")
    finally:
        other.close()
        db.close()


def test_writers_wait_for_each_other_instead_of_failing(tmp_path: Path) -> None:
    """Read then write in two connections at once: a deferred transaction fails with "database is locked"."""
    path = tmp_path / "bot.db"
    open_database(path, NOW).close()
    first, second = connect(path), connect(path)
    first_has_read, errors = threading.Event(), []

    def write_after_reading(db: object, name: str, wait: threading.Event | None) -> None:
        try:
            with db.atomic():  # type: ignore[attr-defined]
                db.execute("SELECT count(*) FROM items").fetchone()  # type: ignore[attr-defined]
                first_has_read.set()
                if wait is not None:
                    wait.wait(timeout=0.5)  # let the other writer try to go in between
                db.execute(  # type: ignore[attr-defined]
                    "INSERT INTO items (source_id, guid, title, fetched_at) VALUES ('s', ?, 't', 'now')", [name]
                )
        except sqlite3.Error as error:
            errors.append(f"{name}: {error}")

    second_done = threading.Event()
    one = threading.Thread(target=write_after_reading, args=(first, "first", second_done))
    one.start()
    first_has_read.wait(timeout=10)
    write_after_reading(second, "second", None)
    second_done.set()
    one.join(timeout=30)
    rows = sorted(row[0] for row in first.execute("SELECT guid FROM items").fetchall())
    first.close()
    second.close()
    assert (errors, rows) == ([], ["first", "second"])


def test_connections_wait_for_a_busy_database() -> None:
    db = connect(":memory:")
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS == 10_000


# --- a newer schema ------------------------------------------------------------------------------------------


def newer_database(path: Path) -> None:
    db = open_database(path, NOW)
    db.execute("INSERT INTO migrations (number, name, applied_at) VALUES (99, 'from the future', 'x')")
    db.close()


def test_a_database_of_a_newer_version_is_refused_naming_both_versions(tmp_path: Path) -> None:
    newer_database(tmp_path / "bot.db")
    with pytest.raises(SchemaTooNew) as refused:
        open_database(tmp_path / "bot.db", NOW)
    assert f"schema version 99, newer than this Chokepoint knows (version {schema_version()})" in str(refused.value)


def not_a_database(path: Path) -> None:
    path.write_bytes(b"notes, not a database " * 100)


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        (newer_database, "the database is at schema version 99, newer than this Chokepoint knows"),
        (
            not_a_database,
            "bot.db (CHOKEPOINT_DB) cannot be used: file is not a database; name a Chokepoint database, or a "
            "file that does not exist yet",
        ),
    ],
    ids=["newer", "not a database"],
)
async def test_a_check_refuses_a_database_it_cannot_use_before_sending_a_request(
    isolated: Path, make: Callable[[Path], None], refusal: str
) -> None:
    """A check sends its requests before it opens its database to write (bot/watching.py), but after it has read
    what it needs of it: a database no check can use stops it before the first request, and is left as it was."""
    make(isolated / "bot.db")
    before = (isolated / "bot.db").read_bytes()
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    async with LoopbackServer({"/feed": Response(200, feed, {"Content-Type": "application/rss+xml"})}) as server:
        sources = isolated / "sources.yaml"
        sources.write_text(f"sources:\n  - {{id: feed, name: F, kind: rss, url: '{server.url('/feed')}', "
                           "every: 10m, allow_private: true}\n")  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", "--sources", str(sources), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=isolated,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 2
    assert err.decode().startswith("chokepoint: the database ") and refusal in err.decode()
    assert (out, server.requests) == (b"", [])
    assert (isolated / "bot.db").read_bytes() == before


def test_run_refuses_a_newer_database_at_start(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    newer_database(isolated / "bot.db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")  # never reached: the start stops first
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chokepoint: the database is at schema version 99, newer than this Chokepoint knows")
    assert f"(version {schema_version()})" in err


# --- backup ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def writing(path: Path, enough: int) -> Iterator[list[int]]:
    """A thread inserting items one transaction at a time until the block ends; yields the running count."""
    written, stop, started = [0], threading.Event(), threading.Event()

    def write() -> None:
        db = connect(path)
        try:
            while not stop.is_set() and written[0] < 200_000:
                with db.atomic():
                    db.execute("INSERT INTO items (source_id, guid, title, fetched_at) VALUES ('w', ?, 'row', 'now')",
                               [str(written[0])])  # fmt: skip
                written[0] += 1
                if written[0] >= enough:
                    started.set()
        finally:
            db.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert started.wait(timeout=30)
        yield written
    finally:
        stop.set()
        thread.join(timeout=30)


def test_backup_taken_during_writes_is_whole_and_opens(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_database(isolated / "bot.db", NOW).close()
    copy = isolated / "copies" / "bot-copy.db"
    copy.parent.mkdir()
    with writing(isolated / "bot.db", enough=200) as written:
        assert main(["backup", str(copy)]) == 0
        during = written[0]
    assert written[0] > 200
    out = capsys.readouterr().out
    assert out.startswith(f"Copied {isolated / 'bot.db'} to {copy}: ") and out.endswith("integrity check ok.\n")
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT count(*), max(CAST(guid AS INTEGER)) FROM items WHERE source_id = 'w'").fetchone()
        assert db.execute("SELECT max(number) FROM migrations").fetchone() == (schema_version(),)
    count, highest = rows
    assert 200 <= count <= during and highest == count - 1  # one snapshot: every row up to a point, none after
    assert not (copy.parent / "bot-copy.db-wal").exists()


def test_a_backup_into_a_missing_folder_names_that_folder(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_database(isolated / "bot.db", NOW).close()
    copy = isolated / "nowhere" / "bot-copy.db"
    assert main(["backup", str(copy)]) == 2
    assert capsys.readouterr().err == (
        f"chokepoint: cannot write the backup {copy}: there is no folder {copy.parent}\n"
    )


def test_a_backup_over_a_folder_or_the_database_itself_is_refused(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_database(isolated / "bot.db", NOW).close()
    before = (isolated / "bot.db").read_bytes()
    folder = isolated / "copies"
    folder.mkdir()
    assert main(["backup", str(folder)]) == 2
    assert capsys.readouterr().err.endswith("it is not a regular file (a folder or a device); name a file\n")
    assert list(folder.iterdir()) == [] and not (isolated / "copies.partial").exists()
    assert main(["backup", str(isolated / "." / "bot.db")]) == 2
    assert capsys.readouterr().err.endswith("it is the database itself (CHOKEPOINT_DB); name another file\n")
    assert (isolated / "bot.db").read_bytes() == before


def test_a_lock_file_that_cannot_be_written_is_named_and_is_no_output_problem(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write that fails names no file by itself: the lock's names its file, and the exit is 2, not the 120 of
    output that could not be written (a full disk would fail the same way; a FIFO refuses to be truncated)."""
    lock = isolated / "bot.db.lock"
    os.mkfifo(lock)
    assert main(["console"]) == 2
    assert capsys.readouterr().err.startswith(f"chokepoint: cannot use {lock}: Invalid argument.")
