"""Shared fixtures: the bundled knowledge loaded once, and a fresh in-memory database with the baseline measures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.domain.knowledge import ExposureTable, load_exposure_table
from bot.domain.measure_file import load_measures
from bot.domain.measures import Measure
from bot.domain.vocab import Vocabulary, load_vocabulary
from handlers.context import Services
from jobs.baseline import apply_baseline
from jobs.measures import apply_lapses
from storage.db import open_database

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture(scope="session")
def table(vocabulary: Vocabulary) -> ExposureTable:
    return load_exposure_table(vocabulary)


@pytest.fixture(scope="session")
def baseline(vocabulary: Vocabulary) -> list[Measure]:
    return load_measures(vocabulary)


@pytest.fixture
def db() -> Iterator[Database]:
    database = open_database(":memory:", NOW)
    yield database
    database.close()


@pytest.fixture
def services(db: Database, vocabulary: Vocabulary, table: ExposureTable, baseline: list[Measure]) -> Services:
    apply_baseline(db, baseline, NOW, vocabulary)
    apply_lapses(db, vocabulary, NOW)  # as opening the services does (its lapse alerts are not under test here)
    return Services(db=db, vocabulary=vocabulary, table=table, admins=frozenset({42}), clock=lambda: NOW)


@pytest.fixture
def isolated_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The test's own working folder, holding the database: no developer's .env or token is read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("CHOKEPOINT_DB", str(tmp_path / "bot.db"))
    return tmp_path
