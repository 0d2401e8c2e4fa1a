"""Destinations: deliveries.yaml chats synced into `destinations`, a chat never in twice."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from bot.config.deliveries import DeliveriesFile
from bot.delivery.destinations import REMOVED_FROM_CONFIG, add_destination, sync_config_destinations
from bot.storage.schema import deliveries, destinations

from support import seed_hits

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


# `engine` comes from tests/support/fixtures_db.py: every test runs on SQLite and on PostgreSQL.


def add_dest(conn, chat, **kw) -> int:
    return seed_hits.add_dest(conn, chat, created_at=NOW, **kw)


def cfg(*chats) -> DeliveriesFile:
    return DeliveriesFile.model_validate({"telegram": {"chats": list(chats)}})


def test_sync_config_destinations(engine) -> None:
    with engine.begin() as conn:
        self_id = add_dest(conn, -100500)       # self-subscribed first, then put in the file
        counts = sync_config_destinations(conn, cfg(
            {"chat": -100500, "name": "Alerts", "alerts": "instant", "themes": ["pushbacks"]},
            {"chat": "@coalition_news", "alerts": "digest", "digest": "weekly monday 09:00"},
            {"chat": -100777, "thread": 12, "regions": ["Europe"]},
        ), NOW)
        assert counts == {"added": 2, "updated": 1, "deactivated": 0}
        got = {(r.chat_id, r.thread_id): r for r in conn.execute(select(destinations))}
        assert got[("-100500", None)].id == self_id and got[("-100500", None)].origin == "config"
        assert got[("-100500", None)].themes == ["pushbacks"] and got[("-100500", None)].regions is None
        assert got[("@coalition_news", None)].chat_type == "channel"
        assert got[("-100777", 12)].regions == ["Europe"]
        # the channel leaves the file: deactivated, its queued rows skipped
        chan = got[("@coalition_news", None)].id
        conn.execute(deliveries.insert().values(destination_id=chan, kind="digest", dedupe_key="k",
                                                status="queued", created_at=NOW))
        counts = sync_config_destinations(conn, cfg({"chat": -100500}, {"chat": -100777, "thread": 12}), NOW)
        assert counts["deactivated"] == 1
        row = conn.execute(select(destinations).where(destinations.c.id == chan)).one()
        assert not row.active and row.inactive_reason == REMOVED_FROM_CONFIG
        assert conn.execute(select(deliveries.c.status)).scalar() == "skipped"
        # and comes back
        sync_config_destinations(conn, cfg({"chat": "@coalition_news"}), NOW)
        assert conn.execute(select(destinations.c.active).where(destinations.c.id == chan)).scalar()


def test_a_chat_without_thread_is_never_in_twice(engine) -> None:
    """NULL thread ids are distinct to a plain unique constraint; the expression index of
    migration 0006 is not: a second insert of the chat is skipped."""
    with engine.begin() as conn:
        first = add_destination(conn, chat_id="-100500", origin="self", alerts="instant",
                                digest="daily 08:00", active=True, created_at=NOW)
        again = add_destination(conn, chat_id="-100500", origin="self", alerts="instant",
                                digest="daily 08:00", active=True, created_at=NOW)
        other_thread = add_destination(conn, chat_id="-100500", thread_id=3, origin="self",
                                       alerts="instant", digest="daily 08:00", active=True, created_at=NOW)
        assert first is not None and again is None and other_thread is not None
        assert len(conn.execute(select(destinations)).all()) == 2


def test_two_workers_syncing_at_once_add_a_chat_once(engine) -> None:
    """Worker B looks for the chat before worker A commits its insert (as two pollers starting
    together do): B's insert waits for A, is skipped, and B updates A's row instead."""
    import threading

    deliveries_cfg = cfg({"chat": -100500, "name": "Alerts"})
    a = engine.connect()
    a.begin()
    assert sync_config_destinations(a, deliveries_cfg, NOW)["added"] == 1
    b_counts: list[dict] = []

    def worker_b() -> None:
        with engine.begin() as b:
            b_counts.append(sync_config_destinations(b, deliveries_cfg, NOW))

    b_thread = threading.Thread(target=worker_b)
    b_thread.start()
    b_thread.join(0.5)          # B is now waiting on A's uncommitted insert
    a.commit()
    a.close()
    b_thread.join(30)
    assert b_counts == [{"added": 0, "updated": 1, "deactivated": 0}]
    with engine.connect() as conn:
        assert len(conn.execute(select(destinations)).all()) == 1
