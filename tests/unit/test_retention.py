"""Retention deletes old items and hits, never what the outbox or an unsent email needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from bot.config.deliveries import DeliveriesFile
from bot.runtime.retention import cutoff_for, purge, retention_of
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, email_sends, hits, items, stories

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(db_url):
    eng = open_database(db_url)
    yield eng
    eng.dispose()


def add_item(conn, source: str, guid: str, age_days: float, story: int | None = None) -> int:
    seen = NOW - timedelta(days=age_days)
    return conn.execute(insert(items).values(
        source_id=source, guid=guid, url=f"https://example.org/{source}/{guid}", title=guid,
        summary="", text="", categories=[], tags=[], countries=[], regions=[],
        first_seen_at=seen, is_backlog=False, story_id=story)).inserted_primary_key[0]


def add_hit(conn, item_id: int, age_days: float) -> int:
    return conn.execute(insert(hits).values(item_id=item_id, theme="detention", priority="high", rules=[],
                                            explanations=[], created_at=NOW - timedelta(days=age_days))
                        ).inserted_primary_key[0]


def add_destination(conn) -> int:
    return conn.execute(insert(destinations).values(chat_id="1", origin="config", alerts="instant",
                                                    digest="off", created_at=NOW)).inserted_primary_key[0]


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(items.c.guid)).scalars())


def test_old_items_and_their_hits_go_recent_ones_stay(engine):
    with engine.begin() as conn:
        old = add_item(conn, "a", "old", 200)
        add_hit(conn, old, 200)
        recent = add_item(conn, "a", "recent", 10)
        add_hit(conn, recent, 10)
    result = purge(engine, timedelta(days=180), NOW, keep_per_source=0)
    assert (result.items, result.hits) == (1, 1)
    assert ids(engine) == {"recent"}
    assert count(engine, hits) == 1


@pytest.mark.parametrize("status,kept", [("queued", True), ("sending", True), ("sent", False), ("failed", False)])
def test_a_pending_delivery_keeps_its_item(engine, status, kept):
    with engine.begin() as conn:
        dest = add_destination(conn)
        item = add_item(conn, "a", "old", 400)
        hit = add_hit(conn, item, 400)
        conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind="alert",
                                               dedupe_key=f"alert:{hit}", status=status, created_at=NOW))
    purge(engine, timedelta(days=30), NOW, keep_per_source=0)
    assert ("old" in ids(engine)) is kept
    assert count(engine, deliveries) == (1 if kept else 0)


def test_the_floor_keeps_a_week_for_digests_and_email(engine):
    with engine.begin() as conn:
        add_item(conn, "a", "six-days", 6)
        add_item(conn, "a", "nine-days", 9)
    purge(engine, timedelta(days=1), NOW, keep_per_source=0)
    assert ids(engine) == {"six-days"}


def test_an_unsent_email_week_keeps_its_items(engine):
    with engine.begin() as conn:
        add_item(conn, "a", "in-week", 26)     # 2026-10-27, ISO week 44
        add_item(conn, "a", "before", 40)
        conn.execute(insert(email_sends).values(list_name="members", week="2026-W44", recipient="a@example.org",
                                                status="queued", created_at=NOW))
    assert cutoff_for(engine, timedelta(days=20), NOW) < NOW - timedelta(days=26)
    purge(engine, timedelta(days=20), NOW, keep_per_source=0)
    assert ids(engine) == {"in-week"}


def test_newest_items_per_source_survive_so_they_are_not_seen_as_new_again(engine):
    with engine.begin() as conn:
        for n in range(5):
            add_item(conn, "slow", f"slow-{n}", 300 + n)
        add_item(conn, "busy", "busy-old", 300)
        for n in range(3):
            add_item(conn, "busy", f"busy-new-{n}", n)
    purge(engine, timedelta(days=180), NOW, keep_per_source=2)
    assert ids(engine) == {"slow-0", "slow-1", "busy-new-0", "busy-new-1", "busy-new-2"}


def test_stories_without_items_go_and_leads_move(engine):
    with engine.begin() as conn:
        gone = conn.execute(insert(stories).values(created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        kept = conn.execute(insert(stories).values(created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        add_item(conn, "a", "lonely", 300, story=gone)
        lead = add_item(conn, "b", "lead", 300, story=kept)
        follower = add_item(conn, "c", "follower", 3, story=kept)
        conn.execute(stories.update().where(stories.c.id == kept).values(lead_item_id=lead))
    result = purge(engine, timedelta(days=180), NOW, keep_per_source=0)
    assert result.stories == 1
    with engine.connect() as conn:
        rows = conn.execute(select(stories.c.id, stories.c.lead_item_id)).all()
    assert [tuple(r) for r in rows] == [(kept, follower)]


def test_retention_setting_is_read_from_deliveries_yaml():
    assert retention_of(DeliveriesFile()) == timedelta(days=180)
    assert retention_of(DeliveriesFile.model_validate({"storage": {"retention": "90d"}})) == timedelta(days=90)
