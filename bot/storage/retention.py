"""Retention's SQL: which items are old enough to go, and deleting an item with everything
that hangs on it (its hits, their deliveries and feedback, every per-item row), then the
stories it leaves behind.

Protected whatever the caller asks: an item with a hit that a queued or in-flight delivery
still needs (the outbox), checked again inside each deleting transaction.

Owns: these deletes. Must not: decide how long anything is kept, how many items a source
keeps, or how big a batch is (bot.runtime.retention does). Every function takes the caller's
`Connection` and leaves the transaction to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import Column, Connection, Table, and_, delete, exists, func, select, update

from bot.storage.schema import deliveries, email_sends, feedback, hits, items, metadata, stories

PENDING = ("queued", "sending")    # delivery statuses that still need their hit and item


@dataclass
class Deleted:
    items: int = 0
    hits: int = 0
    story_ids: set[int] = field(default_factory=set)   # stories that lost an item


def queued_email_weeks(conn: Connection) -> list[str]:
    """The ISO weeks ('2026-W44') that still have a queued (unsent) weekly email."""
    return list(conn.execute(select(email_sends.c.week).where(email_sends.c.status == "queued")
                             .distinct()).scalars().all())


def _pending() -> Any:
    return exists().where(hits.c.item_id == items.c.id, deliveries.c.hit_id == hits.c.id,
                          deliveries.c.status.in_(PENDING))


def purgeable_item_ids(conn: Connection, cutoff: datetime, keep_per_source: int) -> list[int]:
    """Items first seen before `cutoff`, not needed by a pending delivery and not among the
    newest `keep_per_source` of their source, in id order."""
    ranked = select(items.c.id.label("id"),
                    func.row_number().over(partition_by=items.c.source_id,
                                           order_by=(items.c.first_seen_at.desc(), items.c.id.desc())).label("rank")
                    ).subquery()
    newest = select(ranked.c.id).where(ranked.c.rank <= keep_per_source)
    query = (select(items.c.id).where(items.c.first_seen_at < cutoff, ~_pending(), items.c.id.not_in(newest))
             .order_by(items.c.id))
    return list(conn.execute(query).scalars().all())


def delete_items(conn: Connection, ids: Sequence[int]) -> Deleted:
    """Delete these items and what hangs on them, except those a pending delivery needs by
    now (a delivery may have been queued since they were picked)."""
    deleted = Deleted()
    batch = conn.execute(select(items.c.id).where(items.c.id.in_(ids), ~_pending())).scalars().all()
    if not batch:
        return deleted
    deleted.story_ids.update(s for s in conn.execute(
        select(items.c.story_id).where(items.c.id.in_(batch)).distinct()).scalars() if s is not None)
    hit_ids = select(hits.c.id).where(hits.c.item_id.in_(batch))
    conn.execute(delete(deliveries).where(deliveries.c.hit_id.in_(hit_ids)))
    conn.execute(delete(feedback).where(feedback.c.hit_id.in_(hit_ids)))
    deleted.hits = conn.execute(delete(hits).where(hits.c.item_id.in_(batch))).rowcount
    # Explicit although the foreign keys cascade: a connection without PRAGMA foreign_keys
    # must not leave dangling rows (story grouping keeps per-item lookup rows, say).
    for table, column, keep_row in _item_children():
        if keep_row:        # ondelete SET NULL: the row outlives its item (an accepted report)
            conn.execute(update(table).where(column.in_(batch)).values({column.name: None}))
        else:
            conn.execute(delete(table).where(column.in_(batch)))
    deleted.items = conn.execute(delete(items).where(items.c.id.in_(batch))).rowcount
    return deleted


def _item_children() -> list[tuple[Table, Column[Any], bool]]:
    """Every other table with a foreign key to items.id, found from the schema so a new
    per-item table is covered without an edit here; with whether the key says SET NULL
    (the row is kept, unlinked) rather than CASCADE."""
    found = []
    for table in metadata.sorted_tables:
        if table is hits:
            continue
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column is items.c.id:
                    found.append((table, column, (fk.ondelete or "").upper() == "SET NULL"))
    return found


def tidy_stories(conn: Connection, story_ids: Sequence[int]) -> int:
    """Of these stories, delete those left without items and give those whose lead item went
    their oldest remaining item as lead; the number deleted."""
    has_items = exists().where(items.c.story_id == stories.c.id)
    removed = conn.execute(delete(stories).where(stories.c.id.in_(story_ids), ~has_items)).rowcount
    lead_gone = and_(stories.c.id.in_(story_ids), stories.c.lead_item_id.is_not(None),
                     ~exists().where(items.c.id == stories.c.lead_item_id))
    first_item = select(func.min(items.c.id)).where(items.c.story_id == stories.c.id).scalar_subquery()
    conn.execute(update(stories).where(lead_gone).values(lead_item_id=first_item))
    return removed
