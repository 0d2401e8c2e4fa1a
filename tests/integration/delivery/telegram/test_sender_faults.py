"""Delivery faults with the real python-telegram-bot client against the fake Bot API: a
hostile retry_after is capped, and a sender killed with a message in flight leaves a
successor that still counts that message against the group's flood limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.delivery import outbox
from bot.delivery.outbox import NewHit, queue_for_hits
from bot.delivery.telegram.flood import MAX_FLOOD_WAIT
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage import leases
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, stories
from support.fakebotapi import TOKEN, FakeBotAPI, FloodLimits as ServerLimits
from support.clocks import VirtualClock

START = datetime(2026, 11, 22, 8, 30, tzinfo=timezone.utc)
GROUP = "-4002"



def queue_alerts(engine, chat: str, n: int) -> None:
    """One instant-alert destination and `n` high-priority hits of distinct stories."""
    with engine.begin() as conn:
        conn.execute(destinations.insert().values(
            chat_id=chat, name=f"dest {chat}", origin="config", alerts="instant", digest="off",
            active=True, created_at=START - timedelta(days=1)))
        for i in range(1, n + 1):
            conn.execute(stories.insert().values(id=i, created_at=START, updated_at=START))
            conn.execute(items.insert().values(
                id=i, source_id="src", guid=f"g{i}", url=f"https://news.example/{i}", title=f"Story {i}",
                summary="", first_seen_at=START, language="en", published_at=START, countries=[],
                regions=[], story_id=i, is_backlog=False))
            hid = conn.execute(hits.insert().values(item_id=i, theme="deaths", priority="high",
                                                    rules=["deaths-en"], explanations=[], created_at=START)
                               ).inserted_primary_key[0]
            queue_for_hits(conn, [NewHit(hid, i, i, "deaths", "high", "en", (), False)], START)


@pytest.fixture
async def world(tmp_path):
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.ts, enforce_limits=ServerLimits()).start()
    engine = open_database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    yield clock, server, engine
    await server.stop()
    engine.dispose()


def sender(engine, transport, clock: VirtualClock) -> Sender:
    return Sender(engine, transport, clock=clock, sleep=clock.sleep, per_theme=10_000)


async def test_a_retry_after_of_10_to_the_12_seconds_is_an_hour_not_a_crash(world):
    clock, server, engine = world
    queue_alerts(engine, "1001", 1)
    server.inject("429", chat_id="1001", retry_after=10**12)
    async with sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), clock) as s:
        report = await s.run_once()
    assert report.flood_waits == 1 and report.messages == 0
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).one()
    assert row.status == "queued" and row.next_attempt_at == START + timedelta(seconds=MAX_FLOOD_WAIT)


class Killed(BaseException):
    """kill -9 of the sender: nothing after the send runs, no row is marked, nothing released."""


class DiesAfter:
    """A transport that dies right after Telegram accepted its `n`-th message."""

    def __init__(self, inner: TelegramTransport, n: int):
        self.inner, self.n, self.kind = inner, n, inner.kind

    async def __aenter__(self):
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inner.__aexit__(*exc)

    async def send(self, dest, message) -> int:
        message_id = await self.inner.send(dest, message)
        self.n -= 1
        if self.n == 0:
            raise Killed()
        return message_id


async def test_a_sender_killed_with_a_message_in_flight_counts_it_after_the_restart(world):
    """20 messages into a group in under a minute, the 20th in flight when the sender dies:
    the restarted sender must wait out the minute instead of drawing 429s from Telegram."""
    clock, server, engine = world
    queue_alerts(engine, GROUP, 25)
    dying = sender(engine, DiesAfter(TelegramTransport(make_bot(TOKEN, server.url)), 20), clock)
    await dying.transport.__aenter__()
    with pytest.raises(Killed):
        await dying.run_once(wait_retries=True)
    await dying.transport.inner.bot.shutdown()  # the process is gone; only its HTTP client is closed here
    with engine.connect() as conn:
        statuses = [r.status for r in conn.execute(select(deliveries.c.status).order_by(deliveries.c.id))]
    assert statuses[:20] == ["sent"] * 19 + ["sending"] and len(server.sent) == 20
    # The restarted daemon frees what the dead one held (bot.runtime.daemon.Daemon._recover_leases).
    with engine.begin() as conn:
        outbox.recover_deliveries(conn, lease_now=leases.wall_clock() + timedelta(days=365),
                                  requeue_at=clock())
    async with sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), clock) as again:
        report = await again.run_once(wait_retries=True)
    refused = [c for c in server.calls if c.method == "sendMessage" and c.status == 429]
    assert refused == [], f"{len(refused)} refused with 429 after the restart"
    assert report.flood_waits == 0 and report.sent == 6
    accepted = [s.ts for s in server.sent]
    assert accepted[20] >= accepted[0] + 60, "the 21st message went out within a minute of the 1st"
