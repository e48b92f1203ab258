"""`chokepoint classify`: headlines from arguments or stdin, one JSON object per headline, in order."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main

SHAPE = {"text", "relevant", "direction", "issuer", "targets", "materials", "level", "level_name", "end_use",
         "provenance", "instrument", "until", "evidence"}  # fmt: skip


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "cli.db"))


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_arguments_are_one_headline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--json", "China", "bans", "gallium", "exports", "to", "the", "US"]) == 0
    assert json_lines(capsys.readouterr().out) == [
        {
            "text": "China bans gallium exports to the US",
            "relevant": True,
            "direction": "tighten",
            "issuer": "CN",
            "targets": ["US"],
            "materials": ["gallium"],
            "level": 5,
            "level_name": "banned",
            "end_use": "any",
            "provenance": "official",
            "instrument": None,
            "until": None,
            "evidence": ["bans"],
        }
    ]


def test_without_json_a_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "中国、レアアースの対日輸出審査を厳格化"]) == 0
    assert capsys.readouterr().out == 'tighten review (3): CN → JP: rare_earths ["審査を厳格化"]\n'


def test_an_irrelevant_headline_says_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "Fed holds rates steady"]) == 0
    assert capsys.readouterr().out.startswith("none")


def test_stdin_gives_one_object_per_line_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "商务部 海关总署公告2023年第23号 关于对镓、锗相关物项实施出口管制的公告",
        "",
        "China denies plans to ban gallium exports to the US",
        "China suspends US-specific ban on gallium, germanium exports; licences still required",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["classify", "--json", "-"]) == 0
    objects = json_lines(capsys.readouterr().out)
    assert [o["text"] for o in objects] == lines
    assert all(set(o) == SHAPE for o in objects)
    assert [(o["direction"], o["level"], o["targets"]) for o in objects] == [
        ("tighten", 2, ["ALL"]),
        ("none", 0, []),
        ("none", 0, []),
        ("ease", 2, ["US"]),
    ]


def test_stdin_with_bad_input_still_answers_every_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["\x00\x01\x02 noise \ufffd", "x" * 1_000_000, "<p>China <b>bans</b> gallium exports</p>", "\t"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines)))
    assert main(["classify", "--json", "-"]) == 0
    objects = json_lines(capsys.readouterr().out)
    assert len(objects) == 4
    assert [o["relevant"] for o in objects] == [False, False, True, False]


def test_stdin_without_json_prints_a_line_per_headline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("China restricts rare earth exports to Japan\nhello\n"))
    assert main(["classify", "-"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'tighten restricted (4): CN → JP: rare_earths ["restricts"]',
        "none: no export-control signal []",
    ]


def test_classify_needs_a_headline(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["classify"])
    assert exited.value.code == 2
    assert "TEXT" in capsys.readouterr().err
