"""The health check: heartbeats the running bot records, judged by `chokepoint health` (a container's HEALTHCHECK)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.cli import argument_parser, main
from bot.domain.health import HealthLimits, Verdict, check_limit, health_verdict
from jobs.sources import SourceSpec
from storage.db import open_database
from storage.heartbeats import heartbeats_in, record_heartbeat
from tests.bot_harness import polling_bot
from tests.fake_bot_api import FakeBotAPI
from tests.loopback import LoopbackServer, Response

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
LIMITS = HealthLimits(poll=dt.timedelta(minutes=5), check=dt.timedelta(minutes=30))
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def ago(**span: float) -> dt.datetime:
    return NOW - dt.timedelta(**span)


@pytest.fixture(autouse=True)
def isolated(isolated_cwd: Path) -> Path:
    return isolated_cwd


def test_fresh_heartbeats_are_healthy() -> None:
    beats = {"start": ago(hours=2), "poll": ago(seconds=12), "check": ago(minutes=3)}
    assert health_verdict(beats, NOW, LIMITS) == Verdict(True, "healthy: last poll 12 s ago, last check 3 min ago")


@pytest.mark.parametrize(
    ("beats", "reason"),
    [
        ({"start": ago(hours=2), "poll": ago(minutes=7), "check": ago(minutes=3)},
         "unhealthy: last poll 7 min ago (limit 5 min)"),
        ({"start": ago(hours=6), "poll": ago(seconds=5), "check": ago(hours=5)},
         "unhealthy: last check 5 h ago (limit 30 min)"),
        ({"start": ago(minutes=8)}, "unhealthy: no poll since the start 8 min ago (limit 5 min)"),
        # beats from before a restart are not this run's
        ({"start": ago(minutes=40), "poll": ago(minutes=41), "check": ago(minutes=50)},
         "unhealthy: no poll since the start 40 min ago (limit 5 min); no check since the start 40 min ago "
         "(limit 30 min)"),
        ({}, "unhealthy: the bot has not run on this database (no heartbeat)"),
    ],
)  # fmt: skip
def test_stale_heartbeats_are_unhealthy_with_the_reason(beats: dict[str, dt.datetime], reason: str) -> None:
    assert health_verdict(beats, NOW, LIMITS) == Verdict(False, reason)


def test_a_bot_just_started_is_healthy_before_its_first_check() -> None:
    beats = {"start": ago(minutes=2), "poll": ago(seconds=3)}
    assert health_verdict(beats, NOW, LIMITS) == Verdict(
        True, "healthy: last poll 3 s ago, no check since the start 2 min ago"
    )


def test_the_check_limit_follows_the_most_frequent_source() -> None:
    assert check_limit(dt.timedelta(minutes=10)) == dt.timedelta(minutes=30)
    assert check_limit(dt.timedelta(seconds=30)) == dt.timedelta(minutes=15)


def write_beats(path: Path, **ages: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)
    db = open_database(path, now)
    for name, age in ages.items():
        record_heartbeat(db, name, (now - age).isoformat())
    db.close()


def test_health_exits_0_on_fresh_heartbeats(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    minute = dt.timedelta(minutes=1)
    write_beats(isolated / "bot.db", start=60 * minute, poll=dt.timedelta(seconds=10), check=2 * minute)
    assert main(["health"]) == 0
    assert capsys.readouterr().out.startswith("healthy: last poll ")


def test_health_exits_1_on_a_stale_poll_naming_it(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    minute = dt.timedelta(minutes=1)
    write_beats(isolated / "bot.db", start=60 * minute, poll=7 * minute, check=2 * minute)
    assert main(["health"]) == 1
    assert capsys.readouterr().err == "unhealthy: last poll 7 min ago (limit 5 min)\n"
    assert main(["health", "--max-poll-age", "10m"]) == 0


def test_health_of_a_database_the_bot_never_ran_on(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health"]) == 1
    assert "the bot has not run on this database" in capsys.readouterr().err
    assert not (isolated / "bot.db").exists()  # the check reads; it creates nothing


async def wait_for_beats(path: Path, names: set[str]) -> dict[str, str]:
    for _ in range(300):  # 30 s at most
        beats = heartbeats_in(path)
        if names <= set(beats):
            return beats
        await asyncio.sleep(0.1)
    raise AssertionError(f"heartbeats never recorded: {names - set(heartbeats_in(path))}")


async def test_the_running_bot_records_its_polls_and_checks(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with LoopbackServer({"/feed": Response(200, RSS, {"Content-Type": "application/rss+xml"})}) as feed:
        source = SourceSpec(id="local", name="Local", kind="rss", url=feed.url("/feed"), every_seconds=10,
                            allow_private=True)  # fmt: skip
        async with FakeBotAPI() as api, polling_bot(api, isolated / "bot.db", [source]):
            beats = await wait_for_beats(isolated / "bot.db", {"start", "poll", "check"})
            assert main(["health"]) == 0
    assert beats["start"] <= beats["poll"] and beats["start"] <= beats["check"]
    assert capsys.readouterr().out.startswith("healthy: last poll ")


# --- the container that runs it ------------------------------------------------------------------------------

ROOT = Path(__file__).parent.parent


def instruction(name: str) -> str:
    """The argument of a Dockerfile instruction (the last one of that name)."""
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith(f"{name} ")]
    return lines[-1].removeprefix(f"{name} ")


def test_the_container_health_check_and_command_are_commands_of_the_cli() -> None:
    health = json.loads(instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    command = json.loads(instruction("CMD"))
    assert (health, command) == (["chokepoint", "health"], ["chokepoint", "run"])
    assert argument_parser().parse_args(health[1:]).command == "health"


def test_the_container_runs_unprivileged_with_the_database_on_its_volume() -> None:
    assert instruction("USER") not in ("root", "0")
    database = Path(instruction("ENV").removeprefix("CHOKEPOINT_DB="))
    assert json.loads(instruction("VOLUME")) == [str(database.parent)]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["chokepoint"]
    assert compose["environment"]["CHOKEPOINT_DB"] == str(database)
    assert [volume.split(":")[1] for volume in compose["volumes"]] == [str(database.parent)]
    assert compose["env_file"] == ".env"


def test_the_image_holds_every_package() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert {name.rstrip("*") for name in packages["include"]} <= copied
