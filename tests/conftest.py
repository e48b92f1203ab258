"""Shared fixtures: the bundled knowledge loaded once, and a fresh in-memory database with the baseline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlite_utils import Database

from bot.domain.knowledge import BaselineEvent, ExposureTable, load_baseline, load_exposure_table
from bot.domain.vocab import Vocabulary, load_vocabulary
from handlers.context import Services
from jobs.baseline import apply_baseline
from storage.db import open_database

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture(scope="session")
def table(vocabulary: Vocabulary) -> ExposureTable:
    return load_exposure_table(vocabulary)


@pytest.fixture(scope="session")
def baseline(vocabulary: Vocabulary) -> list[BaselineEvent]:
    return load_baseline(vocabulary)


@pytest.fixture
def db() -> Iterator[Database]:
    database = open_database(":memory:", NOW)
    yield database
    database.close()


@pytest.fixture
def services(db: Database, vocabulary: Vocabulary, table: ExposureTable, baseline: list[BaselineEvent]) -> Services:
    apply_baseline(db, baseline, NOW, vocabulary)
    return Services(db=db, vocabulary=vocabulary, table=table, admins=frozenset({42}), clock=lambda: NOW)
