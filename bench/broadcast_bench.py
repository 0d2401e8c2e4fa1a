"""A broadcast: how fast the sender drains 50,080 queued alerts for 52 chats.

    .venv/bin/python bench/broadcast_bench.py                    # 50,080 alerts, 52 chats, SQLite
    .venv/bin/python bench/broadcast_bench.py --alerts 5000      # a shorter run
    .venv/bin/python bench/broadcast_bench.py --db postgresql    # a throwaway PostgreSQL

Set-up: the fake Bot API (tests/support/fakebotapi.py) in a process of its own on 127.0.0.1, enforcing
Telegram's limits on the real clock (1 message a second into one private chat, 20 a minute into
a group, 30 a second overall: a message over them is answered 429). The 52 chats are members'
private chats, each urgent story one alert to every chat (a broadcast): so the queue can drain
at Telegram's overall 30/s, and the per-chat second is what the sender must spread over chats.
The outbox is filled directly (one hit per story, one delivery row per chat), then one Sender
(the code `newsbot deliver --once` and `newsbot run` use) runs until the queue is empty.

Reported: messages/s over the whole run, the 429s (flood waits) the server answered, the longest
gap between two consecutive sends (the pause at each batch of claimed rows shows here), the
slowest 10-second window, and the CPU seconds of the sender process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def serve() -> None:
    """The fake Bot API with Telegram's limits; prints its URL, stops when stdin closes."""
    from support.fakebotapi import FakeBotAPI, FloodLimits

    async def main() -> None:
        server = await FakeBotAPI(enforce_limits=FloodLimits()).start()
        server.calls = _Counting()         # 50,000 calls: count them, keep none
        server.sent = _Counting()
        print(server.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"calls": server.calls.n, "accepted": server.sent.n}), flush=True)
        await server.stop()

    asyncio.run(main())


class _Counting(list):
    n = 0

    def append(self, _item: object) -> None:
        self.n += 1


def fill(engine, alerts: int, chats: int, now: datetime) -> None:
    from sqlalchemy import insert

    from bot.storage.schema import deliveries, destinations, hits, items, stories

    stories_needed = -(-alerts // chats)
    with engine.begin() as conn:
        conn.execute(insert(destinations), [
            {"chat_id": str(5_000_001 + c), "name": f"member {c}", "origin": "self", "alerts": "instant",
             "digest": "off", "active": True, "created_at": now - timedelta(days=1)} for c in range(chats)])
        dest_ids = [d for (d,) in conn.exec_driver_sql("SELECT id FROM destinations ORDER BY id")]
        conn.execute(insert(stories), [{"id": s, "created_at": now, "updated_at": now}
                                       for s in range(1, stories_needed + 1)])
        conn.execute(insert(items), [
            {"id": s, "source_id": "alarmphone", "guid": f"g{s}", "url": f"https://alarmphone.example/{s}",
             "title": f"Boat in distress off Lesvos, 40 people on board ({s})",
             "summary": "Alarm Phone was alerted to a boat in distress in the Aegean. " * 3,
             "first_seen_at": now, "published_at": now, "language": "en", "story_id": s,
             "is_backlog": False} for s in range(1, stories_needed + 1)])
        conn.execute(insert(hits), [
            {"id": s, "item_id": s, "theme": "sea-rescue", "priority": "high", "rules": ["sea-en"],
             "explanations": [{"rule": "sea-en", "description": "boat NEAR distress, in title",
                               "snippet": "a boat in distress in the Aegean"}], "created_at": now}
            for s in range(1, stories_needed + 1)])
        rows, made = [], 0
        for s in range(1, stories_needed + 1):
            for d in dest_ids:
                if made == alerts:
                    break
                rows.append({"destination_id": d, "hit_id": s, "kind": "alert",
                             "dedupe_key": f"alert:story:{s}", "status": "queued", "attempts": 0,
                             "next_attempt_at": now, "created_at": now})
                made += 1
        for start in range(0, len(rows), 5000):
            conn.execute(insert(deliveries), rows[start:start + 5000])


def measure(engine, report, elapsed: float, cpu: float, server_counts: dict) -> dict:
    from sqlalchemy import func, select

    from bot.storage.schema import deliveries

    with engine.connect() as conn:
        by_status = dict(conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)).all())
        times = sorted(t.timestamp() for t in conn.execute(select(deliveries.c.sent_at).where(
            deliveries.c.status == "sent")).scalars())
    gaps = [b - a for a, b in zip(times, times[1:])]
    windows: dict[int, int] = {}
    for t in times:
        windows[int((t - times[0]) // 10)] = windows.get(int((t - times[0]) // 10), 0) + 1
    full = [n for w, n in windows.items() if w < max(windows)] if len(windows) > 1 else list(windows.values())
    return {"messages": report.messages, "rows": by_status, "seconds": round(elapsed, 1),
            "messages_per_s": round(report.messages / elapsed, 2) if elapsed else None,
            "flood_waits_429": report.flood_waits, "longest_gap_s": round(max(gaps, default=0.0), 2),
            "slowest_10s_window_per_s": round(min(full, default=0) / 10, 1),
            "sender_cpu_s": round(cpu, 1), "server": server_counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=50_080)
    ap.add_argument("--chats", type=int, default=52)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from bot.delivery.telegram.sender import Sender
    from bot.delivery.telegram.api import TelegramTransport, make_bot
    from bot.storage.db import open_database
    from support.fakebotapi import TOKEN

    with tempfile.TemporaryDirectory() as tmp:
        pg = None
        if args.db == "postgresql":
            from support.pgserver import PgServer
            pg = PgServer().start()
            url = pg.create_database()
        else:
            url = f"sqlite:///{tmp}/bench.db"
        server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            api_url = server.stdout.readline().strip()
            engine = open_database(url)
            now = datetime.now(timezone.utc)
            fill(engine, args.alerts, args.chats, now)
            print(f"queued {args.alerts} alerts for {args.chats} chats; sending to {api_url}", file=sys.stderr)

            async def run():  # noqa: ANN202
                async with Sender(engine, TelegramTransport(make_bot(TOKEN, api_url))) as sender:
                    return await sender.run_once(wait_retries=True, max_wait=24 * 3600)

            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.monotonic()
            report = asyncio.run(run())
            elapsed = time.monotonic() - t0
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            server.stdin.close()
            counts = json.loads(server.stdout.readline() or "{}")
            cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
            print(json.dumps({"alerts": args.alerts, "chats": args.chats, "db": args.db,
                              **measure(engine, report, elapsed, cpu, counts)}, indent=2))
            engine.dispose()
        finally:
            if server.poll() is None:
                server.kill()
            if pg is not None:
                pg.stop()


if __name__ == "__main__":
    main()
