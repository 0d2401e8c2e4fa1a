"""The Telegram outbox: which destination gets which hit, as rows of `deliveries`.

Owns: turning new hits into queued delivery rows (in the caller's transaction), syncing the
chats of deliveries.yaml into `destinations`, and the row-level state changes the sender makes
(mark sent/failed/requeued, give back what a stopping sender held; the claims themselves and
their recovery are `bot.storage.leases`'). Must not talk to Telegram, format messages or
commit: every function takes the caller's connection and leaves the transaction to it, so
"hit stored" and "delivery queued" commit together or not at all.

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
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from sqlalchemy import Connection, Row, case, literal, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bot.storage.notify import notify_outbox
from bot.storage.schema import deliveries, destinations

if TYPE_CHECKING:
    from bot.config.deliveries import DeliveriesFile

log = logging.getLogger(__name__)

REMOVED_FROM_CONFIG = "removed from deliveries.yaml"
DELAYED = "delayed: "      # the note of an alert that went into the digest instead


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


def chat_key(chat: int | str) -> str:
    """How a chat id is stored: decimal text for ids, '@name' for public channels."""
    return str(chat).strip()


def _accepts(dest: Any, hit: NewHit) -> bool:
    if dest.themes is not None and hit.theme not in dest.themes:
        return False
    if dest.regions is not None and not set(dest.regions) & set(hit.regions or ()):
        return False
    if dest.languages is not None and (hit.language or "") not in dest.languages:
        return False
    return True


def kinds_for(dest: Any, priority: str) -> list[str]:
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


def _insert_ignore(conn: Connection, table: Any, on: list[str] | None = None):  # noqa: ANN202
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
        added = len(conn.execute(_insert_ignore(conn, deliveries, ["destination_id", "dedupe_key"]).values(**row).returning(deliveries.c.id)).all())
        if not added and instead:
            hit_id = row["hit_id"]
            row = {**row, "kind": "digest", "dedupe_key": f"digest:hit:{hit_id}"}
            added = len(conn.execute(_insert_ignore(conn, deliveries, ["destination_id", "dedupe_key"]).values(**row).returning(deliveries.c.id)).all())
        inserted += added
    if inserted:
        notify_outbox(conn)     # senders in other processes wake when this commits
    log.debug("queued deliveries=%d hits=%d destinations=%d", inserted, len(hits), len(dests))
    return inserted


def _as_list(value: Any) -> list[str] | None:
    return None if value == "all" else list(value)


def active_destinations(conn: Connection) -> list[Any]:
    """Every destination that still receives deliveries."""
    return list(conn.execute(select(destinations).where(destinations.c.active.is_(True))))


def find_destination(conn: Connection, chat: int | str, thread_id: int | None) -> Any:
    cond = destinations.c.thread_id.is_(None) if thread_id is None else destinations.c.thread_id == thread_id
    return conn.execute(select(destinations).where(
        destinations.c.chat_id == chat_key(chat), cond)).first()


def add_destination(conn: Connection, **values: Any) -> int | None:
    """Insert a destination row; its id, or None when the chat (and thread) already has one:
    another worker's sync or a concurrent /start inserted it first (the unique index
    uq_destinations_chat_anythread decides, so a chat is never in twice)."""
    return conn.execute(_insert_ignore(conn, destinations).values(**values)
                        .returning(destinations.c.id)).scalar()


def sync_config_destinations(conn: Connection, deliveries_cfg: DeliveriesFile, now: datetime) -> dict[str, int]:
    """Make `destinations` agree with deliveries.yaml: upsert its chats as origin='config',
    deactivate config rows whose chat left the file. A chat the bot was blocked in
    (deactivated for another reason) stays inactive until someone runs /start there."""
    chats = deliveries_cfg.telegram.chats
    seen: set[int] = set()
    counts = {"added": 0, "updated": 0, "deactivated": 0}
    for chat in chats:
        values = {
            "chat_id": chat_key(chat.chat), "thread_id": chat.thread, "name": chat.name,
            "origin": "config", "themes": _as_list(chat.themes), "regions": _as_list(chat.regions),
            "languages": _as_list(chat.languages), "alerts": chat.alerts, "digest": chat.digest,
            "timezone": chat.timezone,
        }
        if isinstance(chat.chat, str):
            values["chat_type"] = "channel"
        row = find_destination(conn, chat.chat, chat.thread)
        moved = _migrated_destination(conn, chat.chat, chat.thread, row)
        if moved is not None:
            # Telegram upgraded the group: the entry's old id lives on under the new one
            # until someone edits the file (`newsbot check` and /health say which entry)
            row = moved
            values.pop("chat_id")
            values.pop("chat_type", None)
        if row is None:
            added = add_destination(conn, **values, active=True, created_at=now)
            if added is not None:
                seen.add(added)
                counts["added"] += 1
                continue
            row = find_destination(conn, chat.chat, chat.thread)  # inserted meanwhile: update it
        seen.add(row.id)
        if row.inactive_reason == REMOVED_FROM_CONFIG or row.origin != "config":
            values.update(active=True, inactive_reason=None)
        conn.execute(update(destinations).where(destinations.c.id == row.id).values(**values))
        counts["updated"] += 1
    stale = conn.execute(select(destinations.c.id).where(
        destinations.c.origin == "config", destinations.c.active.is_(True))).scalars().all()
    for dest_id in stale:
        if dest_id not in seen:
            deactivate(conn, dest_id, REMOVED_FROM_CONFIG, now)
            counts["deactivated"] += 1
    return counts


MIGRATED_TO = "migrated to "    # inactive_reason of a group's row left behind by its upgrade


def _migrated_destination(conn: Connection, chat: int | str, thread_id: int | None, row: Any) -> Any:
    """The destination that followed `chat` to a supergroup, when `chat` (no row, or a row
    left behind by the upgrade) is a group Telegram upgraded; else None."""
    if row is not None and (row.active or not (row.inactive_reason or "").startswith(MIGRATED_TO)):
        return None
    cond = destinations.c.thread_id.is_(None) if thread_id is None else destinations.c.thread_id == thread_id
    moved = conn.execute(select(destinations).where(destinations.c.migrated_from == chat_key(chat), cond)
                         .order_by(destinations.c.id)).first()
    if moved is None and row is not None:
        # recorded before `migrated_from` existed: the left-behind row names the new id
        moved = find_destination(conn, row.inactive_reason[len(MIGRATED_TO):], thread_id)
    return moved


def migrated_config_chats(conn: Connection, deliveries_cfg: DeliveriesFile | None) -> list[tuple[Any, str]]:
    """deliveries.yaml chats that still name a group Telegram upgraded to a supergroup:
    (the chat entry, its new id). Alerts follow the new id anyway; the file should say it."""
    chats = deliveries_cfg.telegram.chats if deliveries_cfg is not None else ()
    out = []
    for chat in chats:
        row = find_destination(conn, chat.chat, chat.thread)
        moved = _migrated_destination(conn, chat.chat, chat.thread, row)
        if moved is not None:
            out.append((chat, moved.chat_id))
    return out


def migration_advice(chat: Any, new_chat: str) -> str:
    name = f" ({chat.name})" if getattr(chat, "name", None) else ""
    return (f"deliveries.yaml: telegram chat {chat.chat}{name} was upgraded by Telegram to the "
            f"supergroup {new_chat}; alerts follow it, but change `chat: {chat.chat}` to "
            f"`chat: {new_chat}` in that entry")


def deactivate(conn: Connection, dest_id: int, reason: str, now: datetime) -> int:
    """Stop sending to a destination; its queued rows become 'skipped' with the reason."""
    conn.execute(update(destinations).where(destinations.c.id == dest_id)
                 .values(active=False, inactive_reason=reason))
    return conn.execute(update(deliveries).where(
        deliveries.c.destination_id == dest_id,
        deliveries.c.status.in_(("queued", "sending"))).values(
        status="skipped", error=reason, lease_owner=None, lease_until=None)).rowcount or 0


# --- what the sender does to rows -------------------------------------------------------

def alert_queue(conn: Connection, now: datetime, limit: int = 1000) -> tuple[list[Any], datetime | None]:
    """Queued alerts of active destinations, oldest first, and when the next one falls due.

    Alerts leave for a chat in queue order: when a chat's oldest row waits (flood wait,
    backoff), its later rows wait behind it. Returns (due rows, earliest future attempt)."""
    q = (select(deliveries.c.id, deliveries.c.destination_id, deliveries.c.hit_id,
                deliveries.c.attempts, deliveries.c.next_attempt_at)
         .join(destinations, destinations.c.id == deliveries.c.destination_id)
         .where(deliveries.c.kind == "alert", deliveries.c.status == "queued",
                destinations.c.active.is_(True))
         .order_by(deliveries.c.id).limit(limit))
    due, blocked, next_at = [], set(), None
    for row in conn.execute(q):
        if row.destination_id in blocked:
            continue
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            blocked.add(row.destination_id)
            next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
            continue
        due.append(row)
    return due, next_at


def due_alerts(conn: Connection, now: datetime, limit: int = 1000) -> list[Any]:
    return alert_queue(conn, now, limit)[0]


def mark_sent(conn: Connection, ids: Sequence[int], message_id: int | None, now: datetime) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(
        status="sent", sent_at=now, message_id=message_id, error=None,
        lease_owner=None, lease_until=None))


def mark_failed(conn: Connection, ids: Sequence[int], error: str) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(
        status="failed", error=error[:500], lease_owner=None, lease_until=None))


def requeue(conn: Connection, ids: Sequence[int], next_attempt_at: datetime,
            error: str | None = None, count_attempt: bool = True) -> None:
    values: dict[str, Any] = {"status": "queued", "next_attempt_at": next_attempt_at,
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


def move_destination(conn: Connection, dest_id: int, new_chat: int | str) -> int:
    """A group became a supergroup: the destination follows it to the new id. If a row for
    the new id exists already, the old one's queued rows move there and the old row stops."""
    row = conn.execute(select(destinations).where(destinations.c.id == dest_id)).one()
    other = find_destination(conn, new_chat, row.thread_id)
    if other is None or other.id == dest_id:
        conn.execute(update(destinations).where(destinations.c.id == dest_id)
                     .values(chat_id=chat_key(new_chat), chat_type="supergroup",
                             migrated_from=row.migrated_from or row.chat_id))
        return dest_id
    if other.migrated_from is None:
        conn.execute(update(destinations).where(destinations.c.id == other.id)
                     .values(migrated_from=row.chat_id))
    pending = conn.execute(select(deliveries.c.id, deliveries.c.dedupe_key).where(
        deliveries.c.destination_id == dest_id, deliveries.c.status.in_(("queued", "sending")))).all()
    taken = set(conn.execute(select(deliveries.c.dedupe_key).where(
        deliveries.c.destination_id == other.id)).scalars())
    for rid, key in pending:
        if key in taken:
            conn.execute(update(deliveries).where(deliveries.c.id == rid).values(
                status="skipped", error=f"migrated to {new_chat}", lease_owner=None))
        else:
            conn.execute(update(deliveries).where(deliveries.c.id == rid).values(
                destination_id=other.id))
    conn.execute(update(destinations).where(destinations.c.id == dest_id).values(
        active=False, inactive_reason=f"{MIGRATED_TO}{new_chat}"))
    return other.id


__all__ = ["NewHit", "queue_for_hits", "sync_config_destinations", "deactivate", "kinds_for",
           "dedupe_key", "chat_key", "find_destination", "mark_sent", "mark_failed",
           "requeue", "release_owner", "due_alerts", "alert_queue", "queued_digest_rows",
           "move_destination", "migrated_config_chats", "migration_advice", "MIGRATED_TO", "demote_stale_alerts",
           "delayed_notes", "DELAYED"]
