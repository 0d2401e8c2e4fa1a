"""The Alembic migrations and bot/storage/schema.py must describe the same database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage.db import make_engine, migrate
from bot.storage.schema import metadata


def test_migrations_match_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    # FTS tables are SQLite-only and live outside the metadata on purpose.
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith("items_fts"))]
    assert diff == [], f"schema.py and the migrations disagree: {diff}"
    engine.dispose()


def test_migrate_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    for _ in range(2):
        engine = make_engine(url)
        migrate(engine)
        assert "items" in inspect(engine).get_table_names()
        engine.dispose()


def test_sqlite_uses_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
