"""When the daemon's next work is due: digest slots across time zones and DST, the next poll;
and the reads under it (bot.storage.due) on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from bot.runtime.due import has_delivery_work, next_slot, seconds_to_next_delivery, seconds_to_next_poll
from bot.storage import due as stored
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, sources

UTC = timezone.utc


@pytest.mark.parametrize("spec,tz,now,expected", [
    ("daily 08:00", "UTC", datetime(2026, 11, 22, 7, 0, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
    ("daily 08:00", "UTC", datetime(2026, 11, 22, 8, 0, tzinfo=UTC), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
    # 08:00 in Brussels is 07:00 UTC in winter and 06:00 UTC in summer; the DST switch is respected.
    ("daily 08:00", "Europe/Brussels", datetime(2026, 3, 28, 12, 0, tzinfo=UTC),
     datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
    ("daily 08:00", "Europe/Brussels", datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
     datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
    ("weekly monday 09:30", "UTC", datetime(2026, 11, 22, 12, 0, tzinfo=UTC),   # a Sunday
     datetime(2026, 11, 23, 9, 30, tzinfo=UTC)),
    ("off", "UTC", datetime(2026, 11, 22, tzinfo=UTC), None),
    ("sometimes", "UTC", datetime(2026, 11, 22, tzinfo=UTC), None),
])
def test_next_slot(spec, tz, now, expected):
    assert next_slot(spec, tz, now) == expected


def test_seconds_to_next_poll(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for sid, status, nxt in (("a", "ok", now + timedelta(minutes=10)), ("b", "ok", now + timedelta(minutes=3)),
                                 ("c", "paused", now - timedelta(hours=1))):
            conn.execute(insert(sources).values(id=sid, url="https://x.example/", status=status, error_count=0,
                                                items_seen=0, backlog_done=True, next_poll_at=nxt, created_at=now))
    assert seconds_to_next_poll(engine, ["a", "b", "c"], now, 300) == 180, "paused sources wait"
    assert seconds_to_next_poll(engine, ["a"], now, 300) == 300, "capped"
    assert seconds_to_next_poll(engine, ["a", "new"], now, 300) == 0, "a source never polled is due now"
    assert seconds_to_next_poll(engine, [], now, 300) == 300
    engine.dispose()


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
_guids = itertools.count()


def add_destination(conn, chat: str, digest: str = "off", tz: str | None = None, active: bool = True) -> int:
    return conn.execute(insert(destinations).values(chat_id=chat, origin="config", alerts="instant", digest=digest,
                                                    timezone=tz, active=active, created_at=NOW)).inserted_primary_key[0]


def add_delivery(conn, dest: int, status: str, kind: str = "alert", **values) -> None:
    item = conn.execute(insert(items).values(source_id="a", guid=f"g{next(_guids)}", url=None,
                                             title="t", summary="", text="", categories=[], tags=[], countries=[],
                                             regions=[], first_seen_at=NOW, is_backlog=False)).inserted_primary_key[0]
    hit = conn.execute(insert(hits).values(item_id=item, theme="detention", priority="high", rules=[],
                                           explanations=[], created_at=NOW)).inserted_primary_key[0]
    conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit, kind=kind, dedupe_key=f"{kind}:{hit}",
                                           status=status, created_at=NOW, **values))


def sendable(engine, lease_now=NOW) -> bool:
    with engine.connect() as conn:
        return stored.has_sendable_alert(conn, NOW, lease_now)


def test_poll_due_times_reads_the_wanted_sources(engine):
    with engine.begin() as conn:
        for sid, status in (("a", "ok"), ("b", "paused"), ("c", "ok")):
            conn.execute(insert(sources).values(id=sid, url="https://x.example/", status=status, error_count=0,
                                                items_seen=0, backlog_done=True, created_at=NOW,
                                                next_poll_at=NOW + timedelta(minutes=1) if sid != "c" else None))
    with engine.connect() as conn:
        assert stored.poll_due_times(conn, {"a", "b", "new"}) == {
            "a": stored.PollDue("ok", NOW + timedelta(minutes=1)), "b": stored.PollDue("paused", NOW + timedelta(minutes=1))}


@pytest.mark.parametrize("status,kind,values,expected", [
    ("queued", "alert", {}, True),
    ("queued", "alert", {"next_attempt_at": NOW}, True),
    ("queued", "alert", {"next_attempt_at": NOW + timedelta(seconds=1)}, False),   # a retry later
    ("queued", "digest", {}, False),                                               # waits for its slot
    ("sending", "alert", {"lease_until": NOW - timedelta(seconds=1)}, True),       # a dead sender's claim
    ("sending", "alert", {"lease_until": NOW + timedelta(minutes=5)}, False),      # a live one
    ("sent", "alert", {}, False),
])
def test_has_sendable_alert(engine, status, kind, values, expected):
    with engine.begin() as conn:
        add_delivery(conn, add_destination(conn, "1"), status, kind, **values)
    assert sendable(engine) is expected


def test_send_leases_are_judged_on_the_wall_clock_argument(engine):
    with engine.begin() as conn:
        add_delivery(conn, add_destination(conn, "1"), "sending", lease_until=NOW + timedelta(minutes=5))
    assert sendable(engine, lease_now=NOW + timedelta(minutes=6)) is True


def test_digest_schedules_retries_and_digest_destinations(engine):
    with engine.begin() as conn:
        one = add_destination(conn, "1", "daily 08:00", "Europe/Brussels")
        add_destination(conn, "2", "daily 08:00", "Europe/Brussels")
        add_destination(conn, "3", "off")
        add_destination(conn, "4", "weekly monday 09:00", active=False)
        add_delivery(conn, one, "queued", next_attempt_at=NOW + timedelta(minutes=7))
        add_delivery(conn, one, "queued", "digest", next_attempt_at=NOW + timedelta(minutes=3))
        add_delivery(conn, one, "failed", next_attempt_at=NOW + timedelta(minutes=1))
        add_delivery(conn, one, "queued", next_attempt_at=NOW - timedelta(minutes=1))
    with engine.connect() as conn:
        assert sorted(stored.digest_schedules(conn)) == [("daily 08:00", "Europe/Brussels"), ("off", None)]
        assert stored.next_retry_at(conn, NOW) == NOW + timedelta(minutes=3)
        assert [d.chat_id for d in stored.digest_destinations(conn)] == ["1", "2"]
    assert seconds_to_next_delivery(engine, "UTC", NOW, 3600) == 180
    assert has_delivery_work(engine, "UTC", NOW) is True                   # the overdue retry
