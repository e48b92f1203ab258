"""Settings from the environment and `.env`, validated once at start."""

from __future__ import annotations

import stat
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    """Every variable of docs/ARCHITECTURE.md "Configuration"; see .env.example."""

    # env_ignore_empty: `CHOKEPOINT_SOURCES=` as copied from .env.example means "the default", not ".".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, env_ignore_empty=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = DEFAULT_BASE_URL
    chokepoint_db: Path = Path("chokepoint.db")
    chokepoint_sources: Path | None = None
    chokepoint_admins: Annotated[frozenset[int], NoDecode] = frozenset()
    chokepoint_send_rate: float = Field(default=25.0, gt=0, le=10_000)
    chokepoint_timezone: str = "UTC"
    chokepoint_desk: int | None = None  # the chat that confirms or dismisses unsure readings; default: the admins

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("expected the form 123456:ABC... given by @BotFather")
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("chokepoint_admins", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isascii() and part.lstrip("-").isdecimal() for part in parts):
                raise ValueError("must be comma-separated numeric Telegram user ids, e.g. 12345,67890")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("chokepoint_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("not an IANA time zone such as UTC, Asia/Tokyo or Europe/Berlin") from error
        return value

    @property
    def token(self) -> str | None:
        """The bot token in clear, for the Telegram client only."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read and validate the settings; SettingsError names the variable that is wrong."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{variable}: {first['msg']}") from None


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
