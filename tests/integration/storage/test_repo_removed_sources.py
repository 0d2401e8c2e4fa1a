"""Sources removed from sources.yaml stop counting (issue 15, item 6): the config sync marks
their rows removed, and /healthz, /metrics, the coordinator report, the Telegram /status and
/health and the status counts leave them out; their items stay. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import func, insert, select

from bot.config.sources import load_sources
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.pipeline import Poller
from bot.insight.report import build_report
from bot.runtime.ops_http import OpsMetrics, database_snapshot
from bot.storage import repo
from bot.storage.db import open_database
from bot.storage.schema import items, sources
from support.telegram_support import running_bot
from support.telegram_support import say

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def rss(guid: str, title: str) -> bytes:
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><link>https://x.example/</link>"
            f"<description>d</description><item><guid>{guid}</guid><link>https://x.example/{guid}</link>"
            f"<title>{title}</title><pubDate>{format_datetime(NOW - timedelta(days=1), usegmt=True)}</pubDate>"
            f"</item></channel></rss>").encode()


@pytest.fixture
def world(tmp_path, feedserver, db_url):
    engine = open_database(db_url)
    feedserver.add("/keep.xml", rss("k1", "Kept"))
    feedserver.add("/old.xml", rss("o1", "Old source's item"))
    feedserver.add("/dead.xml", status=404, body=b"gone", content_type="text/plain")
    clock = {"now": NOW}

    def configure(*ids: str) -> None:
        lines = ["sources:"] + [f"  - id: {sid}\n    url: {feedserver.url(f'/{sid}.xml')}\n    type: feed"
                                for sid in ids]
        (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n")

    async def poll() -> None:
        async with Fetcher(FetchPolicy(allow_private=True, timeout=5)) as fetcher:
            await Poller(engine, load_sources(tmp_path), None, fetcher, lambda: clock["now"]).poll(due_only=False)
        clock["now"] += timedelta(hours=1)

    yield engine, configure, poll
    engine.dispose()


async def test_removed_sources_are_marked_and_count_nowhere(world):
    engine, configure, poll = world
    configure("keep", "old", "dead")
    await poll()
    with engine.connect() as conn:
        assert repo.counts(conn)["sources"] == {"ok": 2, "failing": 1}
    configure("keep")                         # "old" and "dead" leave sources.yaml
    await poll()
    with engine.connect() as conn:
        removed = {r.id: r.removed_at for r in conn.execute(select(sources.c.id, sources.c.removed_at))}
        assert removed["keep"] is None and removed["old"] is not None and removed["dead"] is not None
        assert repo.counts(conn)["sources"] == {"ok": 1}
        # their items stay
        assert conn.execute(select(func.count()).select_from(items).where(items.c.source_id == "old")).scalar() == 1
        report = build_report(conn, NOW + timedelta(hours=3))
        assert report["failing_sources"] == []
        assert "dead" not in report["sources_without_hits_30d"] and "old" not in report["sources_without_hits_30d"]
    snap = database_snapshot(engine, NOW)
    assert snap["sources"] == {"ok": 1}
    metrics = OpsMetrics(engine, lambda: NOW).render().decode()
    assert 'newsbot_sources{status="ok"} 1.0' in metrics and 'status="failing"' not in metrics

    configure("keep", "dead")                 # a source that comes back counts again
    await poll()
    with engine.connect() as conn:
        assert repo.counts(conn)["sources"] == {"ok": 1, "failing": 1}
        assert repo.source_state(conn, "dead").removed_at is None


async def test_telegram_status_and_health_leave_removed_sources_out(tmp_path, fake_bot_api):
    yaml = "sources:\n  - id: picum\n    url: https://picum.org/feed/\n"
    async with running_bot(tmp_path, fake_bot_api, yaml, {"picum": "PICUM"}) as w:
        with w.engine.begin() as conn:
            for sid, removed in (("picum", None), ("ghost", NOW)):
                conn.execute(insert(sources).values(
                    id=sid, url=f"https://{sid}.example/", status="failing", error_count=3, items_seen=0,
                    backlog_done=True, created_at=NOW, failing_since=NOW, last_error_kind="timeout",
                    removed_at=removed))
        health = await say(w, "/health", user=7)
        assert "1 failing sources" in health and "picum" in health and "ghost" not in health
        assert "Sources failing: 1" in await say(w, "/status", user=7)
