"""Who receives Telegram deliveries: the rows of `destinations`.

Owns: syncing the chats of deliveries.yaml into `destinations` (origin 'config'; chats that
ran /start are origin 'self'), finding and adding a chat, the columns a chat changes from
Telegram (/subscribe, /unsubscribe, /settings: `change_subscription`), deactivating one (bot blocked,
removed from the file), and following a group that Telegram upgraded to a supergroup.
Must not: change `deliveries` rows itself (what happens to a stopped or moved chat's
pending rows is `bot.delivery.outbox`'s, which owns their states), talk to Telegram, or
commit: every function takes the caller's connection and leaves the transaction to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol, Sequence, TypedDict

from sqlalchemy import Connection, select, update

from bot.delivery import outbox
from bot.storage.schema import destinations

if TYPE_CHECKING:
    from bot.config.deliveries import DeliveriesFile, TelegramChat

REMOVED_FROM_CONFIG = "removed from deliveries.yaml"
MIGRATED_TO = "migrated to "    # inactive_reason of a group's row left behind by its upgrade


class Destination(Protocol):
    """A row of `destinations` as read (`select(destinations)` rows have this shape)."""

    @property
    def id(self) -> int: ...
    @property
    def chat_id(self) -> str: ...            # chat_key(): decimal id, or '@name' of a channel
    @property
    def thread_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def origin(self) -> str: ...             # config | self
    @property
    def themes(self) -> Sequence[str] | None: ...     # None: all
    @property
    def regions(self) -> Sequence[str] | None: ...
    @property
    def languages(self) -> Sequence[str] | None: ...
    @property
    def alerts(self) -> str: ...             # instant | digest | both
    @property
    def digest(self) -> str | None: ...      # a schedule ('daily 08:00') or 'off'
    @property
    def timezone(self) -> str | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def inactive_reason(self) -> str | None: ...
    @property
    def last_digest_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def migrated_from(self) -> str | None: ...


def chat_key(chat: int | str) -> str:
    """How a chat id is stored: decimal text for ids, '@name' for public channels."""
    return str(chat).strip()


def _as_list(value: str | Sequence[str]) -> list[str] | None:
    return None if value == "all" else list(value)


def active_destinations(conn: Connection) -> list[Destination]:
    """Every destination that still receives deliveries."""
    return list(conn.execute(select(destinations).where(destinations.c.active.is_(True))))


def find_destination(conn: Connection, chat: int | str, thread_id: int | None) -> Destination | None:
    cond = destinations.c.thread_id.is_(None) if thread_id is None else destinations.c.thread_id == thread_id
    return conn.execute(select(destinations).where(
        destinations.c.chat_id == chat_key(chat), cond)).first()


def get_destination(conn: Connection, dest_id: int) -> Destination:
    return conn.execute(select(destinations).where(destinations.c.id == dest_id)).one()


def digest_destinations(conn: Connection) -> list[Destination]:
    """Active destinations that take a digest (due or not)."""
    return list(conn.execute(select(destinations).where(
        destinations.c.active.is_(True), destinations.c.digest != "off")).all())


def mark_digest_sent(conn: Connection, dest_id: int, at: datetime) -> None:
    conn.execute(update(destinations).where(destinations.c.id == dest_id).values(last_digest_at=at))


def add_destination(conn: Connection, **values: object) -> int | None:
    """Insert a destination row; its id, or None when the chat (and thread) already has one:
    another worker's sync or a concurrent /start inserted it first (the unique index
    uq_destinations_chat_anythread decides, so a chat is never in twice)."""
    return conn.execute(outbox.insert_ignore(conn, destinations).values(**values)
                        .returning(destinations.c.id)).scalar()


def sync_config_destinations(conn: Connection, deliveries_cfg: DeliveriesFile, now: datetime) -> dict[str, int]:
    """Make `destinations` agree with deliveries.yaml: upsert its chats as origin='config',
    deactivate config rows whose chat left the file. A chat the bot was blocked in
    (deactivated for another reason) stays inactive until someone runs /start there."""
    chats = deliveries_cfg.telegram.chats
    seen: set[int] = set()
    counts = {"added": 0, "updated": 0, "deactivated": 0}
    for chat in chats:
        values: dict[str, object] = {
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
            assert row is not None, "a destination that blocked our insert is there"
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


def _migrated_destination(conn: Connection, chat: int | str, thread_id: int | None,
                          row: Destination | None) -> Destination | None:
    """The destination that followed `chat` to a supergroup, when `chat` (no row, or a row
    left behind by the upgrade) is a group Telegram upgraded; else None."""
    if row is not None and (row.active or not (row.inactive_reason or "").startswith(MIGRATED_TO)):
        return None
    cond = destinations.c.thread_id.is_(None) if thread_id is None else destinations.c.thread_id == thread_id
    moved: Destination | None = conn.execute(select(destinations).where(
        destinations.c.migrated_from == chat_key(chat), cond).order_by(destinations.c.id)).first()
    if moved is None and row is not None and row.inactive_reason is not None:
        # recorded before `migrated_from` existed: the left-behind row names the new id
        moved = find_destination(conn, row.inactive_reason[len(MIGRATED_TO):], thread_id)
    return moved


def migrated_config_chats(conn: Connection, deliveries_cfg: DeliveriesFile | None
                          ) -> list[tuple[TelegramChat, str]]:
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


def migration_advice(chat: TelegramChat, new_chat: str) -> str:
    name = f" ({chat.name})" if chat.name else ""
    return (f"deliveries.yaml: telegram chat {chat.chat}{name} was upgraded by Telegram to the "
            f"supergroup {new_chat}; alerts follow it, but change `chat: {chat.chat}` to "
            f"`chat: {new_chat}` in that entry")


def deactivate(conn: Connection, dest_id: int, reason: str, now: datetime) -> int:
    """Stop sending to a destination; its queued rows become 'skipped' with the reason."""
    conn.execute(update(destinations).where(destinations.c.id == dest_id)
                 .values(active=False, inactive_reason=reason))
    return outbox.skip_pending(conn, dest_id, reason)


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
    outbox.move_pending(conn, dest_id, other.id, f"migrated to {new_chat}")
    conn.execute(update(destinations).where(destinations.c.id == dest_id).values(
        active=False, inactive_reason=f"{MIGRATED_TO}{new_chat}"))
    return other.id


__all__ = ["Destination", "REMOVED_FROM_CONFIG", "MIGRATED_TO", "chat_key", "active_destinations",
           "digest_destinations", "get_destination", "mark_digest_sent", "find_destination", "add_destination", "sync_config_destinations", "migrated_config_chats",
           "migration_advice", "deactivate", "move_destination"]


class SubscriptionChange(TypedDict, total=False):
    """The columns of a destination a chat command may set; the keys given are written."""

    themes: list[str] | None        # None: every theme
    regions: list[str] | None       # None: everywhere
    alerts: str                     # instant | digest | both
    digest: str                     # a schedule, e.g. "daily 08:00", or "off"
    active: bool
    inactive_reason: str | None


def change_subscription(conn: Connection, dest_id: int, change: SubscriptionChange) -> None:
    conn.execute(update(destinations).where(destinations.c.id == dest_id).values(**change))
