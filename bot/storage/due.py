"""The read-only queries behind the daemon's waits: when each source is next due, the digest
schedules of the active chats, the next queued retry, and whether the sender has anything to
do now.

Owns: these reads. Must not: change any row, or turn a schedule into a time (bot.runtime.due
does, with the calendar and the time zones). Every function takes the caller's `Connection`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, or_, select

from bot.storage.schema import deliveries, destinations, sources


class PollDue(NamedTuple):
    status: str
    next_poll_at: datetime | None


def poll_due_times(conn: Connection, ids: set[str]) -> dict[str, PollDue]:
    """Status and next poll time of each of `ids` that has a row."""
    # Read every row and filter here: an IN list of all ids would pass one bound parameter
    # per source, and PostgreSQL allows 65,535 of them.
    return {r.id: PollDue(r.status, r.next_poll_at)
            for r in conn.execute(select(sources.c.id, sources.c.status, sources.c.next_poll_at)) if r.id in ids}


def digest_schedules(conn: Connection) -> list[tuple[str | None, str | None]]:
    """The distinct (digest schedule, time zone) pairs of the active destinations."""
    return [(r.digest, r.timezone) for r in conn.execute(
        select(destinations.c.digest, destinations.c.timezone).where(destinations.c.active.is_(True)).distinct())]


def next_retry_at(conn: Connection, now: datetime) -> datetime | None:
    """The earliest retry time after `now` of a queued delivery, or None."""
    return conn.execute(select(deliveries.c.next_attempt_at).where(
        deliveries.c.status == "queued", deliveries.c.next_attempt_at > now)
        .order_by(deliveries.c.next_attempt_at).limit(1)).scalar()


def has_sendable_alert(conn: Connection, now: datetime, lease_now: datetime) -> bool:
    """A queued alert due at `now`, or a delivery left 'sending' whose lease expired before
    `lease_now` (send leases run on the wall clock, bot.storage.leases; due-ness on `now`)."""
    return conn.execute(select(deliveries.c.id).where(or_(
        and_(deliveries.c.status == "queued", deliveries.c.kind == "alert",
             or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)),
        and_(deliveries.c.status == "sending",
             or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < lease_now)))).limit(1)).first() is not None


def digest_destinations(conn: Connection) -> list[Any]:
    """The active destinations that take a digest (whole rows, for bot.delivery's `is_due`)."""
    return list(conn.execute(select(destinations).where(destinations.c.active.is_(True),
                                                        destinations.c.digest != "off")).all())
