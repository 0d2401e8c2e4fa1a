"""The Alembic migrations and bot/storage/schema.py must describe the same database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage.db import make_engine, migrate
from bot.storage.schema import metadata


# Alembic cannot compare expression indexes (uq_destinations_chat_anythread); the test of
# migration 0006 below checks that one by what it refuses.
@pytest.mark.filterwarnings("ignore:.*expression-based index:sqlalchemy.exc.SAWarning",
                            "ignore:.*expression-based index:UserWarning")
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


def test_0006_merges_chats_that_were_in_twice(db_url):
    """Before 0006 a chat without a thread could be in twice. The migration keeps the oldest
    row, moves the other's deliveries to it (but not a second copy of one it already has),
    and from then on the chat cannot come in twice."""
    from datetime import datetime, timezone

    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from bot.storage.schema import deliveries, destinations

    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    engine = make_engine(db_url)
    migrate(engine, "0005")
    dest = dict(chat_id="-100500", origin="self", alerts="instant", digest="daily 08:00", active=True, created_at=now)
    with engine.begin() as conn:
        keep, dup = (conn.execute(destinations.insert().values(**dest)).inserted_primary_key[0] for _ in range(2))
        other = conn.execute(destinations.insert().values(**dest, thread_id=4)).inserted_primary_key[0]
        for dest_id, key, status in [(keep, "alert:item:1", "sent"), (dup, "alert:item:1", "sent"),
                                     (dup, "alert:item:2", "queued"), (other, "alert:item:1", "sent")]:
            conn.execute(deliveries.insert().values(destination_id=dest_id, kind="alert", dedupe_key=key,
                                                    status=status, created_at=now))
    migrate(engine)
    with engine.begin() as conn:
        assert {r.id for r in conn.execute(select(destinations))} == {keep, other}
        got = sorted((r.destination_id, r.dedupe_key) for r in conn.execute(select(deliveries)))
        assert got == sorted([(keep, "alert:item:1"), (keep, "alert:item:2"), (other, "alert:item:1")])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(destinations.insert().values(**dest))
    engine.dispose()


def test_0009_keeps_items_and_sources_and_lets_sources_share_a_url(db_url):
    """0009 (issue 15): existing items and sources stay, configured_at is filled from
    created_at, and another source may then store its own item of a stored URL."""
    from datetime import datetime, timezone

    from sqlalchemy import select, text

    from bot.storage.schema import items, sources

    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    engine = make_engine(db_url)
    migrate(engine, "0007")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, url, status, error_count, items_seen, backlog_done, created_at) "
                          "VALUES ('ngo', 'https://ngo.example/feed', 'ok', 0, 1, :t, :now)"),
                     {"t": True, "now": now})
        conn.execute(text("INSERT INTO items (source_id, guid, url, url_twin, title, summary, text, categories, tags, "
                          "first_seen_at, is_backlog, countries, regions) VALUES ('ngo', 'g1', 'https://ngo.example/1', "
                          "'', 'T', '', '', '[]', '[]', :now, :f, '[]', '[]')"), {"now": now, "f": False})
    migrate(engine)
    item = dict(guid="g2", url="https://ngo.example/1", title="Relayed", summary="", text="", categories=[], tags=[],
                first_seen_at=now, is_backlog=False, countries=[], regions=[])
    with engine.begin() as conn:
        row = conn.execute(select(sources)).one()
        assert row.configured_at == now and row.removed_at is None
        conn.execute(items.insert().values(source_id="aggregator", **item))
        assert sorted(conn.execute(select(items.c.source_id, items.c.url)).all()) == [
            ("aggregator", "https://ngo.example/1"), ("ngo", "https://ngo.example/1")]
    engine.dispose()
