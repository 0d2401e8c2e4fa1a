"""A broadcast uses Telegram's budget: the sender sends to different chats at once, within
the flood limits as Telegram counts them; a sender restarted after kill -9 counts the message
that was in flight towards its group's limit. The real client against the fake Bot API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.delivery.telegram.flood import FloodLimits

from bot.delivery.telegram.sender import Sender

from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage import leases
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items
from support.fakebotapi import TOKEN, FakeBotAPI, FloodLimits as ServerLimits
from support.flood_check import check_flood_limits
from support.clocks import VirtualClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)



def queue(engine, chats: list[str], per_chat: int, now: datetime) -> dict[str, int]:
    """`per_chat` queued alerts for each chat (each its own item and hit); chat -> dest id."""
    ids = {}
    with engine.begin() as conn:
        for chat in chats:
            ids[chat] = conn.execute(destinations.insert().values(
                chat_id=chat, name=f"chat {chat}", origin="self", alerts="instant", digest="off",
                active=True, created_at=now - timedelta(days=1))).inserted_primary_key[0]
        n = 0
        for _k in range(per_chat):
            for chat in chats:
                n += 1
                conn.execute(items.insert().values(id=n, source_id="s", guid=f"g{n}", url=f"https://x.example/{n}",
                                                   title=f"Alert {n}", first_seen_at=now, is_backlog=False))
                hid = conn.execute(hits.insert().values(item_id=n, theme="pushbacks", priority="high",
                                                        created_at=now)).inserted_primary_key[0]
                conn.execute(deliveries.insert().values(
                    destination_id=ids[chat], hit_id=hid, kind="alert", dedupe_key=f"alert:item:{n}",
                    status="queued", attempts=0, next_attempt_at=now, created_at=now))
    return ids


async def test_different_chats_are_sent_to_at_once_within_the_limits(tmp_path) -> None:
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.ts, enforce_limits=ServerLimits()).start()
    server.latency = 0.02
    engine = open_database(f"sqlite:///{tmp_path / 'b.db'}")
    chats = [str(7001 + i) for i in range(12)] + ["-1003001", "-1003002"]
    queue(engine, chats, 25, START)
    try:
        sender = Sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), clock=clock,
                        sleep=clock.sleep, batch=100)     # several reservations ahead in one pass
        async with sender:
            report = await sender.run_once(wait_retries=True, max_wait=3600)
        assert report.sent == len(chats) * 25 and report.failed == 0
        assert report.flood_waits == 0                    # never over a limit Telegram enforces
        check_flood_limits(server, FloodLimits())
        assert server.most_concurrent >= 2               # chats were sent to at once
        for chat in chats:                                # each chat in queue order
            numbers = [int(s.text.split("Alert ")[1].split("<")[0]) for s in server.messages_to(chat)]
            assert numbers == sorted(numbers) and len(numbers) == 25
        with engine.connect() as conn:
            assert set(conn.execute(select(deliveries.c.status)).scalars()) == {"sent"}
    finally:
        await server.stop()
        engine.dispose()


async def test_a_restart_after_kill_counts_the_message_in_flight_towards_the_group_limit(tmp_path) -> None:
    """19 messages into a group in the last minute and a 20th left 'sending' by a killed
    sender: the restarted sender waits for the group's minute before the next one."""
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.ts).start()
    engine = open_database(f"sqlite:///{tmp_path / 'k.db'}")
    group = "-1004444"
    ids = queue(engine, [group], 21, START - timedelta(seconds=60))
    first_sent = START - timedelta(seconds=50)
    with engine.begin() as conn:
        rows = conn.execute(select(deliveries.c.id).order_by(deliveries.c.id)).scalars().all()
        for k, rid in enumerate(rows[:19]):
            conn.execute(deliveries.update().where(deliveries.c.id == rid).values(
                status="sent", message_id=100 + k, sent_at=first_sent + timedelta(seconds=k)))
        # the killed sender's claim 25 s ago: 'sending', stamped `sent_at` by the claim as every
        # claim is, its 20 s lease (real time) just expired
        conn.execute(deliveries.update().where(deliveries.c.id == rows[19]).values(
            status="sending", lease_owner="sender-dead", attempts=1, sent_at=START - timedelta(seconds=25),
            lease_until=leases.wall_clock() - timedelta(seconds=5)))
    try:
        async with Sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), clock=clock,
                          sleep=clock.sleep, lease=timedelta(seconds=20)) as sender:
            report = await sender.run_once(wait_retries=True, max_wait=600)
        assert report.sent == 2 and ids       # the one in flight (it may have arrived: README) and the next
        calls = [c for c in server.calls if c.method == "sendMessage"]
        # 20 in the window (19 sent + 1 in flight): the next waits for the first to leave it
        assert calls[0].ts >= (first_sent + timedelta(seconds=60)).timestamp()
    finally:
        await server.stop()
        engine.dispose()
