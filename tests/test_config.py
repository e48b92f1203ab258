"""Settings: defaults, validation naming the variable, and the token kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_BASE_URL, Settings, SettingsError, load_settings

VARIABLES = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "CHOKEPOINT_DB", "CHOKEPOINT_SOURCES", "CHOKEPOINT_ADMINS",
    "CHOKEPOINT_SEND_RATE", "CHOKEPOINT_TIMEZONE", "CHOKEPOINT_DESK",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_defaults_need_nothing_configured() -> None:
    settings = load_settings(None)
    assert settings.token is None
    assert settings.telegram_base_url == DEFAULT_BASE_URL
    assert settings.chokepoint_db == Path("chokepoint.db")
    assert settings.chokepoint_send_rate == 25
    assert settings.chokepoint_admins == frozenset()
    assert settings.chokepoint_timezone == "UTC"


def test_values_come_from_the_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TELEGRAM_BOT_TOKEN=123:abc\nCHOKEPOINT_ADMINS=1, 2\n", encoding="utf-8")
    monkeypatch.setenv("CHOKEPOINT_TIMEZONE", "Asia/Tokyo")
    settings = load_settings(env_file)
    assert settings.token == "123:abc"
    assert settings.chokepoint_admins == frozenset({1, 2})
    assert settings.chokepoint_timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHOKEPOINT_SEND_RATE", "fast"),
        ("CHOKEPOINT_SEND_RATE", "0"),
        ("CHOKEPOINT_ADMINS", "alice,bob"),
        ("CHOKEPOINT_ADMINS", "99999999999999999999999"),  # past SQLite's integers: every write would fail
        ("CHOKEPOINT_ADMINS", "-5"),  # a user id is positive
        ("CHOKEPOINT_ADMINS", "1_000"),
        ("CHOKEPOINT_DESK", "99999999999999999999999"),
        ("CHOKEPOINT_DESK", "1_000"),
        ("CHOKEPOINT_DESK", "group"),
        ("CHOKEPOINT_DB", ":memory:"),  # would keep nothing
        ("CHOKEPOINT_DB", "file:x.db?mode=memory"),
        ("CHOKEPOINT_TIMEZONE", "Mars/Olympus"),
        ("CHOKEPOINT_TIMEZONE", "Asia"),  # a folder of zones, not one: refused as a setting, not a file problem
        ("TELEGRAM_BASE_URL", "ftp://example.org"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_settings(None)


def test_the_token_never_shows_in_the_settings_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-TOKEN")
    settings = load_settings(None)
    assert "SECRET-TOKEN" not in repr(settings)
    assert "SECRET-TOKEN" not in str(settings)


def test_a_bad_token_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "SECRETVALUE")
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert "SECRETVALUE" not in str(caught.value)


def test_env_example_copied_as_is_gives_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    example = Path(__file__).parent.parent / ".env.example"
    env_file = tmp_path / ".env"
    env_file.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("CHOKEPOINT_DB", "")
    settings = load_settings(env_file)
    assert settings.chokepoint_sources is None
    assert settings.chokepoint_db == Path("chokepoint.db")
    assert settings.token is None
    assert settings.chokepoint_admins == frozenset()


def test_the_environment_comes_before_dotenv_and_an_empty_value_means_unset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        'export CHOKEPOINT_DB="from file.db"\nCHOKEPOINT_TIMEZONE=Asia/Tokyo  # a comment\nOTHER=1\n', encoding="utf-8"
    )
    monkeypatch.setenv("CHOKEPOINT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("CHOKEPOINT_DB", "")  # empty: the file's value stands
    monkeypatch.setenv("chokepoint_admins", "5")  # a name in any case
    settings = load_settings(env_file)
    assert settings.chokepoint_db == Path("from file.db")
    assert settings.chokepoint_timezone == "Europe/Berlin"
    assert settings.chokepoint_admins == frozenset({5})


def test_keyword_arguments_come_first_and_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOKEPOINT_SEND_RATE", "10")
    assert load_settings(None, chokepoint_send_rate=4).chokepoint_send_rate == 4
    with pytest.raises(SettingsError, match=r"^CHOKEPOINT_SEND_RATE: "):
        load_settings(None, chokepoint_send_rate=0)


def test_a_group_is_a_desk_by_its_negative_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOKEPOINT_DESK", "-1001234567890")
    assert load_settings(None).chokepoint_desk == -1001234567890


def test_an_env_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes("CHOKEPOINT_TIMEZONE=UTC\n".encode("utf-16"))  # as a Windows editor may save it
    with pytest.raises(SettingsError, match=rf"^{env_file}: not UTF-8 text \(byte 0\); save it as UTF-8$"):
        load_settings(env_file)


def test_a_time_zone_given_in_code_in_any_case_is_kept_as_its_zone_is_named() -> None:
    """Settings made in code (the console, the tests) are written as the environment's are: the zone's own name,
    which every later ZoneInfo lookup finds."""
    assert load_settings(None, chokepoint_timezone="asia/tokyo").chokepoint_timezone == "Asia/Tokyo"
    assert Settings(chokepoint_timezone="europe/berlin").chokepoint_timezone == "Europe/Berlin"


def test_a_time_zone_is_read_in_any_case_and_a_near_miss_names_the_closest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOKEPOINT_TIMEZONE", "asia/tokyo")
    assert load_settings(None).chokepoint_timezone == "Asia/Tokyo"
    monkeypatch.setenv("CHOKEPOINT_TIMEZONE", "Asia/Tokio")
    with pytest.raises(
        SettingsError, match=r"^CHOKEPOINT_TIMEZONE: unknown time zone 'Asia/Tokio'\. Closest: Asia/Tokyo"
    ):
        load_settings(None)
