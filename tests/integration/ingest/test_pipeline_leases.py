"""Pollers sharing sources through leases, on SQLite and PostgreSQL: concurrent pollers poll
every due source exactly once, a live lease is respected, an expired one is taken over."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from bot.config.sources import load_sources
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.pipeline import Poller
from bot.storage.schema import items, sources

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def rss(n: int) -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>F{n}</title>"
            f"<link>https://f{n}.example/</link><description>d</description>"
            f"<item><guid>f{n}-1</guid><link>https://f{n}.example/1</link><title>News {n}</title>"
            f"<description>Text {n}</description></item></channel></rss>").encode()


def write_sources(cfg, feedserver, n: int) -> None:
    lines = ["defaults:", "  interval: 30m", "  language: en", "  per_host: 8", "sources:"]
    for i in range(n):
        feedserver.add(f"/f{i}.xml", rss(i), etag=f'"v{i}"')
        lines += [f"  - id: s{i:03d}", f"    url: {feedserver.url(f'/f{i}.xml')}", "    type: feed"]
    (cfg / "sources.yaml").write_text("\n".join(lines) + "\n")


async def test_concurrent_pollers_share_sources_once(engine, tmp_path, feedserver):
    write_sources(tmp_path, feedserver, 60)
    cfg = load_sources(tmp_path)
    async with Fetcher(FetchPolicy(allow_private=True, timeout=10)) as fetcher:
        pollers = [Poller(engine, cfg, None, fetcher, clock=lambda: NOW, concurrency=4, lease_owner=f"p{k}")
                   for k in range(3)]
        summaries = await asyncio.gather(*(p.poll() for p in pollers))
        assert sum(s.polled for s in summaries) == 60
        polled = [r.source_id for s in summaries for r in s.results]
        assert sorted(polled) == sorted({r for r in polled})      # nobody polled a source twice
        assert sum(1 for s in summaries if s.polled) >= 2            # the work was shared
        assert all(feedserver.hits(f"/f{i}.xml") == 1 for i in range(60))
        with engine.connect() as conn:
            rows = conn.execute(select(sources.c.lease_owner, sources.c.last_poll_at)).all()
            assert all(r.lease_owner is None and r.last_poll_at == NOW for r in rows)   # leases ended
            assert len(conn.execute(select(items.c.id)).all()) == 60

        # Nothing is due now: another cycle polls nothing.
        again = await pollers[0].poll()
        assert again.polled == 0


async def test_live_lease_skipped_expired_lease_taken_over(engine, tmp_path, feedserver):
    write_sources(tmp_path, feedserver, 6)
    cfg = load_sources(tmp_path)
    real_now = datetime.now(timezone.utc)
    async with Fetcher(FetchPolicy(allow_private=True, timeout=10)) as fetcher:
        poller = Poller(engine, cfg, None, fetcher, clock=lambda: NOW, lease_owner="me")
        await Poller(engine, cfg, None, fetcher, clock=lambda: NOW - timedelta(days=1)).poll(["s000"])  # rows exist
        with engine.begin() as conn:
            conn.execute(update(sources).values(next_poll_at=None))
            # s001 held by a live poller, s002 by one that died a while ago; s003 disabled below
            conn.execute(update(sources).where(sources.c.id == "s001")
                         .values(lease_owner="alive", lease_until=real_now + timedelta(minutes=5)))
            conn.execute(update(sources).where(sources.c.id == "s002")
                         .values(lease_owner="dead", lease_until=real_now - timedelta(seconds=1)))
        text = (tmp_path / "sources.yaml").read_text().replace(
            "    url: " + feedserver.url("/f3.xml"), "    url: " + feedserver.url("/f3.xml") + "\n    enabled: false")
        (tmp_path / "sources.yaml").write_text(text)
        poller.sources_cfg = load_sources(tmp_path)
        summary = await poller.poll()
    assert sorted(r.source_id for r in summary.results) == ["s000", "s002", "s004", "s005"]
    with engine.connect() as conn:
        owners = dict(conn.execute(select(sources.c.id, sources.c.lease_owner)).all())
    assert owners["s001"] == "alive" and owners["s002"] is None
