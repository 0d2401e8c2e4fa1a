"""Leader election on PostgreSQL: of two `newsbot run --role bot` processes exactly one leads
(runs Telegram long polling and the schedules); when it is killed with SIGKILL the standby
takes over within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.storage.db import open_database
from support.fakebotapi import TOKEN, FakeBotAPI
from support.nginxfeeds import free_port

pytestmark = pytest.mark.timeout(90)
NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


async def health(client: httpx.AsyncClient, port: int) -> dict | None:
    try:
        return (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)).json()
    except (httpx.HTTPError, ValueError):
        return None


async def test_one_leader_and_takeover_after_kill(tmp_path, pg_server):
    cfg = tmp_path / "cfg"
    (cfg / "rules").mkdir(parents=True)
    (cfg / "rules" / "detention.yaml").write_text(
        "theme: detention\ntitle: Detention\npriority: high\nrules:\n  - id: d\n    query: detention\n")
    (cfg / "sources.yaml").write_text("sources:\n  - id: one\n    url: http://127.0.0.1:9/feed.xml\n")
    (cfg / "deliveries.yaml").write_text("telegram:\n  chats: []\n")
    db_url = pg_server.create_database()
    open_database(db_url).dispose()
    bot_api = await FakeBotAPI().start()
    procs: list[tuple[subprocess.Popen, int, object]] = []
    try:
        for k in range(2):
            port = free_port()
            env = {k2: v for k2, v in os.environ.items() if not k2.startswith(("NEWSBOT_", "TELEGRAM_", "DATABASE_"))}
            env.update(NEWSBOT_CONFIG_DIR=str(cfg), DATABASE_URL=db_url, TELEGRAM_BOT_TOKEN=TOKEN,
                       TELEGRAM_API_URL=bot_api.url, NEWSBOT_HTTP=f"127.0.0.1:{port}")
            out = open(tmp_path / f"bot{k}.log", "wb")  # noqa: SIM115
            procs.append((subprocess.Popen([NEWSBOT, "run", "--role", "bot"], env=env, stdout=out,
                                           stderr=subprocess.STDOUT), port, out))
        async with httpx.AsyncClient() as client:
            async def states() -> list:
                return [await health(client, port) for _, port, _ in procs]

            deadline = time.monotonic() + 40
            while True:
                docs = await states()
                if all(docs) and any(d["leader"] for d in docs):
                    break
                assert time.monotonic() < deadline, f"no leader: {docs}"
                await asyncio.sleep(0.2)
            await asyncio.sleep(5.0 + 1)   # a standby attempt (LEADER_EVERY) later: still one leader
            docs = await states()
            assert [d["leader"] for d in docs].count(True) == 1, docs
            assert {d["role"] for d in docs} == {"bot"}
            leader = next(i for i, d in enumerate(docs) if d["leader"])
            standby = 1 - leader
            assert any(c.method == "getUpdates" for c in bot_api.calls)

            procs[leader][0].send_signal(signal.SIGKILL)
            procs[leader][0].wait(10)
            killed_at = time.monotonic()
            while not ((await health(client, procs[standby][1])) or {}).get("leader"):
                assert time.monotonic() - killed_at < 20, "the standby did not take over"
                await asyncio.sleep(0.2)
            took = time.monotonic() - killed_at
            polls_before = sum(1 for c in bot_api.calls if c.method == "getUpdates")
            await asyncio.sleep(1.0)
            assert sum(1 for c in bot_api.calls if c.method == "getUpdates") > polls_before   # the new leader polls
        proc = procs[standby][0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        print(f"\n[leader] takeover after SIGKILL in {took:.1f}s")
    finally:
        for proc, _, out in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            out.close()
        await bot_api.stop()
