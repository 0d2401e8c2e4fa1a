"""Several workers on one real PostgreSQL: three `newsbot run --role poller` processes and two
`--role sender` processes against 2,000 feeds (nginx, another process) and the fake Bot API.

Cycle 1: every source is new (and empty); one poller is killed with SIGKILL mid-cycle. Cycle 2: every
source falls due again and 200 feeds carry a new high-priority item; one sender is killed
with SIGKILL mid-delivery. Then, from nginx's request log, the database and the fake Bot API:
- every source was fetched exactly once per cycle, except the few the killed poller held at
  the moment it died (their leases expired and another poller fetched them again, at most once);
- every queued alert was sent exactly once, except a message the killed sender had in flight
  (claimed, maybe accepted by Telegram, not yet marked): at most that one can go twice, the
  window README "Telegram" describes.
The simulated clock runs 120 times real time (intervals of 12 h are 6 real minutes: no source
falls due by itself during the test); leases are 6 real seconds.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.runtime.clock import Clock
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, sources
from support.fakebotapi import TOKEN, FakeBotAPI
from support.nginxfeeds import NginxFeeds

pytestmark = pytest.mark.timeout(170)

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
N_SOURCES = 2000
N_CHANGED = 200
CHATS = ["1001", "1002", "1003", "1004"]
SCALE = 120.0
LEASE_TTL = 6
WORDS = "court ruling report ministry camp shelter lawyers agency sea rescue coast island appeal".split()

RULE = """theme: detention
title: Immigration detention
priority: high
rules:
  - id: detention-en
    query: 'detention AND migrants'
"""


def write_config(cfg: Path, feeds: NginxFeeds) -> None:
    (cfg / "rules").mkdir(parents=True)
    (cfg / "rules" / "detention.yaml").write_text(RULE)
    lines = ["defaults:", "  interval: 12h", "  language: en", "  per_host: 32", "  timeout: 30s", "sources:"]
    for n in range(N_SOURCES):
        lines += [f"  - id: s{n:04d}", f"    url: {feeds.url(n)}", "    type: feed"]
    (cfg / "sources.yaml").write_text("\n".join(lines) + "\n")
    chats = "".join(f"    - chat: {c}\n      name: Chat {c}\n      alerts: instant\n      digest: 'off'\n" for c in CHATS)
    (cfg / "deliveries.yaml").write_text(f"timezone: UTC\ntelegram:\n  chats:\n{chats}")


def first_items(n: int) -> list[tuple[str, str, str]]:
    # Cycle 1 feeds are empty (a new site): the first poll of each source is then cheap, and
    # cycle 2's items are all new, not backlog. Every item costs the pipeline some 25 ms.
    return []


def new_item(n: int, rng: random.Random) -> tuple[str, str, str]:
    words = " ".join(rng.sample(WORDS, 4))
    return (f"{n}-new", f"Migrants held in detention, case {n}: {words}", f"Detention of migrants, file {n}.")


class Worker:
    def __init__(self, role: str, k: int, env: dict[str, str], logdir: Path):
        self.role, self.k = role, k
        self.log = logdir / f"{role}{k}.log"
        self._out = open(self.log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([NEWSBOT, "run", "--role", role, "--log-level", "INFO"], env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def term(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            self._out.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


async def until(predicate, timeout: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for w in workers:
            if w.proc.poll() is not None and w.proc.returncode not in (-signal.SIGKILL,):
                raise AssertionError(f"{w.role}{w.k} exited with {w.proc.returncode}:\n{w.text()[-3000:]}")
        if time.monotonic() > deadline:
            for w in workers:   # faulthandler (PYTHONFAULTHANDLER) prints where each one was
                if w.proc.poll() is None:
                    w.proc.send_signal(signal.SIGABRT)
            await asyncio.sleep(1)
            stacks = "\n".join(f"--- {w.role}{w.k}\n{w.text()[-4000:]}" for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{stacks}")
        await asyncio.sleep(0.2)


def owned_by(pid: int):  # noqa: ANN201
    return sources.c.lease_owner.like(f"%:{pid}:%")


async def test_three_pollers_two_senders_kill_one_of_each(tmp_path, pg_server):
    feeds = NginxFeeds(tmp_path / "nginx")
    for n in range(N_SOURCES):
        feeds.write(n, first_items(n))
    feeds.start()
    bot_api = await FakeBotAPI().start()
    workers: list[Worker] = []
    db_url = pg_server.create_database()
    engine = open_database(db_url)   # migrated once here, so the workers start on a ready schema
    try:
        cfg = tmp_path / "cfg"
        write_config(cfg, feeds)
        origin = time.time()
        clock = Clock(SCALE, origin)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SMTP_", "DATABASE_"))}
        env.update(NEWSBOT_CONFIG_DIR=str(cfg), DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=TOKEN,
                   TELEGRAM_API_URL=bot_api.url, NEWSBOT_ALLOW_PRIVATE_NETWORKS="1", NEWSBOT_HTTP="off",
                   NEWSBOT_TIME_SCALE=str(SCALE), NEWSBOT_TIME_ORIGIN=repr(origin),
                   NEWSBOT_LEASE_TTL=str(LEASE_TTL), PYTHONFAULTHANDLER="1")
        t_start = time.monotonic()
        workers += [Worker("poller", k, env, tmp_path) for k in range(3)]
        workers += [Worker("sender", k, env, tmp_path) for k in range(2)]

        def count(*where) -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(sources).where(*where)).scalar()

        # --- cycle 1: every source is new; kill a poller in the middle ---------------------
        await until(lambda: count(sources.c.last_poll_at.is_not(None)) >= N_SOURCES // 4, 60,
                    "a quarter of cycle 1", workers)
        victim = workers[0]
        victim.kill9()
        held_by_victim = set()
        with engine.connect() as conn:
            held_by_victim = set(conn.execute(select(sources.c.id).where(owned_by(victim.pid))).scalars())
        t_kill = time.monotonic() - t_start
        polled_at_kill = count(sources.c.last_poll_at.is_not(None))
        assert polled_at_kill < N_SOURCES, "the kill must land mid-cycle"
        await until(lambda: count(sources.c.backlog_done.is_(True), sources.c.lease_owner.is_(None)) == N_SOURCES,
                    90, "cycle 1 to complete after the kill", workers)
        t_cycle1 = time.monotonic() - t_start
        cycle1 = feeds.counts()
        held_n = {int(sid[1:]) for sid in held_by_victim}
        assert set(cycle1) == set(range(N_SOURCES))
        twice = {n for n, c in cycle1.items() if c > 1}
        assert all(cycle1[n] == 1 for n in range(N_SOURCES) if n not in held_n), \
            f"fetched twice without a dead holder: {sorted(twice - held_n)[:20]}"
        assert all(cycle1[n] <= 2 for n in held_n)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(items)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(deliveries)).scalar() == 0  # backlog

        # --- cycle 2: everything due again, 200 feeds changed; kill a sender mid-delivery --
        rng = random.Random(8)
        changed = sorted(rng.sample(range(N_SOURCES), N_CHANGED))
        for n in changed:
            feeds.write(n, [new_item(n, rng), *first_items(n)])
        cycle2_at = clock.now()
        with engine.begin() as conn:
            conn.execute(update(sources).values(next_poll_at=cycle2_at))
        expected = N_CHANGED * len(CHATS)

        def sent() -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(deliveries)
                                    .where(deliveries.c.status == "sent")).scalar()

        await until(lambda: sent() >= expected // 4, 60, "a quarter of the alerts sent", workers)
        victim_sender = workers[3]
        victim_sender.kill9()
        with engine.connect() as conn:
            flying = conn.execute(select(deliveries.c.id, deliveries.c.destination_id).where(
                deliveries.c.status == "sending",
                deliveries.c.lease_owner.like(f"%:{victim_sender.pid}:%"))).all()
        in_flight = {r.id for r in flying}
        # The sender sends to different chats at once, one message in flight per chat.
        assert len({r.destination_id for r in flying}) == len(flying) <= len(CHATS), flying
        assert sent() < expected, "the kill must land mid-delivery"
        await until(lambda: count(sources.c.last_poll_at >= cycle2_at, sources.c.lease_owner.is_(None)) == N_SOURCES,
                    60, "cycle 2 polled", workers)
        await until(lambda: sent() == expected, 60, "every alert sent", workers)

        t_cycle2 = time.monotonic() - t_start
        cycle2 = feeds.counts() - cycle1
        assert set(cycle2) == set(range(N_SOURCES)) and set(cycle2.values()) == {1}, \
            f"cycle 2 fetch counts: {Counter(cycle2.values())}"
        with engine.connect() as conn:
            rows = conn.execute(select(deliveries.c.id, deliveries.c.status, destinations.c.chat_id, items.c.title)
                                .join(destinations, destinations.c.id == deliveries.c.destination_id)
                                .join(hits, hits.c.id == deliveries.c.hit_id)
                                .join(items, items.c.id == hits.c.item_id)).all()
        assert len(rows) == expected and {r.status for r in rows} == {"sent"}
        case = re.compile(r"case (\d+):")
        messages = Counter((s.chat_id, int(case.search(s.text).group(1))) for s in bot_api.sent if case.search(s.text))
        wanted = {(r.chat_id, int(case.search(r.title).group(1))): r.id for r in rows}
        assert set(messages) == set(wanted)
        repeated = {key for key, c in messages.items() if c > 1}
        assert all(wanted[key] in in_flight for key in repeated), f"sent twice: {repeated}"
        assert len(repeated) <= len(in_flight) <= len(CHATS)

        for w in workers:
            if w.proc.poll() is None:
                assert w.term() == 0, w.text()[-3000:]
        print(f"\n[multiworker] sources={N_SOURCES} killed poller held={len(held_by_victim)} "
              f"refetched={len(twice)} alerts={expected} in_flight_at_kill={len(in_flight)} "
              f"sent_twice={len(repeated)} t_kill={t_kill:.1f}s t_cycle1={t_cycle1:.1f}s t_done={t_cycle2:.1f}s")
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
            if not w._out.closed:
                w._out.close()
        await bot_api.stop()
        feeds.stop()
        engine.dispose()
