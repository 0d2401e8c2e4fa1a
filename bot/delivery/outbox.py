"""The outbox: the rows of `deliveries` (which destination gets which hit) and their states.

Owns: turning new hits into queued delivery rows (in the caller's transaction), reading the
queue, and every change of a row's state afterwards: this module is the one owner of the
deliveries state machine. `bot.storage.leases` only reserves queued rows for a sender (the
lease columns, never `status`); `bot.delivery.destinations` asks here when a stopped or moved
chat's pending rows must change. Must not talk to Telegram, format messages or commit:
every function takes the caller's connection and leaves the transaction to it, so "hit
stored" and "delivery queued" commit together or not at all.

States of a row (`status`) and the only moves between them:

    queue_for_hits        (new) -> queued          one row per (hit, destination, kind)
    claim_for_send        queued -> sending        compare-and-set right before the message
                                                   leaves; attempts + 1, sent_at = the attempt
    mark_sent             sending -> sent          with Telegram's message id
    mark_failed           queued|sending -> failed a permanent refusal, or the hit is gone
    requeue               sending -> queued        retry later (backoff, flood wait, moved
                                                   chat, rejected token)
    release_owner         sending -> queued        a stopping sender gives back an unused claim
    recover_deliveries    sending -> queued        the sender's lease expired (it died mid-send)
    skip_pending          queued|sending -> skipped    the destination was deactivated
    move_pending          queued|sending -> another destination's, or skipped (a group
                                                   Telegram upgraded to a supergroup)
    demote_stale_alerts   queued alert -> queued digest (or skipped, or only noted): an
                                                   alert too old to be instant

sent, failed and skipped are final. Every move clears the row's lease.

Dedupe keys (unique per destination, so queueing twice is a no-op):
  alert:story:<story_id>  (alert:item:<item_id> when the item has no story): a story alerts
                          a destination once, however many sources or themes report it;
  digest:hit:<hit_id>     a hit enters a destination's digest once.
A later report of a story already alerted to a destination sends no second alert; when the
destination takes a digest, the report goes there instead, shown as an update of the story.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence

from sqlalchemy import Connection, Insert, Row, Table, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.storage import leases
from bot.storage.notify import notify_outbox
from bot.storage.schema import deliveries, destinations

if TYPE_CHECKING:
    from bot.delivery.destinations import Destination

log = logging.getLogger(__name__)

DELAYED = "delayed: "      # the note of an alert that went into the digest instead


class QueuedAlert(Protocol):
    """An alert row as the queue readers return it (`alert_queue`, `leases.claim_alerts`)."""

    @property
    def id(self) -> int: ...
    @property
    def destination_id(self) -> int: ...
    @property
    def hit_id(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class NewHit:
    """A hit just stored by the pipeline, with what the filters need."""

    hit_id: int
    item_id: int
    story_id: int | None
    theme: str
    priority: str
    language: str | None
    regions: Sequence[str] = field(default_factory=tuple)
    is_backlog: bool = False


def _accepts(dest: Destination, hit: NewHit) -> bool:
    if dest.themes is not None and hit.theme not in dest.themes:
        return False
    if dest.regions is not None and not set(dest.regions) & set(hit.regions or ()):
        return False
    if dest.languages is not None and (hit.language or "") not in dest.languages:
        return False
    return True


def kinds_for(dest: Destination, priority: str) -> list[str]:
    """Which deliveries a hit of this priority becomes for this destination."""
    takes_digest = (dest.digest or "off") != "off"
    kinds = []
    if priority == "high" and dest.alerts in ("instant", "both"):
        kinds.append("alert")
        if dest.alerts == "both" and takes_digest:
            kinds.append("digest")
    elif takes_digest:
        # alerts: digest|both, or a non-high theme of an instant destination
        kinds.append("digest")
    return kinds


def dedupe_key(kind: str, hit: NewHit) -> str:
    if kind == "alert":
        return f"alert:story:{hit.story_id}" if hit.story_id is not None else f"alert:item:{hit.item_id}"
    return f"digest:hit:{hit.hit_id}"


def insert_ignore(conn: Connection, table: Table, on: list[str] | None = None) -> Insert:
    """INSERT that skips a row violating the unique index on columns `on` (None: any)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=on)


def queue_for_hits(conn: Connection, hits: Iterable[NewHit], now: datetime) -> int:
    """Queue one delivery per (hit, matching active destination); returns rows inserted.

    Backlog hits (first poll of a new source) are never queued. Runs in the caller's
    transaction; commits nothing."""
    hits = [h for h in hits if not h.is_backlog]
    if not hits:
        return 0
    dests = conn.execute(select(destinations).where(destinations.c.active.is_(True))).all()
    rows = []
    for hit in hits:
        for dest in dests:
            if not _accepts(dest, hit):
                continue
            kinds = kinds_for(dest, hit.priority)
            for kind in kinds:
                # An alert that its story already sent this destination becomes a digest line
                # (an update), if the destination has a digest that does not carry it anyway.
                instead = (kind == "alert" and "digest" not in kinds
                           and (dest.digest or "off") != "off")
                rows.append(({"destination_id": dest.id, "hit_id": hit.hit_id, "kind": kind,
                              "dedupe_key": dedupe_key(kind, hit), "status": "queued",
                              "attempts": 0, "next_attempt_at": now, "created_at": now}, instead))
    inserted = 0
    for row, instead in rows:
        # one statement per row so a duplicate key only skips that row; counted by RETURNING,
        # as an INSERT's rowcount is -1 on PostgreSQL (SQLAlchemy adds RETURNING id itself)
        added = len(conn.execute(insert_ignore(conn, deliveries, ["destination_id", "dedupe_key"]).values(**row).returning(deliveries.c.id)).all())
        if not added and instead:
            hit_id = row["hit_id"]
            row = {**row, "kind": "digest", "dedupe_key": f"digest:hit:{hit_id}"}
            added = len(conn.execute(insert_ignore(conn, deliveries, ["destination_id", "dedupe_key"]).values(**row).returning(deliveries.c.id)).all())
        inserted += added
    if inserted:
        notify_outbox(conn)     # senders in other processes wake when this commits
    log.debug("queued deliveries=%d hits=%d destinations=%d", inserted, len(hits), len(dests))
    return inserted


# --- reading the queue ------------------------------------------------------------------

def alert_queue(conn: Connection, now: datetime, limit: int = 1000) -> tuple[list[QueuedAlert], datetime | None]:
    """Queued alerts of active destinations, oldest first, and when the next one falls due.

    Alerts leave for a chat in queue order: when a chat's oldest row waits (flood wait,
    backoff), its later rows wait behind it. Returns (due rows, earliest future attempt)."""
    q = (select(deliveries.c.id, deliveries.c.destination_id, deliveries.c.hit_id,
                deliveries.c.attempts, deliveries.c.next_attempt_at)
         .join(destinations, destinations.c.id == deliveries.c.destination_id)
         .where(deliveries.c.kind == "alert", deliveries.c.status == "queued",
                destinations.c.active.is_(True))
         .order_by(deliveries.c.id).limit(limit))
    due: list[QueuedAlert] = []
    blocked: set[int] = set()
    next_at: datetime | None = None
    for row in conn.execute(q):
        if row.destination_id in blocked:
            continue
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            blocked.add(row.destination_id)
            next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
            continue
        due.append(row)
    return due, next_at


def due_alerts(conn: Connection, now: datetime, limit: int = 1000) -> list[QueuedAlert]:
    return alert_queue(conn, now, limit)[0]


def count_queued_alerts(conn: Connection) -> int:
    """Alerts of active destinations still queued (due or waiting for a retry)."""
    return conn.execute(select(func.count()).select_from(deliveries)
                        .join(destinations, destinations.c.id == deliveries.c.destination_id)
                        .where(deliveries.c.status == "queued", deliveries.c.kind == "alert",
                               destinations.c.active.is_(True))).scalar() or 0


def recent_attempts(conn: Connection, since: datetime) -> list[tuple[str, datetime]]:
    """(chat id, when) of every send attempted after `since`, oldest first: `sent_at` is set
    at the claim, so a message in flight when its sender was killed is there too."""
    rows = conn.execute(select(destinations.c.chat_id, deliveries.c.message_id, deliveries.c.sent_at)
                        .join(destinations, destinations.c.id == deliveries.c.destination_id)
                        .where(deliveries.c.sent_at > since)
                        .distinct().order_by(deliveries.c.sent_at)).all()
    return [(chat, sent_at) for chat, _mid, sent_at in rows]


def delayed_notes(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """delivery id -> its "delayed: ..." note, for the rows that carry one."""
    if not ids:
        return {}
    return {r.id: r.error for r in conn.execute(select(deliveries.c.id, deliveries.c.error).where(
        deliveries.c.id.in_(list(ids)), deliveries.c.error.like(f"{DELAYED}%")))}


def queued_digest_rows(conn: Connection, dest_id: int, since: datetime | None = None) -> Sequence[Row]:
    q = select(deliveries.c.id, deliveries.c.hit_id, deliveries.c.attempts).where(
        deliveries.c.destination_id == dest_id, deliveries.c.kind == "digest",
        deliveries.c.status == "queued")
    if since is not None:
        q = q.where(deliveries.c.created_at >= since)
    return conn.execute(q.order_by(deliveries.c.id)).all()


# --- the state changes --------------------------------------------------------------------

def claim_for_send(conn: Connection, ids: Sequence[int], owner: str, *, lease: timedelta = leases.DEFAULT_LEASE,
                   lease_now: datetime | None = None, attempted_at: datetime | None = None) -> int:
    """queued -> sending for `owner`, right before the message goes out (a compare-and-set,
    with the lease on the wall clock). Returns the number claimed: fewer than
    len(ids) means another sender got some first. A row reserved by another live sender is
    not taken. `attempted_at` (the sender's clock) goes into `sent_at` at once: if the sender
    dies with the message in flight, the one that takes over still counts it against the
    chat's flood limit (it may well have reached Telegram)."""
    now = lease_now or leases.wall_clock()
    values: dict[str, object] = dict(status="sending", lease_owner=owner, lease_until=now + lease,
                                     attempts=deliveries.c.attempts + 1)
    if attempted_at is not None:
        values["sent_at"] = attempted_at
    return conn.execute(update(deliveries).where(
        deliveries.c.id.in_(list(ids)), deliveries.c.status == "queued",
        or_(leases.unleased(deliveries, now), deliveries.c.lease_owner == owner)).values(**values)).rowcount or 0


def mark_sent(conn: Connection, ids: Sequence[int], message_id: int | None, now: datetime) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(
        status="sent", sent_at=now, message_id=message_id, error=None,
        lease_owner=None, lease_until=None))


def mark_failed(conn: Connection, ids: Sequence[int], error: str) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(
        status="failed", error=error[:500], lease_owner=None, lease_until=None))


def requeue(conn: Connection, ids: Sequence[int], next_attempt_at: datetime,
            error: str | None = None, count_attempt: bool = True) -> None:
    values: dict[str, object] = {"status": "queued", "next_attempt_at": next_attempt_at,
                                 "lease_owner": None, "lease_until": None}
    if error is not None:
        # a row moved into the digest keeps its "delayed: ..." note for the reader
        values["error"] = case((deliveries.c.error.like(f"{DELAYED}%"), deliveries.c.error),
                               else_=literal(error[:500]))
    if not count_attempt:
        # a flood wait is Telegram's pacing, not a failure of this message
        values["attempts"] = deliveries.c.attempts - 1
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(**values))


def release_owner(conn: Connection, owner: str, ids: Sequence[int] | None = None) -> int:
    """A sender stopping cleanly gives back what it claimed but did not send (only `ids`
    when given: its other sends may be in flight)."""
    cond = [deliveries.c.status == "sending", deliveries.c.lease_owner == owner]
    if ids is not None:
        cond.append(deliveries.c.id.in_(list(ids)))
    return conn.execute(update(deliveries).where(*cond).values(
        status="queued", lease_owner=None, lease_until=None, sent_at=None,  # it never went out
        attempts=deliveries.c.attempts - 1)).rowcount or 0


def recover_deliveries(conn: Connection, *, lease_now: datetime | None = None,
                       requeue_at: datetime | None = None) -> int:
    """Rows left 'sending' by a sender whose lease expired go back to the queue (it died
    between claiming and marking: the message may have reached Telegram once), and stale
    reservations of 'queued' rows are dropped. Returns the 'sending' rows requeued."""
    now = lease_now or leases.wall_clock()
    expired = and_(deliveries.c.lease_until.is_not(None), deliveries.c.lease_until < now)
    n = conn.execute(update(deliveries).where(deliveries.c.status == "sending", expired).values(
        status="queued", lease_owner=None, lease_until=None,
        next_attempt_at=requeue_at or now)).rowcount or 0
    conn.execute(update(deliveries).where(deliveries.c.status == "queued", expired)
                 .values(lease_owner=None, lease_until=None))
    if n:
        log.warning("requeued deliveries=%d left 'sending' by a sender whose lease expired "
                    "(each may have reached Telegram once already)", n)
    return n


def skip_pending(conn: Connection, dest_id: int, reason: str) -> int:
    """A deactivated destination's queued and in-flight rows become 'skipped' with the reason."""
    return conn.execute(update(deliveries).where(
        deliveries.c.destination_id == dest_id,
        deliveries.c.status.in_(("queued", "sending"))).values(
        status="skipped", error=reason, lease_owner=None, lease_until=None)).rowcount or 0


def move_pending(conn: Connection, from_id: int, to_id: int, reason: str) -> None:
    """A destination's pending rows move to the one that followed its chat; a row whose
    dedupe key the other has already is skipped with the reason instead."""
    pending = conn.execute(select(deliveries.c.id, deliveries.c.dedupe_key).where(
        deliveries.c.destination_id == from_id, deliveries.c.status.in_(("queued", "sending")))).all()
    taken = set(conn.execute(select(deliveries.c.dedupe_key).where(
        deliveries.c.destination_id == to_id)).scalars())
    for rid, key in pending:
        if key in taken:
            conn.execute(update(deliveries).where(deliveries.c.id == rid).values(
                status="skipped", error=reason, lease_owner=None))
        else:
            conn.execute(update(deliveries).where(deliveries.c.id == rid).values(
                destination_id=to_id))


def demote_stale_alerts(conn: Connection, older_than: datetime, now: datetime) -> int:
    """Alerts still queued since before `older_than` (an outage of Telegram or the network)
    go into the destination's next digest with a "delayed: ..." note instead of out as a
    stale instant alert. A destination without a digest still gets them, late, as alerts
    carrying the note. Returns the rows moved or noted."""
    rows = conn.execute(
        select(deliveries.c.id, deliveries.c.hit_id, deliveries.c.destination_id, deliveries.c.created_at,
               deliveries.c.error, destinations.c.digest)
        .join(destinations, destinations.c.id == deliveries.c.destination_id)
        .where(deliveries.c.kind == "alert", deliveries.c.status == "queued",
               deliveries.c.created_at < older_than, destinations.c.active.is_(True),
               or_(deliveries.c.error.is_(None), ~deliveries.c.error.like(f"{DELAYED}%")))).all()
    for r in rows:
        note = f"{DELAYED}queued {r.created_at:%d %b %H:%M} UTC, not deliverable as an alert"
        if r.error:
            note += f" ({r.error})"
        note = note[:500]
        if (r.digest or "off") == "off":
            conn.execute(update(deliveries).where(deliveries.c.id == r.id).values(error=note))
            continue
        key = f"digest:hit:{r.hit_id}"
        existing = conn.execute(select(deliveries.c.id, deliveries.c.status).where(
            deliveries.c.destination_id == r.destination_id, deliveries.c.dedupe_key == key)).first()
        if existing is None:
            conn.execute(update(deliveries).where(deliveries.c.id == r.id).values(
                kind="digest", dedupe_key=key, error=note, attempts=0, next_attempt_at=now,
                lease_owner=None, lease_until=None))
        else:
            # an alerts: both destination has the hit in its digest already: note it there
            conn.execute(update(deliveries).where(deliveries.c.id == r.id).values(
                status="skipped", error=f"{note}; in the digest", lease_owner=None, lease_until=None))
            if existing.status == "queued":
                conn.execute(update(deliveries).where(deliveries.c.id == existing.id).values(error=note))
    if rows:
        log.warning("alerts=%d queued since before %s go into the digest as delayed", len(rows),
                    f"{older_than:%Y-%m-%d %H:%M}")
    return len(rows)


__all__ = ["NewHit", "QueuedAlert", "DELAYED", "kinds_for", "dedupe_key", "insert_ignore", "queue_for_hits",
           "alert_queue", "due_alerts", "count_queued_alerts", "recent_attempts", "delayed_notes", "queued_digest_rows", "claim_for_send", "mark_sent",
           "mark_failed", "requeue", "release_owner", "recover_deliveries", "skip_pending", "move_pending",
           "demote_stale_alerts"]


def queued_count(conn: Connection, dest_id: int) -> int:
    """Deliveries of this destination still queued (alerts and digest entries): /status."""
    return conn.execute(select(func.count()).select_from(deliveries).where(
        deliveries.c.destination_id == dest_id, deliveries.c.status == "queued")).scalar() or 0
