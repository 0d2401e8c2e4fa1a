"""Temporary failures never become permanent: a Bot API outage longer than the old retry
budget loses no alert, the queue survives a restart of the sender, and an alert that could
not go out for longer than `stale_after` goes into the digest with a "delayed" note.
The real python-telegram-bot client against the fake Bot API, on a virtual clock."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.delivery.outbox import NewHit, queue_for_hits
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, stories
from support.fakebotapi import TOKEN, FakeBotAPI
from support.clocks import VirtualClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
CHATS = ["2001", "2002", "2003", "2004"]
OUTAGE = timedelta(minutes=5)



def queue_alerts(engine, n: int, queued_at: datetime, chats=CHATS, digest: str = "daily 08:00") -> None:
    """`n` high-priority hits (one story each), alerted to every chat of `chats`."""
    with engine.begin() as conn:
        for chat in chats:
            conn.execute(destinations.insert().values(
                chat_id=chat, name=f"chat {chat}", origin="config", alerts="instant", digest=digest,
                active=True, created_at=queued_at - timedelta(days=3)))
        for i in range(1, n + 1):
            conn.execute(stories.insert().values(id=i, created_at=queued_at, updated_at=queued_at))
            conn.execute(items.insert().values(
                id=i, source_id="alarmphone", guid=f"g{i}", url=f"https://news.example/{i}",
                title=f"Boat in distress N{i:03d}", summary="People at sea", first_seen_at=queued_at,
                published_at=queued_at, language="en", story_id=i, is_backlog=False))
            hid = conn.execute(hits.insert().values(item_id=i, theme="pushbacks", priority="high",
                                                    rules=["r"], explanations=[], created_at=queued_at)
                               ).inserted_primary_key[0]
            queue_for_hits(conn, [NewHit(hid, i, i, "pushbacks", "high", "en")], queued_at)


@pytest.fixture
async def world(db_url):
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.ts).start()
    engine = open_database(db_url)
    yield clock, server, engine
    await server.stop()
    engine.dispose()


def new_sender(engine, server: FakeBotAPI, clock: VirtualClock) -> Sender:
    return Sender(engine, TelegramTransport(make_bot(TOKEN, server.url, read_timeout=5.0)),
                  clock=clock, sleep=clock.sleep, per_theme=1000)


def statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.execute(select(deliveries.c.status)).scalars())


async def test_a_five_minute_outage_loses_none_of_40_alerts_even_across_a_restart(world) -> None:
    clock, server, engine = world
    queue_alerts(engine, 10, START)          # 10 stories x 4 chats = 40 alerts
    # The Bot API answers 500 or drops the connection for five minutes.
    flip = iter(range(10**6))
    server.random_faults = lambda params: ("500" if next(flip) % 2 else "drop") \
        if clock.now < START + OUTAGE else None

    async with new_sender(engine, server, clock) as sender:
        first = await sender.run_once(wait_retries=True, max_wait=120)
    assert first.failed == 0 and first.messages == 0
    assert statuses(engine) == {"queued": 40}   # still waiting, nothing given up

    async with new_sender(engine, server, clock) as sender:   # a restart mid-outage
        second = await sender.run_once(wait_retries=True, max_wait=3600)
    assert second.failed == 0
    assert statuses(engine) == {"sent": 40}
    for chat in CHATS:
        titles = sorted(re.search(r"distress N(\d{3})", s.text).group(1) for s in server.messages_to(chat))
        assert titles == [f"{i:03d}" for i in range(1, 11)], chat
    refused = [c for c in server.calls if c.method == "sendMessage" and c.status != 200]
    assert len(refused) > 8, "the outage was not long enough to exceed the old 8 attempts"


async def test_a_permanent_refusal_still_fails_at_once(world) -> None:
    clock, server, engine = world
    queue_alerts(engine, 1, START, chats=["2001"])
    server.inject("400", chat_id="2001", times=1, description="Bad Request: chat not found")
    async with new_sender(engine, server, clock) as sender:
        report = await sender.run_once(wait_retries=True, max_wait=60)
    assert report.failed == 1 and statuses(engine) == {"failed": 1}


async def test_an_alert_older_than_stale_after_goes_into_the_digest_with_a_note(world) -> None:
    clock, server, engine = world
    # queued 25 hours ago, Telegram unreachable since: for a chat with a digest and one without
    queue_alerts(engine, 2, START - timedelta(hours=25), chats=["2001"])
    queue_alerts_off = [("2002", "off")]
    with engine.begin() as conn:
        for chat, digest in queue_alerts_off:
            dest_id = conn.execute(destinations.insert().values(
                chat_id=chat, name="no digest", origin="config", alerts="instant", digest=digest,
                active=True, created_at=START - timedelta(days=3))).inserted_primary_key[0]
            conn.execute(deliveries.insert().values(
                destination_id=dest_id, hit_id=1, kind="alert", dedupe_key="alert:story:1",
                status="queued", attempts=9, error="NetworkError: Bad Gateway",
                next_attempt_at=START, created_at=START - timedelta(hours=25)))

    async with new_sender(engine, server, clock) as sender:
        report = await sender.run_once()     # the 08:00 digest is due at 09:00
    assert report.failed == 0 and report.digests == 1
    # no stale instant alert to the chat that has a digest: its digest carries them, noted
    [digest] = server.messages_to("2001")
    assert digest.disable_preview and "N001" in digest.text and "N002" in digest.text
    assert digest.text.count("delayed: queued") == 2
    # the chat without a digest gets the alert late, with the note and the last error
    [late] = server.messages_to("2002")
    assert "delayed: queued" in late.text and "Bad Gateway" in late.text
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.kind, deliveries.c.status, destinations.c.chat_id)
                            .join(destinations)).all()
    assert Counter(rows) == {("digest", "sent", "2001"): 2, ("alert", "sent", "2002"): 1}
