"""When the daemon's next work is due, read from the tables: the earliest source poll, the
next digest slot of each chat in its time zone (APScheduler's CronTrigger does the calendar
and daylight-saving arithmetic), queued retries, and whether the sender has anything to do.

Owns: what those rows mean for the daemon's waits (the queries are bot.storage.due's). Must
not: change any row or know how work is done.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from bot.config.schedule import read_schedule
from bot.storage import due as stored
from bot.storage.leases import wall_clock


def next_slot(spec: str | None, tz_name: str | None, now: datetime) -> datetime | None:
    """The next digest time after `now` for 'daily HH:MM' / 'weekly DAY HH:MM' in `tz_name`."""
    from apscheduler.triggers.cron import CronTrigger

    schedule = read_schedule(spec)
    if schedule is None:
        return None
    try:
        trigger = CronTrigger(day_of_week=schedule.cron_day, hour=schedule.hour, minute=schedule.minute,
                              timezone=tz_name or "UTC")
    except (ValueError, LookupError):  # an unknown time zone
        return None
    fire = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))  # strictly after now
    return fire.astimezone(timezone.utc) if fire else None


def previous_slot(spec: str | None, tz_name: str | None, now: datetime) -> datetime | None:
    """The latest time at or before `now` of 'daily HH:MM' / 'weekly DAY HH:MM' in `tz_name`
    (looking back at most 8 days), or None."""
    slot = next_slot(spec, tz_name, now - timedelta(days=8))
    last = None
    while slot is not None and slot <= now:
        last, slot = slot, next_slot(spec, tz_name, slot)
    return last


def seconds_to_next_poll(engine: Engine, enabled_ids: list[str], now: datetime, cap: float) -> float:
    """Simulated seconds until the earliest enabled, unpaused source is due (0: one is due now)."""
    ids = enabled_ids
    if not ids:
        return cap
    with engine.connect() as conn:
        rows = stored.poll_due_times(conn, set(ids))
    best = cap
    for sid in ids:
        row = rows.get(sid)
        if row is None or row.next_poll_at is None:
            return 0.0
        if row.status == "paused":
            continue
        best = min(best, (row.next_poll_at - now).total_seconds())
    return max(0.0, best)


def seconds_to_next_delivery(engine: Engine, default_tz: str | None, now: datetime, cap: float) -> float:
    """Simulated seconds until the next digest slot of an active chat or queued retry (at most `cap`)."""
    best = cap
    with engine.connect() as conn:
        dests = stored.digest_schedules(conn)
        retry = stored.next_retry_at(conn, now)
    for spec, tz in dests:
        slot = next_slot(spec, tz or default_tz, now)
        if slot is not None:
            best = min(best, (slot - now).total_seconds() + 1.0)
    if retry is not None:
        best = min(best, (retry - now).total_seconds())
    return max(0.0, best)


def has_delivery_work(engine: Engine, default_tz: str | None, now: datetime) -> bool:
    """Anything for the sender now: a due alert, a claim left by a dead sender, a due
    digest. Checked here so an idle daemon does not run (and log) empty sender passes."""
    from bot.delivery.telegram.digest import is_due

    with engine.connect() as conn:
        # Send leases run on the wall clock (bot.storage.leases), not the simulated one.
        if stored.has_sendable_alert(conn, now, lease_now=wall_clock()):
            return True
        dests = stored.digest_destinations(conn)
    return any(is_due(d, now, default_tz) for d in dests)
