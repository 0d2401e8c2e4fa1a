"""What a poll writes (bot.ingest.poll_store.PollWriter), on a real SQLite file: a changed
source's items with its backlog rule and new state, a batch of unchanged sources, a failure.
The cycle around them (threads, leases, HTTP) is tests/integration/ingest/test_pipeline.py."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, update

from bot.config.sources import load_sources
from bot.ingest import scheduling
from bot.ingest.fetch_policy import FetchResult
from bot.ingest.poll_results import SourceResult
from bot.ingest.poll_store import PollWriter, Unchanged
from bot.model import Item
from bot.parse import ParsedFeed
from bot.storage import repo
from bot.storage.db import open_database
from bot.storage.schema import items, sources

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "defaults:\n  interval: 30m\n  language: en\nsources:\n"
        "  - id: a\n    url: https://a.example/feed\n  - id: b\n    url: https://b.example/feed\n")
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    cfg = load_sources(tmp_path)
    with engine.begin() as conn:
        repo.ensure_sources(conn, [(s.id, s.url) for s in cfg.sources], NOW - timedelta(days=1))
    writer = PollWriter(engine, cfg, None, lambda: NOW, random.Random(1))
    yield engine, cfg, writer
    engine.dispose()


def states(engine):
    with engine.connect() as conn:
        return repo.poll_states(conn)


def fetched(etag: str | None = '"v1"') -> FetchResult:
    return FetchResult(url="https://a.example/feed", status=200, headers=httpx.Headers(), body=b"<rss/>",
                       not_modified=False, body_hash="h1", etag=etag, last_modified=None, elapsed=0.0)


def item(guid: str, published: datetime | None) -> Item:
    return Item(source_id="a", guid=guid, url=f"https://a.example/{guid}", title=f"Item {guid}",
                language="en", published=published)


def test_a_first_poll_stores_old_items_as_backlog_and_the_new_state(setup):
    engine, cfg, writer = setup
    with engine.begin() as conn:   # the source was added to sources.yaml two hours ago
        conn.execute(update(sources).where(sources.c.id == "a").values(configured_at=NOW - timedelta(hours=2)))
    parsed = ParsedFeed(title="A", items=[item("old", NOW - timedelta(days=3)), item("new", NOW - timedelta(hours=1)),
                                          item("undated", None)])
    result = SourceResult("a", "failed")
    writer.store_changed(cfg.get("a"), states(engine)["a"], fetched(), parsed, "https://a.example/feed", result)
    with engine.connect() as conn:
        backlog = dict(conn.execute(select(items.c.guid, items.c.is_backlog)).all())
        state = repo.source_state(conn, "a")
    assert backlog == {"old": True, "new": False, "undated": True}
    assert (result.outcome, result.new_items, result.backlog) == ("changed", 3, True)
    assert (state.status, state.etag, state.body_hash, state.backlog_done) == ("ok", '"v1"', "h1", True)
    assert state.next_poll_at == result.next_poll_at == NOW + timedelta(minutes=30)

    again = SourceResult("a", "failed")   # the same items again: nothing new, no longer a backlog poll
    writer.store_changed(cfg.get("a"), states(engine)["a"], fetched(), parsed, None, again)
    assert (again.new_items, again.backlog) == (0, False)


def test_a_failure_counts_backs_off_and_keeps_a_paused_source_paused(setup):
    engine, cfg, writer = setup
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == "b").values(status="paused", lease_owner="me"))
    for sid in ("a", "a", "b"):
        result = SourceResult(sid, "failed")
        writer.record_failure(cfg.get(sid), states(engine)[sid], result, "timeout", "x" * 600, None)
    with engine.connect() as conn:
        a, b = repo.source_state(conn, "a"), repo.source_state(conn, "b")
    assert (a.status, a.error_count, a.last_error_kind, len(a.last_error)) == ("failing", 2, "timeout", 500)
    assert a.failing_since == NOW and a.next_poll_at > NOW
    assert (b.status, b.error_count, b.lease_owner) == ("paused", 1, None)
    assert (result.outcome, result.error_kind, result.next_poll_at) == ("failed", "timeout", b.next_poll_at)


def test_unchanged_sources_are_written_together_and_a_failing_one_recovers(setup):
    engine, cfg, writer = setup
    with engine.begin() as conn:
        conn.execute(update(sources).values(status="ok", error_count=0))
        conn.execute(update(sources).where(sources.c.id == "b").values(
            status="failing", error_count=3, failing_since=NOW - timedelta(hours=5), last_error_kind="timeout"))
    st = states(engine)
    results = {sid: SourceResult(sid, "unchanged") for sid in ("a", "b")}
    writer.write_unchanged([Unchanged(cfg.get(sid), st[sid], '"e"', None, scheduling.Hints(), NOW, results[sid])
                            for sid in ("a", "b")])
    with engine.connect() as conn:
        a, b = repo.source_state(conn, "a"), repo.source_state(conn, "b")
    assert (a.status, a.etag, a.last_success_at) == ("ok", '"e"', NOW)
    assert (b.status, b.error_count, b.failing_since, b.last_error_kind) == ("ok", 0, None, None)
    assert results["a"].next_poll_at == a.next_poll_at and results["b"].next_poll_at == b.next_poll_at
