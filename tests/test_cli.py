"""The command line of DESIGN.md: exposure and status answers, JSON shapes, exits, and console mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "cli.db"))
    return tmp_path


def test_exposure_json_matches_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exposure", "japan", "autos", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"country", "sector", "score", "band", "materials", "buffer_months", "drivers", "as_of"}
    assert (document["country"], document["sector"]) == ("JP", "autos")
    assert 0 <= document["score"] <= 100 and document["band"] in ("high", "severe")
    assert set(document["materials"][0]) == {"material", "china_share", "share_source", "level", "level_name",
                                             "weight"}  # fmt: skip
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


def test_run_without_a_token_explains_and_answers_in_the_console(isolated: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/exposure japan autos\n/exposure\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=isolated,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "No TELEGRAM_BOT_TOKEN is set" in finished.stderr
    assert "@BotFather" in finished.stderr
    assert "Japan · autos: " in finished.stdout
    assert "Usage: /exposure COUNTRY [SECTOR]" in finished.stdout
    assert "72% from China" in finished.stdout
