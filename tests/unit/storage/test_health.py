"""bot.storage.health: the figures behind /healthz and /metrics, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from bot.storage import health
from bot.storage.schema import deliveries, destinations, email_sends
from support.seed_hits import add_hit, add_item, add_source

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_an_empty_database(engine):
    with engine.connect() as conn:
        assert health.figures(conn) == health.Figures(deliveries={}, oldest_waiting_alert=None, emails={}, items=0,
                                                      hits_by_theme={}, sources_by_status={}, last_successful_poll=None)


def test_figures(engine):
    with engine.begin() as conn:
        add_source(conn, "kept", NOW, last_success_at=NOW - timedelta(hours=2))
        add_source(conn, "failing", NOW, status="failing", last_success_at=NOW - timedelta(hours=5))
        add_source(conn, "removed", NOW, removed_at=NOW, last_success_at=NOW - timedelta(minutes=1))
        dest = conn.execute(insert(destinations).values(chat_id="1", origin="config", alerts="instant",
                                                        digest="daily 08:00", created_at=NOW)).inserted_primary_key[0]
        n = 0
        for theme, kind, status, age in (("detention", "alert", "sent", 9), ("detention", "digest", "queued", 8),
                                         ("pushbacks", "alert", "sending", 3), ("pushbacks", "alert", "queued", 1)):
            item, _story = add_item(conn, "kept", f"item {n}", NOW)
            hit = add_hit(conn, item, theme, ["r"], NOW)
            conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind=kind, dedupe_key=f"{kind}:{hit}",
                                                   status=status, created_at=NOW - timedelta(hours=age)))
            n += 1
        conn.execute(insert(email_sends).values(list_name="members", week="2026-W48", recipient="a@example.org",
                                                status="queued", created_at=NOW))
    with engine.connect() as conn:
        figures = health.figures(conn)
    assert figures.deliveries == {("alert", "sent"): 1, ("digest", "queued"): 1, ("alert", "sending"): 1,
                                  ("alert", "queued"): 1}
    # the digest entry waits for its slot by design: only alerts age
    assert figures.oldest_waiting_alert == NOW - timedelta(hours=3)
    assert (figures.emails, figures.items, figures.hits_by_theme) == ({"queued": 1}, 4, {"detention": 2, "pushbacks": 2})
    # a source removed from sources.yaml counts nowhere
    assert figures.sources_by_status == {"ok": 1, "failing": 1}
    assert figures.last_successful_poll == NOW - timedelta(hours=2)
