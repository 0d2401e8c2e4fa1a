"""Fixtures of the story tests: grouping runs on a real SQLite file (the PostgreSQL side of
stories is covered by the storage and pipeline tests)."""

from __future__ import annotations

import pytest

from bot.storage.db import open_database
from support.story_store import Store


@pytest.fixture
def engine(tmp_path):
    eng = open_database(f"sqlite:///{tmp_path / 'stories.db'}")
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine):
    return Store(engine)
