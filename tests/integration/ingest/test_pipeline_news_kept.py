"""Nothing silently dropped (issue 15, items 2 and 5), end to end: the Poller against the
loopback feed server, the Sender against the fake Bot API, on SQLite and PostgreSQL.

- A source added while its server fails keeps the news it published meanwhile: its first
  successful poll stores only what was published before it was added as backlog.
- One source cannot silence another: an aggregator that relays a link first with thin text
  does not swallow the original source's item, its hits and its alerts; both items are one
  story, which alerts a chat once, "also reported by" the other.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from bot.config.deliveries import load_deliveries
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.delivery.destinations import sync_config_destinations
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.pipeline import Poller
from bot.storage.db import open_database
from bot.storage.schema import deliveries, items
from support.fakebotapi import TOKEN, FakeBotAPI

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
CHAT = "4242"
RULE = """theme: detention
title: Immigration detention
priority: high
rules:
  - id: detention-en
    query: 'detention AND (migrant OR migrants OR asylum OR refugee)'
"""
NEWS = [("Migrants held in detention for months on Samos", "https://ngo.example/samos"),
        ("Asylum seekers face detention in Malta after rescue", "https://ngo.example/malta"),
        ("Court hears the detention of refugee children at Evros", "https://ngo.example/evros")]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 0))
        await asyncio.sleep(0)


def rss(entries: list[tuple[str, str, str, datetime]]) -> bytes:
    """entries: (guid, link, title, published)."""
    body = "".join(f"<item><guid isPermaLink='false'>{g}</guid><link>{link}</link><title>{t}</title>"
                   f"<description>{t}. A report.</description><pubDate>{format_datetime(at, usegmt=True)}</pubDate>"
                   f"</item>" for g, link, t, at in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
            f"<link>https://ngo.example/</link><description>d</description>{body}</channel></rss>").encode()


@pytest.fixture
async def world(tmp_path, feedserver, db_url):
    cfg = tmp_path / "cfg"
    (cfg / "rules").mkdir(parents=True)
    (cfg / "rules" / "detention.yaml").write_text(RULE)
    (cfg / "deliveries.yaml").write_text(
        f"telegram:\n  chats:\n    - chat: {CHAT}\n      name: Alerts\n      alerts: instant\n      digest: 'off'\n")
    engine = open_database(db_url)
    with engine.begin() as conn:
        sync_config_destinations(conn, load_deliveries(cfg), START)
    bot_api = await FakeBotAPI().start()
    clock = Clock()

    class World:
        server, dir, api = feedserver, cfg, bot_api

        def __init__(self) -> None:
            self.engine, self.clock = engine, clock

        def sources(self, *entries: str) -> None:
            body = ["defaults:", "  interval: 30m", "  language: en", "sources:"]
            for e in entries:
                sid, path = e.split()
                body += [f"  - id: {sid}", f"    name: {sid.title()}", f"    url: {feedserver.url(path)}",
                         "    type: feed"]
            (cfg / "sources.yaml").write_text("\n".join(body) + "\n")

        async def poll(self, *ids: str):
            async with Fetcher(FetchPolicy(allow_private=True, timeout=5)) as fetcher:
                poller = Poller(engine, load_sources(cfg), load_themes(cfg), fetcher, clock)
                return await poller.poll(list(ids) or None, due_only=False)

        async def send(self) -> list[str]:
            """Run the sender once; the texts of the alerts the chat received so far."""
            sources_cfg = load_sources(cfg)
            sender = Sender(engine, TelegramTransport(make_bot(TOKEN, bot_api.url, read_timeout=5.0)),
                            clock=clock, sleep=clock.sleep, themes=load_themes(cfg),
                            source_names={s.id: s.display_name for s in sources_cfg.sources})
            async with sender:
                await sender.run_once(wait_retries=True, max_wait=600)
            return [s.text for s in bot_api.messages_to(CHAT)]

        def rows(self, table, *where):
            with engine.connect() as conn:
                return list(conn.execute(select(table).where(*where)))

    try:
        yield World()
    finally:
        await bot_api.stop()
        engine.dispose()


async def test_a_source_added_while_failing_keeps_the_news_published_meanwhile(world):
    old = START - timedelta(days=3)
    world.server.add("/ngo.xml", status=503, body=b"down for maintenance", content_type="text/plain")
    world.sources("ngo /ngo.xml")
    for _ in range(3):                                    # added, and failing for a day
        assert (await world.poll()).results[0].outcome == "failed"
        world.clock.now += timedelta(hours=8)
    # It recovers: one report from before it was added, three published while it failed.
    entries = [(f"n{k}", url, title, START + timedelta(hours=2 + 6 * k)) for k, (title, url) in enumerate(NEWS)]
    entries.append(("old", "https://ngo.example/old", "Migrants in detention: last year's report", old))
    world.server.add("/ngo.xml", rss(entries))
    res = await world.poll()
    assert res.results[0].outcome == "changed" and res.results[0].backlog is True
    stored = {r.guid: r.is_backlog for r in world.rows(items)}
    assert stored == {"n0": False, "n1": False, "n2": False, "old": True}
    alerts = await world.send()
    assert len(alerts) == 3
    for title, _url in NEWS:
        assert sum(title in text for text in alerts) == 1
    assert not any("last year" in text for text in alerts)


async def test_an_aggregator_relaying_links_first_does_not_silence_the_source(world):
    world.server.add("/agg.xml", rss([("a0", "https://elsewhere.example/x", "Weekly links", START - timedelta(days=2))]))
    world.server.add("/ngo.xml", rss([("n-old", "https://ngo.example/old", "About us", START - timedelta(days=2))]))
    world.sources("agg /agg.xml", "ngo /ngo.xml")
    await world.poll()                                    # both: backlog
    world.clock.now += timedelta(hours=1)
    at = world.clock.now - timedelta(minutes=10)
    # The aggregator relays the NGO's three links first, with thin text that matches nothing ...
    world.server.add("/agg.xml", rss([(f"a{k + 1}", url, f"Link {k + 1}", at) for k, (_t, url) in enumerate(NEWS)]))
    assert (await world.poll("agg")).results[0].new_items == 3
    assert await world.send() == []
    # ... then the NGO publishes them with their text: each is stored, matched and alerted.
    world.clock.now += timedelta(minutes=30)
    world.server.add("/ngo.xml", rss([(f"n{k}", url + "?utm_source=rss", title, at)
                                      for k, (title, url) in enumerate(NEWS)]))
    res = await world.poll("ngo")
    assert res.results[0].new_items == 3 and res.results[0].hits == 3
    alerts = await world.send()
    assert len(alerts) == 3
    for title, _url in NEWS:
        [text] = [t for t in alerts if title in t]
        assert "Also reported by Agg" in text or "also reported by Agg" in text
    by_url: dict[str, set[int]] = {}
    for r in world.rows(items, items.c.guid != "a0", items.c.guid != "n-old"):
        by_url.setdefault(r.url, set()).add(r.story_id)
    assert len(by_url) == 3 and all(len(stories) == 1 for stories in by_url.values())   # one story per URL
    # A third relay of the same links, now with matching text: the stories alerted already.
    world.server.add("/agg.xml", rss([(f"b{k}", url, title + " (relayed)", at) for k, (title, url) in enumerate(NEWS)]))
    world.clock.now += timedelta(minutes=30)
    res = await world.poll("agg")
    assert res.results[0].hits == 3
    assert len(await world.send()) == 3
    assert len(world.rows(deliveries)) == 3
