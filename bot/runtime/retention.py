"""Retention: delete items (and their hits) older than `storage.retention` in deliveries.yaml.

What is never deleted, whatever the setting:
- an item with a hit that a queued or in-flight delivery still needs (the outbox);
- anything seen in the last 8 days: the weekly email and weekly digests look back a week;
- anything from the oldest ISO week that still has a queued (unsent) email;
- the newest `keep_per_source` items of each source: a slow feed may still list an old
  item, and once its row is gone the next poll would take it for a new one and alert again.

Deletes run in small batches so the SQLite writer lock is never held long. Stories left
without items go; a story whose lead item went gets its oldest remaining item as lead.
Owns: the purge's policy and timing (the SQL is bot.storage.retention's). Must not: know how
deliveries are sent or how stories are grouped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Engine

from bot.config.durations import parse_duration
from bot.storage import retention as stored

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=180)
FLOOR = timedelta(days=8)
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
        weeks = stored.queued_email_weeks(conn)
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
    with engine.connect() as conn:
        doomed = stored.purgeable_item_ids(conn, cutoff, keep_per_source)
    story_ids: set[int] = set()
    for start in range(0, len(doomed), BATCH):
        with engine.begin() as conn:
            deleted = stored.delete_items(conn, doomed[start:start + BATCH])
        result.items += deleted.items
        result.hits += deleted.hits
        story_ids |= deleted.story_ids
    if story_ids:
        result.stories = _tidy_stories(engine, sorted(story_ids))
    if result.items:
        log.info("retention purged items=%d hits=%d stories=%d cutoff=%s", result.items, result.hits,
                 result.stories, cutoff.isoformat(timespec="seconds"))
    return result


def _tidy_stories(engine: Engine, story_ids: list[int]) -> int:
    removed = 0
    for start in range(0, len(story_ids), BATCH):
        with engine.begin() as conn:
            removed += stored.tidy_stories(conn, story_ids[start:start + BATCH])
    return removed
