"""The outbox: which destination gets which hit, dedupe keys, row states."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.delivery.telegram.digest import is_due, last_scheduled, resolve_tz
from bot.delivery.outbox import NewHit, queue_for_hits
from bot.storage.schema import deliveries, hits, items, stories

from support import seed_hits

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


# `engine` comes from tests/support/fixtures_db.py: every test runs on SQLite and on PostgreSQL.


def add_dest(conn, chat, **kw) -> int:
    return seed_hits.add_dest(conn, chat, created_at=NOW, **kw)


def add_hit(conn, i: int, theme: str, priority: str, story: int | None = None, lang="en",
            regions=("Europe",)) -> NewHit:
    if story is not None and not conn.execute(select(stories.c.id).where(stories.c.id == story)).first():
        conn.execute(stories.insert().values(id=story, created_at=NOW, updated_at=NOW))
    if not conn.execute(select(items.c.id).where(items.c.id == i)).first():
        conn.execute(items.insert().values(id=i, source_id="s", guid=f"g{i}", url=f"https://x/{i}",
                                           title=f"t{i}", first_seen_at=NOW, story_id=story,
                                           language=lang, regions=list(regions)))
    hid = conn.execute(hits.insert().values(item_id=i, theme=theme, priority=priority,
                                            created_at=NOW)).inserted_primary_key[0]
    return NewHit(hid, i, story, theme, priority, lang, tuple(regions))


def rows(conn):
    return conn.execute(select(deliveries.c.destination_id, deliveries.c.hit_id, deliveries.c.kind,
                               deliveries.c.dedupe_key).order_by(deliveries.c.id)).all()


@pytest.mark.parametrize("alerts,digest,priority,kinds", [
    ("instant", "daily 08:00", "high", ["alert"]),
    ("instant", "daily 08:00", "normal", ["digest"]),
    ("instant", "off", "normal", []),
    ("both", "daily 08:00", "high", ["alert", "digest"]),
    ("both", "off", "high", ["alert"]),
    ("digest", "daily 08:00", "high", ["digest"]),
    ("digest", "weekly monday 09:00", "low", ["digest"]),
    ("digest", "off", "high", []),
])
def test_kinds(engine, alerts, digest, priority, kinds) -> None:
    with engine.begin() as conn:
        d = add_dest(conn, 1, alerts=alerts, digest=digest)
        h = add_hit(conn, 1, "pushbacks", priority, story=5)
        queue_for_hits(conn, [h], NOW)
        got = rows(conn)
    assert [r.kind for r in got] == kinds
    assert all(r.destination_id == d for r in got)
    keys = {r.kind: r.dedupe_key for r in got}
    if "alert" in keys:
        assert keys["alert"] == "alert:story:5"
    if "digest" in keys:
        assert keys["digest"] == f"digest:hit:{h.hit_id}"


@pytest.mark.parametrize("dest_kw,hit_kw,wanted", [
    ({"themes": ["pushbacks"]}, {}, True),
    ({"themes": ["detention"]}, {}, False),
    ({"regions": ["Europe", "Africa"]}, {}, True),
    ({"regions": ["Asia"]}, {}, False),
    ({"regions": ["Asia"]}, {"regions": ()}, False),
    ({"languages": ["fr"]}, {}, False),
    ({"languages": ["fr", "en"]}, {}, True),
    ({"active": False}, {}, False),
])
def test_filters(engine, dest_kw, hit_kw, wanted) -> None:
    with engine.begin() as conn:
        add_dest(conn, 1, **dest_kw)
        h = add_hit(conn, 1, "pushbacks", "high", story=1, **hit_kw)
        assert queue_for_hits(conn, [h], NOW) == (1 if wanted else 0)


def test_a_story_alerts_once_and_a_hit_enters_the_digest_once(engine) -> None:
    with engine.begin() as conn:
        add_dest(conn, 1, alerts="both")
        a = add_hit(conn, 1, "pushbacks", "high", story=9)
        b = add_hit(conn, 2, "pushbacks", "high", story=9)      # same story, other source
        c = add_hit(conn, 2, "violence", "high", story=9)       # same item, second theme
        assert queue_for_hits(conn, [a], NOW) == 2
        assert queue_for_hits(conn, [a], NOW) == 0                 # queueing twice is a no-op
        assert queue_for_hits(conn, [b, c], NOW) == 2              # digests only
        got = rows(conn)
    assert [r.kind for r in got].count("alert") == 1
    assert sorted(r.hit_id for r in got if r.kind == "digest") == [a.hit_id, b.hit_id, c.hit_id]


def test_a_later_report_of_an_alerted_story_goes_to_the_digest_not_a_second_alert(engine) -> None:
    with engine.begin() as conn:
        add_dest(conn, 1, alerts="instant", digest="daily 08:00")
        add_dest(conn, 2, alerts="instant", digest="off")
        a = add_hit(conn, 1, "pushbacks", "high", story=9)
        b = add_hit(conn, 2, "pushbacks", "high", story=9)      # same story, other source
        assert queue_for_hits(conn, [a], NOW) == 2                 # one alert per chat
        assert queue_for_hits(conn, [b], NOW) == 1                 # chat 1's digest only
        got = rows(conn)
    assert [(r.destination_id, r.hit_id, r.kind) for r in got if r.hit_id == b.hit_id] == [(1, b.hit_id, "digest")]
    assert [r.kind for r in got].count("alert") == 2


def test_item_without_story_falls_back_to_item_key(engine) -> None:
    with engine.begin() as conn:
        add_dest(conn, 1)
        h = add_hit(conn, 1, "pushbacks", "high")
        queue_for_hits(conn, [h], NOW)
        assert rows(conn)[0].dedupe_key == "alert:item:1"


def test_backlog_is_never_queued(engine) -> None:
    with engine.begin() as conn:
        add_dest(conn, 1, alerts="both")
        h = add_hit(conn, 1, "pushbacks", "high", story=1)
        backlog = NewHit(**{**h.__dict__, "is_backlog": True})
        assert queue_for_hits(conn, [backlog], NOW) == 0
        assert rows(conn) == []


@pytest.mark.parametrize("spec,now,expected", [
    ("daily 08:00", "2026-11-22T07:30", "2026-11-21T08:00"),
    ("daily 08:00", "2026-11-22T08:00", "2026-11-22T08:00"),
    ("weekly monday 09:15", "2026-11-22T12:00", "2026-11-16T09:15"),   # the 22nd is a Sunday
    ("weekly sunday 09:15", "2026-11-22T12:00", "2026-11-22T09:15"),
    ("off", "2026-11-22T12:00", None),
])
def test_last_scheduled_in_local_time(spec, now, expected) -> None:
    tz = resolve_tz("Europe/Brussels")
    local_now = datetime.fromisoformat(now).replace(tzinfo=tz)
    got = last_scheduled(spec, local_now.astimezone(timezone.utc), tz)
    assert (got.astimezone(tz).replace(tzinfo=None).isoformat(timespec="minutes") if got else None) == expected


def test_is_due_once_per_slot() -> None:
    from types import SimpleNamespace
    D = SimpleNamespace(digest="daily 08:00", timezone="UTC", last_digest_at=None,
                        created_at=datetime(2026, 11, 20, 12, tzinfo=timezone.utc))
    assert is_due(D, NOW)                      # 21st and 22nd 08:00 have passed since creation
    D.last_digest_at = NOW.replace(hour=8, minute=0, second=5)
    assert not is_due(D, NOW)
    assert is_due(D, NOW + timedelta(days=1))
