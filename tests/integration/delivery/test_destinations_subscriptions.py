"""A chat's own subscription row (bot.delivery.destinations, bot.delivery.outbox): what the Telegram commands write
and what /status counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from bot.storage.schema import deliveries, destinations, hits, items
from bot.delivery.destinations import change_subscription
from bot.delivery.outbox import queued_count

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)


def add_destination(conn, chat: str) -> int:
    return conn.execute(destinations.insert().values(
        chat_id=chat, origin="self", themes=["detention"], regions=["Europe"], alerts="instant",
        digest="daily 08:00", active=True, created_at=NOW)).inserted_primary_key[0]


def test_only_the_given_columns_change(engine) -> None:
    with engine.begin() as conn:
        mine, other = add_destination(conn, "42"), add_destination(conn, "43")
        change_subscription(conn, mine, {"themes": None, "alerts": "both"})
        change_subscription(conn, mine, {"active": False, "inactive_reason": "unsubscribed"})
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(destinations))}
    assert (rows[mine].themes, rows[mine].regions, rows[mine].alerts, rows[mine].digest) == (None, ["Europe"], "both",
                                                                                             "daily 08:00")
    assert (rows[mine].active, rows[mine].inactive_reason) == (False, "unsubscribed")
    assert (rows[other].themes, rows[other].alerts, rows[other].active) == (["detention"], "instant", True)


def test_queued_count_is_this_destinations_queued_rows(engine) -> None:
    with engine.begin() as conn:
        mine, other = add_destination(conn, "42"), add_destination(conn, "43")
        conn.execute(items.insert().values(id=1, source_id="picum", guid="g1", url="https://x.org/1", title="t",
                                           first_seen_at=NOW))
        for n, (dest, kind, status) in enumerate([(mine, "digest", "queued"), (mine, "alert", "queued"),
                                                  (mine, "digest", "sent"), (other, "digest", "queued")]):
            hit = conn.execute(hits.insert().values(item_id=1, theme=f"t{n}", priority="normal",
                                                    created_at=NOW)).inserted_primary_key[0]
            conn.execute(deliveries.insert().values(destination_id=dest, hit_id=hit, kind=kind, status=status,
                                                    dedupe_key=f"{kind}:hit:{hit}", created_at=NOW))
    with engine.connect() as conn:
        assert (queued_count(conn, mine), queued_count(conn, other), queued_count(conn, 999)) == (2, 1, 0)
