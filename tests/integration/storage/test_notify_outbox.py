"""PostgreSQL with split roles: the commit that queues deliveries wakes a sender in another
process at once (LISTEN/NOTIFY), instead of at its next periodic look a minute later."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from bot.delivery.outbox import NewHit, queue_for_hits
from bot.storage.db import open_database
from bot.storage.notify import listen_outbox
from bot.storage.schema import destinations, hits, items

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_queued_deliveries_wake_a_listening_sender_when_committed(db_url) -> None:
    poller = open_database(db_url)         # the poller's engine; the listener has its own connection
    sender = open_database(db_url)
    woken = asyncio.Event()
    listening = asyncio.create_task(listen_outbox(sender, woken.set))
    try:
        await asyncio.wait_for(woken.wait(), 30)     # woken once on connect
        woken.clear()
        with poller.begin() as conn:
            conn.execute(destinations.insert().values(chat_id="9001", origin="config", alerts="instant",
                                                      digest="off", active=True, created_at=NOW))
            conn.execute(items.insert().values(id=1, source_id="s", guid="g1", url="https://x.example/1",
                                               title="Boat in distress", first_seen_at=NOW))
            hid = conn.execute(hits.insert().values(item_id=1, theme="pushbacks", priority="high",
                                                    created_at=NOW)).inserted_primary_key[0]
            assert queue_for_hits(conn, [NewHit(hid, 1, None, "pushbacks", "high", "en")], NOW) == 1
        # a generous bound for a loaded machine; the point is "not the minute of polling"
        await asyncio.wait_for(woken.wait(), 5)
        woken.clear()
        with poller.begin() as conn:       # nothing queued (a duplicate): no wake-up needed
            assert queue_for_hits(conn, [NewHit(hid, 1, None, "pushbacks", "high", "en")], NOW) == 0
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        poller.dispose()
        sender.dispose()


async def test_sqlite_needs_no_listener(tmp_path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    woken = asyncio.Event()
    await listen_outbox(engine, woken.set)          # returns at once
    assert not woken.is_set()
    engine.dispose()
