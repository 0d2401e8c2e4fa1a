"""Retention deletes old items and hits, never what the outbox or an unsent email needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, insert, select, update

from bot.config.deliveries import DeliveriesFile
from bot.runtime.retention import cutoff_for, purge, retention_of
from bot.storage import retention as stored
from bot.storage.db import open_database
from bot.storage.reported import add_report
from bot.storage.schema import (deliveries, destinations, email_sends, hits, items, reported_misses, stories,
                                story_sigs)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


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


def add_delivery(conn, dest: int, hit: int, status: str, kind: str = "alert") -> None:
    conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind=kind,
                                           dedupe_key=f"{kind}:{hit}", status=status, created_at=NOW))


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


# --- bot.storage.retention: the SQL under the policy ------------------------------------------

def test_purgeable_items_leave_out_pending_recent_and_newest_per_source(engine):
    with engine.begin() as conn:
        dest = add_destination(conn)
        old = [add_item(conn, "a", f"old-{n}", 300 + n) for n in range(3)]
        add_delivery(conn, dest, add_hit(conn, old[0], 300), "sending")
        add_item(conn, "a", "recent", 1)
        old_b = add_item(conn, "b", "old-b", 400)          # its source's newest
        conn.execute(insert(email_sends).values(list_name="members", week="2026-W44", recipient="a@example.org",
                                                status="queued", created_at=NOW))
        conn.execute(insert(email_sends).values(list_name="members", week="2026-W40", recipient="a@example.org",
                                                status="sent", created_at=NOW))
    with engine.connect() as conn:
        assert stored.purgeable_item_ids(conn, NOW - timedelta(days=30), keep_per_source=1) == old[1:]
        assert stored.purgeable_item_ids(conn, NOW - timedelta(days=30), keep_per_source=0) == old[1:] + [old_b]
        assert stored.queued_email_weeks(conn) == ["2026-W44"]


def test_delete_items_looks_again_for_a_delivery_queued_since(engine):
    with engine.begin() as conn:
        dest = add_destination(conn)
        first, second = add_item(conn, "a", "first", 300), add_item(conn, "a", "second", 300)
        hit = add_hit(conn, second, 300)
        add_hit(conn, first, 300)
    with engine.connect() as conn:
        picked = stored.purgeable_item_ids(conn, NOW - timedelta(days=30), keep_per_source=0)
    assert picked == [first, second]
    with engine.begin() as conn:
        add_delivery(conn, dest, hit, "queued")            # the pipeline queued it meanwhile
        deleted = stored.delete_items(conn, picked)
    assert (deleted.items, deleted.hits) == (1, 1)
    assert ids(engine) == {"second"}


def test_delete_items_reports_the_stories_that_lost_an_item(engine):
    with engine.begin() as conn:
        story = conn.execute(insert(stories).values(created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        grouped, loose = add_item(conn, "a", "grouped", 300, story=story), add_item(conn, "a", "loose", 300)
        deleted = stored.delete_items(conn, [grouped, loose])
        assert (deleted.items, deleted.story_ids) == (2, {story})
        assert stored.tidy_stories(conn, [story]) == 1
        assert stored.delete_items(conn, [grouped]) == stored.Deleted()


def test_delete_items_leaves_no_per_item_rows_without_foreign_keys(tmp_path):
    """A connection without PRAGMA foreign_keys (a plain sqlite3 client) cascades nothing:
    the per-item rows go by name."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    open_database(url).dispose()                           # migrated
    plain = create_engine(url)
    try:
        with plain.begin() as conn:
            item = add_item(conn, "a", "old", 300)
            add_hit(conn, item, 300)
            conn.execute(insert(story_sigs).values(item_id=item, ref_at=NOW, sig=b"\0" * 8))
            stored.delete_items(conn, [item])
        assert (count(plain, story_sigs), count(plain, hits), count(plain, items)) == (0, 0, 0)
    finally:
        plain.dispose()


def test_delete_items_keeps_a_reported_miss_and_unlinks_its_item(tmp_path):
    """reported_misses.item_id says ON DELETE SET NULL: an accepted report outlives its item
    (the weekly report and /report still count it), also without PRAGMA foreign_keys."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    open_database(url).dispose()
    plain = create_engine(url)
    try:
        with plain.begin() as conn:
            item = add_item(conn, "a", "old", 300)
            report = add_report(conn, url="https://example.org/a", title="t", summary="", language="en",
                                theme="pushbacks", matched=[], chat_id=1, user_id=2, now=NOW)
            conn.execute(update(reported_misses).where(reported_misses.c.id == report).values(item_id=item))
            stored.delete_items(conn, [item])
        with plain.connect() as conn:
            rows = conn.execute(select(reported_misses.c.id, reported_misses.c.item_id)).all()
        assert [tuple(r) for r in rows] == [(report, None)]
        assert count(plain, items) == 0
    finally:
        plain.dispose()
