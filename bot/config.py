"""Settings from the environment and `.env`, validated once at start.

Read by hand rather than by a settings framework: eight variables need none, and `chokepoint check` starts
~0.1 s sooner without one. A variable's name counts in any case, the environment comes before `.env`, an empty
value means the default, and other variables are ignored.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.zones import known_time_zone

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every variable of docs/ARCHITECTURE.md "Configuration" (see .env.example), checked when made."""

    telegram_bot_token: str | None = field(default=None, repr=False)  # never in a repr, a log line or an error
    telegram_base_url: str = DEFAULT_BASE_URL
    chokepoint_db: Path = Path("chokepoint.db")
    chokepoint_sources: Path | None = None
    chokepoint_admins: frozenset[int] = frozenset()
    chokepoint_send_rate: float = 25.0
    chokepoint_timezone: str = "UTC"
    chokepoint_desk: int | None = None  # the chat that confirms or dismisses unsure readings; default: the admins

    def __post_init__(self) -> None:
        for name, check in CHECKS.items():
            try:
                checked = check(getattr(self, name))
            except ValueError as problem:
                raise SettingsError(f"{name.upper()}: {problem}") from None
            if checked is not None:  # a check that also writes the value as it is meant (a time zone's case)
                object.__setattr__(self, name, checked)

    @property
    def token(self) -> str | None:
        """The bot token in clear, for the Telegram client only."""
        return self.telegram_bot_token


def _token_shape(value: str | None) -> None:
    if value is not None and ":" not in value:
        raise ValueError("expected the form 123456:ABC... given by @BotFather")


def _http_url(value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")


def _send_rate(value: float) -> None:
    if not 0 < value <= 10_000:  # NaN fails too
        raise ValueError("Input should be greater than 0 and at most 10000 (messages per second)")


CHECKS: dict[str, Callable[[Any], object]] = {
    "telegram_bot_token": _token_shape,
    "telegram_base_url": _http_url,
    "chokepoint_send_rate": _send_rate,
    "chokepoint_timezone": known_time_zone,
}


def _token(text: str) -> str | None:
    return text if text.strip() else None


# Telegram's ids fit in a signed 64-bit integer, as SQLite stores them: a longer number would fail every write.
_LARGEST_ID = 2**63 - 1


def _admins(text: str) -> frozenset[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isascii() and part.isdecimal() and 0 < int(part) <= _LARGEST_ID for part in parts):
        raise ValueError("must be comma-separated Telegram user ids (positive whole numbers), e.g. 12345,67890")
    return frozenset(int(part) for part in parts)


def _chat_id(text: str) -> int:
    digits = text.strip().removeprefix("-")
    if not (digits.isascii() and digits.isdecimal() and 0 < int(digits) <= _LARGEST_ID):
        raise ValueError("must be a Telegram chat id: a whole number, negative for a group, e.g. -1001234567890")
    return int(text)


def _database(text: str) -> Path:
    if text.strip() == ":memory:" or text.startswith("file:"):  # SQLite's names for no file, or for a URI
        raise ValueError("must be the path of a database file (a memory database would keep nothing)")
    return Path(text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("Input should be a valid number") from None
    if math.isinf(value):
        raise ValueError("Input should be a finite number")
    return value


READERS: dict[str, Callable[[str], Any]] = {
    "telegram_bot_token": _token,
    "telegram_base_url": str,
    "chokepoint_db": _database,
    "chokepoint_sources": Path,
    "chokepoint_admins": _admins,
    "chokepoint_send_rate": _number,
    "chokepoint_timezone": known_time_zone,
    "chokepoint_desk": _chat_id,
}


def _env_file_values(env_file: str | Path | None) -> Mapping[str, str | None]:
    """The variables an env file sets; none when there is no such file."""
    if env_file is None or not Path(env_file).expanduser().is_file():
        return {}
    from dotenv import dotenv_values  # only where there is a file to read

    path = Path(env_file).expanduser()
    try:
        return dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError as error:  # saved as UTF-16 by a Windows editor, or binary
        raise SettingsError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None


def _texts(env_file: str | Path | None) -> dict[str, str]:
    """Each setting's text: the environment's, else the env file's; names in any case, empty values left out."""
    texts: dict[str, str] = {}
    for source in (_env_file_values(env_file), os.environ):  # the later source wins
        for name, value in source.items():
            if name.lower() in READERS and value:
                texts[name.lower()] = value
    return texts


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read and validate the settings (keyword arguments, already typed, take precedence); SettingsError names
    the variable that is wrong."""
    values: dict[str, Any] = {}
    for name, text in _texts(env_file).items():
        try:
            values[name] = READERS[name](text)
        except ValueError as problem:
            raise SettingsError(f"{name.upper()}: {problem}") from None
    return Settings(**{**values, **overrides})


def env_file_warning(path: Path) -> str | None:
    """A warning when an env file holding the bot token can be read by every user of the machine."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8", errors="replace") if mode & stat.S_IROTH else ""
    except OSError:
        return None
    if not any(_sets_token(line) for line in text.splitlines()):
        return None
    return f"{path} holds TELEGRAM_BOT_TOKEN and every user of this machine can read it: run `chmod 600 {path}`"


def _sets_token(line: str) -> bool:
    """Whether an env-file line gives TELEGRAM_BOT_TOKEN a value."""
    name, _, value = line.strip().removeprefix("export ").partition("=")
    return name.strip() == "TELEGRAM_BOT_TOKEN" and bool(value.strip().strip("\"'"))


def desk_chats(settings: Settings) -> tuple[int, ...]:
    """Where desk messages go: CHOKEPOINT_DESK, else each admin's private chat."""
    if settings.chokepoint_desk is not None:
        return (settings.chokepoint_desk,)
    return tuple(sorted(settings.chokepoint_admins))
