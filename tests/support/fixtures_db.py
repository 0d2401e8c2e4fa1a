"""Database fixtures: `db_url` runs a test on SQLite and on PostgreSQL.

Use `db_url` (a fresh empty database each test) or `engine` (migrated) in storage and
pipeline tests so both backends are exercised by the same test code.
"""

from __future__ import annotations

import pytest

from support.pgserver import PgServer


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsbot.db'}"
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture
def engine(db_url):
    from bot.storage.db import open_database

    eng = open_database(db_url)
    yield eng
    eng.dispose()
