"""Running it for real: no token and no terminal, folders the bot cannot write, a readable .env, feed text
that hides or turns around what it says, and links that are not what they look like."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import env_file_warning
from bot.domain.html import clickable, esc, link
from jobs.parse import clean_text, parse_items


@pytest.fixture(autouse=True)
def isolated(isolated_cwd: Path) -> Path:
    return isolated_cwd


def chokepoint(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None, bound: bool = False) -> Any:
    """Run the command line in a child process, its standard input a pipe (or nothing): no terminal.

    bound: held by file permissions even when the tests run as root (who is not, with CAP_DAC_OVERRIDE).
    """
    return subprocess.run(
        [*(unprivileged() if bound else []), sys.executable, "-m", "bot", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=cwd,
        check=False,
    )


def without_token() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "TELEGRAM_BOT_TOKEN"}


# --- no token, no terminal ---------------------------------------------------------------------------------


def test_run_without_a_token_and_without_a_terminal_exits_with_the_instruction(isolated: Path) -> None:
    finished = chokepoint("run", env=without_token(), cwd=isolated)
    assert finished.returncode == 2
    assert finished.stderr.startswith("chokepoint: No TELEGRAM_BOT_TOKEN is set, and there is no terminal")
    assert "@BotFather" in finished.stderr and "TELEGRAM_BOT_TOKEN=123456:ABC..." in finished.stderr
    assert finished.stdout == ""  # no console started


# --- folders the bot cannot write --------------------------------------------------------------------------


def unprivileged() -> list[str]:
    """A command prefix that makes root obey file permissions: without the capabilities that override them."""
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []


def test_a_read_only_database_folder_is_one_line_not_a_traceback(isolated: Path) -> None:
    read_only = isolated / "data"
    read_only.mkdir()
    read_only.chmod(0o555)
    env = {**without_token(), "CHOKEPOINT_DB": str(read_only / "chokepoint.db")}
    finished = chokepoint("console", env=env, cwd=isolated, stdin="/help\n", bound=True)
    assert finished.returncode == 2
    assert finished.stderr == (
        f"chokepoint: cannot use {read_only / 'chokepoint.db.lock'}: Permission denied. The folder of CHOKEPOINT_DB "
        "holds the database, its lock and console mode's log: it must exist and be writable by the user running "
        "Chokepoint.\n"
    )


def test_a_log_file_console_mode_cannot_write_is_one_line(isolated: Path) -> None:
    folder = isolated / "data"
    folder.mkdir()
    log = folder / "chokepoint.log"
    log.write_text("")
    log.chmod(0o444)
    env = {**without_token(), "CHOKEPOINT_DB": str(folder / "chokepoint.db")}
    finished = chokepoint("console", env=env, cwd=isolated, stdin="/help\n", bound=True)
    assert finished.returncode == 2
    assert finished.stderr.startswith(f"chokepoint: cannot use {log}: Permission denied.")
    assert "Traceback" not in finished.stderr and finished.stderr.count("\n") == 1


def test_a_database_path_under_a_file_is_one_line(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "not-a-folder").write_text("")
    monkeypatch.setenv("CHOKEPOINT_DB", str(isolated / "not-a-folder" / "chokepoint.db"))
    assert main(["backup", str(isolated / "copy.db")]) == 2
    assert capsys.readouterr().err.startswith(f"chokepoint: cannot use {isolated / 'not-a-folder' / 'chokepoint.db'}")


# --- .env ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "warned"),
    [
        ("TELEGRAM_BOT_TOKEN=123456:ABC\n", 0o644, True),
        ('export TELEGRAM_BOT_TOKEN="123456:ABC"\n', 0o604, True),
        ("TELEGRAM_BOT_TOKEN=123456:ABC\n", 0o600, False),
        ("TELEGRAM_BOT_TOKEN=123456:ABC\n", 0o640, False),
        ("TELEGRAM_BOT_TOKEN=\nCHOKEPOINT_ADMINS=1\n", 0o644, False),
    ],
)
def test_a_token_in_an_env_file_everyone_can_read_is_warned_of(
    isolated: Path, text: str, mode: int, warned: bool
) -> None:
    env = isolated / ".env"
    env.write_text(text)
    env.chmod(mode)
    warning = env_file_warning(env)
    assert (warning is not None) == warned
    if warned:
        assert warning == f"{env} holds TELEGRAM_BOT_TOKEN and every user of this machine can read it: run " \
            f"`chmod 600 {env}`"  # fmt: skip


def test_the_warning_is_printed_at_start(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / ".env").write_text("TELEGRAM_BOT_TOKEN=123456:ABC\n")
    (isolated / ".env").chmod(0o644)
    assert main(["status", "gallium"]) == 0
    assert "chokepoint: warning: .env holds TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


# --- feed text and links -----------------------------------------------------------------------------------

HIDDEN = "China \u202elifts\u202c gallium\u200b ban\u2066\u2069\u00ad\U000e0041 on Japan\u200f\u061c\ufeff"


def test_direction_controls_and_invisible_characters_leave_feed_text() -> None:
    assert clean_text(HIDDEN) == "China lifts gallium ban on Japan"
    assert esc(HIDDEN) == "China lifts gallium ban on Japan"


def test_a_feed_item_reaches_the_message_without_them() -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{HIDDEN}</title><link>https://news.example.com/a</link><guid>1</guid></item>"
        "</channel></rss>"
    )
    (item,) = parse_items("rss", feed, base_url="https://news.example.com/")
    assert item.title == "China lifts gallium ban on Japan"
    assert link(item.title, item.link) == '<a href="https://news.example.com/a">China lifts gallium ban on Japan</a>'


@pytest.mark.parametrize(
    "url",
    [
        "https://www.mofcom.gov.cn/article/zwgk/",
        "http://news.example.com:8080/a?b=1",
        "https://例え.jp/記事",
        "https://xn--r8jz45g.xn--zckzah/",
    ],
)
def test_links_with_a_host_name_are_clickable(url: str) -> None:
    assert clickable(url)
    assert link("t", url).startswith("<a href=")


@pytest.mark.parametrize(
    "url",
    [
        "https://mofcom.gov.cn@evil.example/",  # shows one host, opens another
        "https://user:pass@news.example.com/",
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://localhost:8080/",
        "https://news.example.com/\u202egnp.exe",
        "javascript:alert(1)",
        "ftp://files.example.com/a",
        "https://news.example.com:99999/",
        "https:///no-host",
        None,
    ],
)
def test_other_links_are_shown_as_text(url: str | None) -> None:
    assert not clickable(url)
    assert link("<title>", url) == "&lt;title&gt;"
