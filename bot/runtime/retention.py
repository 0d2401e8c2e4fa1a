"""Retention: delete items (and their hits) older than `storage.retention` in deliveries.yaml.

What is never deleted, whatever the setting:
- an item with a hit that a queued or in-flight delivery still needs (the outbox);
- anything seen in the last 8 days: the weekly email and weekly digests look back a week;
- anything from the oldest ISO week that still has a queued (unsent) email;
- the newest `keep_per_source` items of each source: a slow feed may still list an old
  item, and once its row is gone the next poll would take it for a new one and alert again.

Deletes run in small batches so the SQLite writer lock is never held long. Stories left
without items go; a story whose lead item went gets its oldest remaining item as lead.
Owns: the purge. Must not: know how deliveries are sent or how stories are grouped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Engine, and_, delete, exists, func, select, update

from bot.config.durations import parse_duration
from bot.storage.schema import deliveries, email_sends, feedback, hits, items, metadata, stories

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=180)
FLOOR = timedelta(days=8)
PENDING = ("queued", "sending")
BATCH = 500


@dataclass
class PurgeResult:
    items: int = 0
    hits: int = 0
    stories: int = 0
    cutoff: datetime | None = None


def retention_of(deliveries_cfg) -> timedelta:  # noqa: ANN001
    """The configured retention (deliveries.yaml `storage.retention`), default 180 days."""
    try:
        raw = deliveries_cfg.storage.retention
    except AttributeError:
        return DEFAULT_RETENTION
    return parse_duration(raw)


def cutoff_for(engine: Engine, retention: timedelta, now: datetime) -> datetime:
    """Items first seen before this instant may go (subject to the per-item protections)."""
    cutoff = now - max(retention, FLOOR)
    with engine.connect() as conn:
        weeks = conn.execute(select(email_sends.c.week).where(email_sends.c.status == "queued")
                             .distinct()).scalars().all()
    for week in weeks:
        start = _week_start(week)
        if start is not None:
            # A day of margin: the list's time zone may start the week before UTC does.
            cutoff = min(cutoff, start - timedelta(days=1))
    return cutoff


def _week_start(week: str) -> datetime | None:
    try:
        year, w = week.split("-W")
        return datetime.combine(date.fromisocalendar(int(year), int(w), 1), time(), timezone.utc)
    except (ValueError, AttributeError):
        return None


def purge(engine: Engine, retention: timedelta, now: datetime, *, keep_per_source: int = 200) -> PurgeResult:
    cutoff = cutoff_for(engine, retention, now)
    result = PurgeResult(cutoff=cutoff)
    ranked = select(items.c.id.label("id"),
                    func.row_number().over(partition_by=items.c.source_id,
                                           order_by=(items.c.first_seen_at.desc(), items.c.id.desc())).label("rank")
                    ).subquery()
    newest = select(ranked.c.id).where(ranked.c.rank <= keep_per_source)
    pending = exists().where(hits.c.item_id == items.c.id, deliveries.c.hit_id == hits.c.id,
                             deliveries.c.status.in_(PENDING))
    doomed_q = (select(items.c.id).where(items.c.first_seen_at < result.cutoff, ~pending,
                                         items.c.id.not_in(newest)).order_by(items.c.id))
    with engine.connect() as conn:
        doomed = conn.execute(doomed_q).scalars().all()
    story_ids: set[int] = set()
    for start in range(0, len(doomed), BATCH):
        batch = doomed[start:start + BATCH]
        with engine.begin() as conn:
            # Look again inside the write transaction: a delivery may have been queued since.
            batch = conn.execute(select(items.c.id).where(items.c.id.in_(batch), ~pending)).scalars().all()
            if not batch:
                continue
            story_ids.update(s for s in conn.execute(
                select(items.c.story_id).where(items.c.id.in_(batch)).distinct()).scalars() if s is not None)
            hit_ids = select(hits.c.id).where(hits.c.item_id.in_(batch))
            conn.execute(delete(deliveries).where(deliveries.c.hit_id.in_(hit_ids)))
            conn.execute(delete(feedback).where(feedback.c.hit_id.in_(hit_ids)))
            result.hits += conn.execute(delete(hits).where(hits.c.item_id.in_(batch))).rowcount
            # Explicit although the foreign keys cascade: a connection without PRAGMA foreign_keys
            # must not leave dangling rows (story grouping keeps per-item lookup rows, say).
            for table, column in _item_children():
                conn.execute(delete(table).where(column.in_(batch)))
            result.items += conn.execute(delete(items).where(items.c.id.in_(batch))).rowcount
    if story_ids:
        result.stories = _tidy_stories(engine, sorted(story_ids))
    if result.items:
        log.info("retention purged items=%d hits=%d stories=%d cutoff=%s", result.items, result.hits,
                 result.stories, cutoff.isoformat(timespec="seconds"))
    return result


def _item_children() -> list[tuple]:
    """Every other table with a foreign key to items.id, found from the schema so a new
    per-item table is covered without an edit here."""
    found = []
    for table in metadata.sorted_tables:
        if table is hits:
            continue
        for column in table.columns:
            if any(fk.column is items.c.id for fk in column.foreign_keys):
                found.append((table, column))
    return found


def _tidy_stories(engine: Engine, story_ids: list[int]) -> int:
    removed = 0
    for start in range(0, len(story_ids), BATCH):
        batch = story_ids[start:start + BATCH]
        with engine.begin() as conn:
            has_items = exists().where(items.c.story_id == stories.c.id)
            removed += conn.execute(delete(stories).where(stories.c.id.in_(batch), ~has_items)).rowcount
            lead_gone = and_(stories.c.id.in_(batch), stories.c.lead_item_id.is_not(None),
                             ~exists().where(items.c.id == stories.c.lead_item_id))
            first_item = (select(func.min(items.c.id)).where(items.c.story_id == stories.c.id)
                          .scalar_subquery())
            conn.execute(update(stories).where(lead_gone).values(lead_item_id=first_item))
    return removed
