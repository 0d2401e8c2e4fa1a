"""A chat's own subscription as its `destinations` row holds it: the columns a member changes
from Telegram (/subscribe, /unsubscribe, the /settings buttons, /start after a block) and how
many of its deliveries wait (/status).

Owns that SQL, nothing more: finding, creating and syncing destination rows, and the deliveries
state machine, are bot.delivery.outbox's. Must not decide who may change a chat (bot.chat does)
nor commit: every function takes the caller's `Connection` and leaves the transaction to it.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Connection, func, select, update

from bot.storage.schema import deliveries, destinations


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


def queued_count(conn: Connection, dest_id: int) -> int:
    """Deliveries of this destination still queued (alerts and digest entries)."""
    return conn.execute(select(func.count()).select_from(deliveries).where(
        deliveries.c.destination_id == dest_id, deliveries.c.status == "queued")).scalar() or 0
