"""/healthz and /metrics over a real socket, against a real SQLite file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from bot.ingest.poll_results import PollSummary
from bot.runtime.ops_http import OpsMetrics, OpsServer, parse_address
from bot.storage.db import make_engine, open_database
from bot.storage.schema import deliveries, destinations, hits, items, sources
from support.ops_client import ops_request

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    eng = open_database(f"sqlite:///{tmp_path / 'ops.db'}")
    with eng.begin() as conn:
        conn.execute(insert(sources).values(id="picum", url="https://picum.org/feed/", status="ok",
                                            error_count=0, items_seen=2, backlog_done=True,
                                            last_success_at=NOW - timedelta(minutes=5), created_at=NOW))
        item = conn.execute(insert(items).values(source_id="picum", guid="g1", url="https://picum.org/1", title="t",
                                                 summary="", text="", categories=[], tags=[], countries=[],
                                                 regions=[], first_seen_at=NOW, is_backlog=False)).inserted_primary_key[0]
        hit = conn.execute(insert(hits).values(item_id=item, theme="pushbacks", priority="high", rules=[],
                                               explanations=[], created_at=NOW)).inserted_primary_key[0]
        dest = conn.execute(insert(destinations).values(chat_id="42", origin="config", alerts="instant",
                                                        digest="off", created_at=NOW)).inserted_primary_key[0]
        conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind="alert", dedupe_key="a:1",
                                               status="queued", created_at=NOW - timedelta(minutes=10)))
        # a digest entry waiting for tomorrow's digest: queued, but not late
        conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind="digest", dedupe_key="d:1",
                                               status="queued", created_at=NOW - timedelta(hours=20)))
    yield eng
    eng.dispose()


async def test_healthz_reports_db_last_poll_and_queue(engine):
    metrics = OpsMetrics(engine, lambda: NOW)
    async with OpsServer("127.0.0.1:0", engine, lambda: NOW, metrics, status=lambda: {"lock": "held"}) as server:
        status, headers, body = await ops_request(server.port, "/healthz")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["status"] == "ok" and doc["db"] == "ok"
    assert doc["last_successful_poll"] == "2026-11-22T11:55:00Z"
    assert doc["queue"] == 2
    assert doc["oldest_queued_age_seconds"] == 600    # the alert's; the digest entry waits by design
    assert doc["lock"] == "held"


async def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    (tmp_path / "missing-dir").rmdir()
    metrics = OpsMetrics(broken, lambda: NOW)
    async with OpsServer("127.0.0.1:0", broken, lambda: NOW, metrics) as server:
        status, _, body = await ops_request(server.port, "/healthz")
        m_status, _, m_body = await ops_request(server.port, "/metrics")
    broken.dispose()
    assert status == 503
    assert json.loads(body)["status"] == "error"
    assert m_status == 200 and b"newsbot_database_up 0.0" in m_body


async def test_metrics_counters_and_database_gauges(engine):
    metrics = OpsMetrics(engine, lambda: NOW)
    metrics.record_poll(PollSummary(polled=3, new_items=5, hits=2, failures={"timeout": 1, "not-found": 2}))
    metrics.record_deliveries(sent=4, failed=1)
    async with OpsServer("127.0.0.1:0", engine, lambda: NOW, metrics) as server:
        status, headers, body = await ops_request(server.port, "/metrics")
        missing, _, _ = await ops_request(server.port, "/nope")
        post, _, _ = await ops_request(server.port, "/metrics", method="POST")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    for line in ("newsbot_polls_total 3.0", "newsbot_items_new_total 5.0", "newsbot_hits_new_total 2.0",
                 'newsbot_poll_failures_total{kind="not-found"} 2.0', "newsbot_deliveries_sent_total 4.0",
                 "newsbot_deliveries_failed_total 1.0", 'newsbot_deliveries{kind="alert",status="queued"} 1.0',
                 "newsbot_deliveries_queued 2.0", "newsbot_outbox_oldest_queued_age_seconds 600.0",
                 'newsbot_hits_stored{theme="pushbacks"} 1.0', "newsbot_items_stored 1.0",
                 "newsbot_last_successful_poll_timestamp_seconds 1.7953485e+09"):
        assert line in text, line
    assert (missing, post) == (404, 405)


@pytest.mark.parametrize("value,expected", [("127.0.0.1:8787", ("127.0.0.1", 8787)), (":9000", ("127.0.0.1", 9000)),
                                            ("[::1]:8787", ("::1", 8787))])
def test_parse_address(value, expected):
    assert parse_address(value) == expected


def test_parse_address_rejects_garbage():
    with pytest.raises(ValueError, match="NEWSBOT_HTTP"):
        parse_address("localhost")
