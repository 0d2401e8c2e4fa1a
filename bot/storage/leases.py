"""Leases: which worker polls which source, which sender sends which outbox row, who leads.

Several `newsbot run --role poller` processes (on any number of machines) share the sources
through the database: a worker claims a batch of due sources by writing its name and an
expiry into `sources.lease_owner/lease_until`, polls them, and the state write that ends each
poll clears the lease. A worker that dies simply stops renewing: once `lease_until` passed,
the source is claimable again. Senders share the queued alerts of `deliveries` the same way:
a sender reserves a chat's due alerts (`claim_alerts`) and gives back what it did not send
(`release_alerts`); those touch only the lease columns. What a row's `status` becomes
(the send claim, recovery of a dead sender's rows) is the outbox's state machine
(bot.delivery.outbox), which uses `unleased` and the lease length from here.

How a claim is made safe:
- PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING id`,
  one statement in one transaction: two claimers never wait on each other and never get the
  same row (the second skips the rows the first has locked, then sees them leased).
- SQLite: the same single UPDATE without the row locks. SQLite has one writer at a time, so
  the statement is atomic against other claimers; and newsbot runs one process per SQLite
  file anyway (bot/runtime/lock.py).

Leases are measured in real wall-clock time (`lease_now`), never the daemon's simulated
clock: they guard against real processes that may die. Due-ness (`next_poll_at`,
`next_attempt_at`) stays on the caller's clock.

The leader: only one process runs the Telegram long polling and the schedules. On PostgreSQL
it is whoever holds a session advisory lock on a dedicated connection; the server frees it
when that connection ends, so a killed leader is replaced at the next attempt of another
process. On SQLite the single-instance lock (bot/runtime/lock.py) already makes the one process the
leader.

Owns: the lease columns and the leader lock. Must not: change a delivery's `status`, decide
what is due beyond the row's own columns, fetch, send, or know Telegram.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Connection, Engine, Table, func, or_, select, text, update

from bot.storage.batches import in_slices
from bot.storage.schema import deliveries, destinations, sources

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
# Stable across releases: the advisory lock key of the leader ("newsbot" in ASCII).
LEADER_KEY = 0x6E657773626F74


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


def unleased(table: Table, now: datetime) -> ColumnElement[bool]:
    """No live lease on the row: never leased, or the lease ran out before `now`."""
    return or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# --- sources ---------------------------------------------------------------------------------

def claim_sources(conn: Connection, owner: str, due_at: datetime, *, limit: int,
                  exclude: Sequence[str] = (), lease: timedelta = DEFAULT_LEASE,
                  lease_now: datetime | None = None) -> list[str]:
    """Claim up to `limit` due sources for `owner`; returns their ids, most overdue first.

    Due: not paused, `next_poll_at` NULL or at/before `due_at` (the caller's clock), no live
    lease (an expired one is taken over). `exclude`: ids never to claim (disabled in or gone
    from sources.yaml). Commit promptly: on PostgreSQL the claimed rows stay locked until then."""
    if limit <= 0:
        return []
    now = lease_now or wall_clock()
    cond = [sources.c.status != "paused",
            or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= due_at),
            unleased(sources, now)]
    if exclude:
        cond.append(sources.c.id.not_in(list(exclude)))
    pick = (select(sources.c.id).where(*cond)
            .order_by(sources.c.next_poll_at.asc().nulls_first(), sources.c.id).limit(limit))
    if _is_pg(conn):
        pick = pick.with_for_update(skip_locked=True)
    stmt = (update(sources).where(sources.c.id.in_(pick.scalar_subquery()), unleased(sources, now))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(sources.c.id, sources.c.next_poll_at))
    # RETURNING keeps no order: sort here (never polled first, then most overdue).
    rows = sorted(conn.execute(stmt).all(), key=lambda r: (r.next_poll_at is not None, r.next_poll_at or due_at, r.id))
    claimed = [r.id for r in rows]
    if claimed:
        log.debug("claimed sources=%d owner=%s", len(claimed), owner)
    return claimed


def renew_sources(conn: Connection, owner: str, ids: Sequence[str] | None, *, lease: timedelta = DEFAULT_LEASE,
                  lease_now: datetime | None = None) -> int:
    """Extend `owner`'s leases on `ids` (all it holds when None); returns how many it still held."""
    now = lease_now or wall_clock()
    if ids is None:
        return conn.execute(update(sources).where(sources.c.lease_owner == owner)
                            .values(lease_until=now + lease)).rowcount or 0
    total = 0
    for chunk in in_slices(ids):
        total += conn.execute(update(sources).where(sources.c.id.in_(chunk), sources.c.lease_owner == owner)
                              .values(lease_until=now + lease)).rowcount or 0
    return total


def release_sources(conn: Connection, owner: str, ids: Sequence[str] | None = None) -> int:
    """Give back `owner`'s leases (all of them when `ids` is None)."""
    if ids is None:
        return conn.execute(update(sources).where(sources.c.lease_owner == owner)
                            .values(lease_owner=None, lease_until=None)).rowcount or 0
    total = 0
    for chunk in in_slices(ids):
        total += conn.execute(update(sources).where(sources.c.id.in_(chunk), sources.c.lease_owner == owner)
                              .values(lease_owner=None, lease_until=None)).rowcount or 0
    return total


def release_all_sources(conn: Connection) -> int:
    """Give back every source lease, whoever held it: for the one process of a SQLite file at
    start-up (bot/runtime/lock.py), when every lease left in the file is a dead worker's."""
    return conn.execute(update(sources).where(sources.c.lease_owner.is_not(None))
                        .values(lease_owner=None, lease_until=None)).rowcount or 0


# --- the outbox ------------------------------------------------------------------------------

def claim_alerts(conn: Connection, owner: str, due_at: datetime, *, limit: int = 1000,
                 lease: timedelta = DEFAULT_LEASE, lease_now: datetime | None = None,
                 held: bool = True) -> list[Any]:
    """Reserve due queued alerts of active destinations for `owner` and return them in the
    shape of `bot.delivery.outbox.due_alerts` (id, destination_id, hit_id, attempts,
    next_attempt_at), oldest first; rows this owner already holds come back too.

    A reservation is not a send claim: the row stays 'queued' and the sender still moves it to
    'sending' with bot.delivery.outbox.claim_for_send (a compare-and-set) right before the
    message goes out, which is what keeps delivery exactly-once. The lease only spreads rows
    over senders so they do not race for the same ones. A destination whose rows another live sender holds is skipped, so
    one chat's alerts leave from one sender, in order, within its flood limits (a race of two
    claims at the same instant can still split a chat for one pass: only pacing suffers).
    A chat whose oldest row waits for a retry keeps its later rows waiting too.
    `held=False` leaves out the rows `owner` holds already: a sender reserving ahead of
    what it is still sending."""
    now = lease_now or wall_clock()
    # Uncorrelated subqueries, each evaluated once: a queue of 50,000 rows is claimed in
    # milliseconds (per-row EXISTS made it quadratic: seconds per claim).
    other = deliveries.alias("other")
    busy = (select(other.c.destination_id).where(
        other.c.lease_owner != owner, other.c.lease_until >= now,
        other.c.status.in_(("queued", "sending"))).distinct())
    waiting = deliveries.alias("waiting")
    first_wait = (select(waiting.c.destination_id, func.min(waiting.c.id).label("first_id")).where(
        waiting.c.kind == "alert", waiting.c.status == "queued", waiting.c.next_attempt_at > due_at)
        .group_by(waiting.c.destination_id).subquery("first_wait"))
    active = select(destinations.c.id).where(destinations.c.active.is_(True))
    pick = (select(deliveries.c.id)
            .select_from(deliveries.outerjoin(first_wait, first_wait.c.destination_id == deliveries.c.destination_id))
            .where(
        deliveries.c.kind == "alert", deliveries.c.status == "queued",
        deliveries.c.destination_id.in_(active.scalar_subquery()),
        or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= due_at),
        or_(unleased(deliveries, now), deliveries.c.lease_owner == owner) if held else unleased(deliveries, now),
        deliveries.c.destination_id.not_in(busy.scalar_subquery()),
        or_(first_wait.c.first_id.is_(None), deliveries.c.id < first_wait.c.first_id))
            .order_by(deliveries.c.id).limit(limit))
    if _is_pg(conn):
        pick = pick.with_for_update(skip_locked=True, of=deliveries)
    stmt = (update(deliveries).where(deliveries.c.id.in_(pick.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(deliveries.c.id, deliveries.c.destination_id, deliveries.c.hit_id,
                       deliveries.c.attempts, deliveries.c.next_attempt_at))
    return sorted(conn.execute(stmt).all(), key=lambda r: r.id)


def release_alerts(conn: Connection, owner: str, ids: Sequence[int] | None = None) -> int:
    """Drop `owner`'s reservations of queued rows (all of them on a clean stop, or `ids`)."""
    cond = [deliveries.c.status == "queued", deliveries.c.lease_owner == owner]
    if ids is None:
        return conn.execute(update(deliveries).where(*cond)
                            .values(lease_owner=None, lease_until=None)).rowcount or 0
    total = 0
    for chunk in in_slices(ids):
        total += conn.execute(update(deliveries).where(*cond, deliveries.c.id.in_(chunk))
                              .values(lease_owner=None, lease_until=None)).rowcount or 0
    return total


def serialize(conn: Connection, name: str) -> None:
    """Make concurrent transactions doing `name` run one after the other (PostgreSQL: an
    advisory lock held until this transaction ends). SQLite serialises writers already."""
    if _is_pg(conn):
        import zlib

        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LEADER_KEY + zlib.crc32(name.encode())})


# --- the leader ------------------------------------------------------------------------------

class LeaderLock:
    """Who runs the Telegram long polling and the schedules. `try_acquire()` is cheap and
    idempotent: call it periodically; `held` says whether this process leads now.

    PostgreSQL: pg_try_advisory_lock on a connection of its own, outside the engine's pool
    (a pooled connection would carry the lock to whoever borrows it next). Losing that
    connection loses the lock: `check()` notices and returns False.
    SQLite: always the leader; the single-instance lock in bot/runtime/lock.py already guarantees
    that no other process uses the file."""

    def __init__(self, engine: Engine, key: int = LEADER_KEY):
        self.engine = engine
        self.key = key
        self.held = False
        self._conn: Any = None

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if not self.shared:
            self.held = True
            return True
        if self.held and self.check():
            return True
        self._close()
        try:
            self._conn = self.engine.raw_connection()
            self._conn.detach()   # closed for real when we are done, never pooled
            cur = self._conn.cursor()
            cur.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
            got = bool(cur.fetchone()[0])
            cur.close()
            self._conn.commit()
        except Exception as exc:  # noqa: BLE001  (the database may be briefly unreachable)
            log.warning("leader lock: %s", type(exc).__name__)
            self._close()
            got = False
        if not got:
            self._close()
        elif not self.held:
            log.info("this process is now the leader (Telegram bot and schedules)")
        self.held = got
        return got

    def check(self) -> bool:
        """Still the leader? (Our connection alive and still holding the lock.)"""
        if not self.shared:
            return self.held
        if self._conn is None:
            self.held = False
            return False
        try:
            cur = self._conn.cursor()
            # A bigint key shows as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid = pg_backend_pid() AND classid::bigint = %s AND objid::bigint = %s "
                        "AND objsubid = 1", (self.key >> 32, self.key & 0xFFFFFFFF))
            alive = cur.fetchone()[0] > 0
            cur.close()
            self._conn.commit()
        except Exception:  # noqa: BLE001
            alive = False
        if not alive:
            if self.held:
                log.warning("lost the leader lock (database connection lost)")
            self.held = False
            self._close()
        return alive

    def release(self) -> None:
        if self._conn is not None and self.held:
            try:
                cur = self._conn.cursor()
                cur.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                cur.close()
                self._conn.commit()
            except Exception:  # noqa: BLE001  (closing the connection frees it anyway)
                pass
        self._close()
        self.held = False

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None


__all__ = ["DEFAULT_LEASE", "LEADER_KEY", "LeaderLock", "claim_alerts", "claim_sources", "release_alerts",
           "release_sources", "renew_sources", "serialize", "unleased", "wall_clock"]
