"""Leases on sources and outbox rows, and the leader lock, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, update

from bot.delivery import outbox
from bot.storage import leases
from bot.storage.db import make_engine
from bot.storage.schema import deliveries, destinations, hits, items, sources

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=60)


def _sources(conn, n: int, **overrides) -> list[str]:
    ids = [f"s{i:04d}" for i in range(n)]
    conn.execute(insert(sources), [dict(id=i, url=f"https://{i}.example/feed", status="ok", error_count=0,
                                        items_seen=0, backlog_done=True, created_at=T0,
                                        next_poll_at=T0 - timedelta(minutes=1), **overrides) for i in ids])
    return ids


def test_claim_sources_due_only_and_exclusive(engine):
    with engine.begin() as conn:
        ids = _sources(conn, 10)
        conn.execute(update(sources).where(sources.c.id == "s0000").values(next_poll_at=T0 + timedelta(hours=1)))
        conn.execute(update(sources).where(sources.c.id == "s0001").values(status="paused"))
        conn.execute(update(sources).where(sources.c.id == "s0002").values(next_poll_at=None))  # never polled
    with engine.begin() as conn:
        a = leases.claim_sources(conn, "a", T0, limit=3, exclude=["s0009"], lease_now=T0)
    assert len(a) == 3 and a[0] == "s0002"   # never polled comes first
    with engine.begin() as conn:
        b = leases.claim_sources(conn, "b", T0, limit=100, exclude=["s0009"], lease_now=T0)
        again = leases.claim_sources(conn, "a", T0, limit=100, exclude=["s0009"], lease_now=T0)
    assert not set(a) & set(b)
    assert set(a) | set(b) == set(ids) - {"s0000", "s0001", "s0009"}
    assert again == []
    with engine.connect() as conn:
        owners = dict(conn.execute(select(sources.c.id, sources.c.lease_owner)).all())
    assert all(owners[i] == "a" for i in a) and all(owners[i] == "b" for i in b)


def test_expired_source_lease_is_taken_over_renew_and_release(engine):
    with engine.begin() as conn:
        _sources(conn, 4)
        a = leases.claim_sources(conn, "a", T0, limit=4, lease=LEASE, lease_now=T0)
    with engine.begin() as conn:
        # Before expiry nothing is free; a renewal pushes the expiry further.
        assert leases.claim_sources(conn, "b", T0, limit=4, lease_now=T0 + timedelta(seconds=59)) == []
        assert leases.renew_sources(conn, "a", a[:2], lease=LEASE, lease_now=T0 + timedelta(seconds=50)) == 2
    with engine.begin() as conn:
        b = leases.claim_sources(conn, "b", T0, limit=4, lease_now=T0 + timedelta(seconds=61))
    assert sorted(b) == sorted(a[2:])        # the two not renewed expired, "a" died
    with engine.begin() as conn:
        assert leases.renew_sources(conn, "a", a[2:], lease_now=T0 + timedelta(seconds=62)) == 0
        assert leases.release_sources(conn, "a", a[:2]) == 2
        assert leases.release_sources(conn, "b") == 2
        assert sorted(leases.claim_sources(conn, "c", T0, limit=9, lease_now=T0)) == sorted(a)


def test_release_all_sources_frees_every_owner(engine):
    with engine.begin() as conn:
        _sources(conn, 4)
        a = leases.claim_sources(conn, "a", T0, limit=2, lease=LEASE, lease_now=T0)
        b = leases.claim_sources(conn, "b", T0, limit=2, lease=LEASE, lease_now=T0)
    with engine.begin() as conn:
        assert leases.claim_sources(conn, "c", T0, limit=4, lease_now=T0) == []
        assert leases.release_all_sources(conn) == 4
        assert sorted(leases.claim_sources(conn, "c", T0, limit=4, lease_now=T0)) == sorted(a + b)


def test_concurrent_claimers_get_disjoint_sets(engine):
    with engine.begin() as conn:
        ids = _sources(conn, 300)
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[str] = []
        try:
            while True:
                with engine.begin() as conn:
                    batch = leases.claim_sources(conn, name, T0, limit=7, lease_now=T0)
                if not batch:
                    break
                mine.extend(batch)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    claimed = [i for mine in got.values() for i in mine]
    assert sorted(claimed) == sorted(ids)       # every source once, none twice
    assert sum(1 for mine in got.values() if mine) >= 2 or engine.dialect.name == "sqlite"


def _outbox(conn, n_dest: int, per_dest: int) -> list[int]:
    conn.execute(insert(items).values(id=1, source_id="s", guid="g", url="https://s.example/1", title="t",
                                      summary="", text="", categories=[], tags=[], countries=[], regions=[],
                                      first_seen_at=T0, is_backlog=False))
    hit_ids = []
    for k in range(per_dest):
        hit_ids.append(conn.execute(insert(hits).values(item_id=1, theme=f"th{k}", priority="high", rules=[],
                                                        explanations=[], created_at=T0)).inserted_primary_key[0])
    dest_ids = []
    for d in range(n_dest):
        dest_ids.append(conn.execute(insert(destinations).values(
            chat_id=str(1000 + d), origin="config", alerts="instant", digest="off", active=True,
            created_at=T0)).inserted_primary_key[0])
    for k, hit_id in enumerate(hit_ids):
        for dest in dest_ids:
            conn.execute(insert(deliveries).values(destination_id=dest, hit_id=hit_id, kind="alert",
                                                   dedupe_key=f"alert:item:{k}", status="queued", attempts=0,
                                                   next_attempt_at=T0, created_at=T0))
    return dest_ids


def test_claim_alerts_keeps_a_chat_with_one_sender(engine):
    with engine.begin() as conn:
        dests = _outbox(conn, 3, 2)
        conn.execute(update(destinations).where(destinations.c.id == dests[2]).values(active=False))
    with engine.begin() as conn:
        a = leases.claim_alerts(conn, "a", T0, limit=1, lease_now=T0)
    assert len(a) == 1 and a[0].destination_id == dests[0]
    with engine.begin() as conn:
        b = leases.claim_alerts(conn, "b", T0, lease_now=T0)
        a2 = leases.claim_alerts(conn, "a", T0, lease_now=T0)
    # b gets nothing of the chat "a" is working on; the inactive chat goes to nobody.
    assert {r.destination_id for r in b} == {dests[1]} and len(b) == 2
    assert {r.destination_id for r in a2} == {dests[0]} and len(a2) == 2   # its own rows come back
    assert [r.id for r in a2] == sorted(r.id for r in a2)
    with engine.begin() as conn:
        # The CAS of the send: "b" may not take a row "a" reserved; "a" may, once.
        assert outbox.claim_for_send(conn, [a[0].id], "b", lease_now=T0) == 0
        assert outbox.claim_for_send(conn, [a[0].id], "a", lease=LEASE, lease_now=T0) == 1
        assert outbox.claim_for_send(conn, [a[0].id], "a", lease_now=T0) == 0
        row = conn.execute(select(deliveries).where(deliveries.c.id == a[0].id)).one()
    assert row.status == "sending" and row.attempts == 1 and row.lease_owner == "a"


def test_waiting_row_blocks_the_rest_of_its_chat(engine):
    with engine.begin() as conn:
        dests = _outbox(conn, 1, 3)
        first = conn.execute(select(deliveries.c.id).order_by(deliveries.c.id)).scalars().first()
        conn.execute(update(deliveries).where(deliveries.c.id == first)
                     .values(next_attempt_at=T0 + timedelta(minutes=5)))
    with engine.begin() as conn:
        assert leases.claim_alerts(conn, "a", T0, lease_now=T0) == []
        later = leases.claim_alerts(conn, "a", T0 + timedelta(minutes=6), lease_now=T0)
    assert [r.destination_id for r in later] == [dests[0]] * 3


def test_dead_sender_rows_are_recovered_after_the_lease(engine):
    with engine.begin() as conn:
        _outbox(conn, 2, 1)
        rows = leases.claim_alerts(conn, "dead", T0, lease_now=T0, lease=LEASE)
        assert outbox.claim_for_send(conn, [rows[0].id], "dead", lease=LEASE, lease_now=T0) == 1
    with engine.begin() as conn:
        assert outbox.recover_deliveries(conn, lease_now=T0 + timedelta(seconds=30)) == 0
        assert leases.claim_alerts(conn, "live", T0, lease_now=T0 + timedelta(seconds=30)) == []
    with engine.begin() as conn:
        assert outbox.recover_deliveries(conn, lease_now=T0 + timedelta(seconds=61)) == 1
        taken = leases.claim_alerts(conn, "live", T0 + timedelta(seconds=61), lease_now=T0 + timedelta(seconds=61))
    assert sorted(r.id for r in taken) == sorted(r.id for r in rows)
    with engine.begin() as conn:
        assert leases.release_alerts(conn, "live") == 2
        assert conn.execute(select(deliveries.c.lease_owner).where(
            deliveries.c.lease_owner.is_not(None))).first() is None


def test_leader_lock(engine, db_url):
    first = leases.LeaderLock(engine)
    assert first.try_acquire() and first.held
    if engine.dialect.name == "sqlite":
        assert first.check()   # the single-instance lock (bot/runtime/lock.py) makes it the leader
        return
    other_engine = make_engine(db_url)
    second = leases.LeaderLock(other_engine)
    try:
        assert first.try_acquire()            # idempotent
        assert not second.try_acquire() and not second.held
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
        # The leader's connection dies (its process was killed): the lock goes with it.
        with engine.connect() as conn:
            pids = conn.exec_driver_sql("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted").scalars().all()
            assert len(pids) == 1
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pids[0]})")
        assert not second.check() and not second.held
        assert first.try_acquire()
        assert first.check()
    finally:
        first.release()
        second.release()
        other_engine.dispose()


@pytest.mark.parametrize("n", [0, -1])
def test_claim_nothing(engine, n):
    with engine.begin() as conn:
        _sources(conn, 2)
        assert leases.claim_sources(conn, "a", T0, limit=n) == []
