"""The weekly coordinator report to the admins on Telegram: when it is due and that it goes
out once per ISO week.

Schedule: Monday 08:00 in the deliveries time zone (NEWSBOT_TZ, else deliveries.yaml
`timezone`), through bot.runtime.due (APScheduler's CronTrigger does the calendar and DST). The
ISO week of the slot is recorded in the `kv` row 'report:weekly' *before* the report is
sent, with a compare-and-set, so a restart, or a second leader, never sends a week twice.
When no admin could be reached (Telegram down, every admin blocked the bot), the record is
put back and the next check (at most an hour later) tries again; one admin reached counts
as sent. A daemon down on Monday catches up within CATCH_UP; later, that week is skipped
rather than sent stale. `/report` and `newsbot report` give the report on demand.

Owns: the 'report:weekly' kv row (its SQL is bot.storage.kv's). Must not: build the report
(bot.insight.report does) or talk to Telegram itself (the caller passes `notify`, the sender's
admin notification).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.runtime import due
from bot.storage import kv

log = logging.getLogger(__name__)

SCHEDULE = "weekly monday 08:00"
KV_KEY = "report:weekly"
CATCH_UP = timedelta(days=2)


def _week(slot: datetime, tz_name: str | None) -> str:
    year, week, _ = slot.astimezone(ZoneInfo(tz_name or "UTC")).isocalendar()
    return f"{year}-W{week:02d}"


def due_week(engine: Engine, tz_name: str | None, now: datetime) -> str | None:
    """The ISO week whose report should go out now, or None (not yet, already sent, or
    missed by more than CATCH_UP)."""
    slot = due.previous_slot(SCHEDULE, tz_name, now)
    if slot is None or now - slot > CATCH_UP:
        return None
    week = _week(slot, tz_name)
    with engine.connect() as conn:
        sent = kv.read(conn, KV_KEY)
    return None if sent is not None and sent.value == week else week


def claim(engine: Engine, week: str) -> bool:
    """Record `week` as sent; False when it already was (by this or another process)."""
    return _claim(engine, week)[0]


def _claim(engine: Engine, week: str) -> tuple[bool, str | None]:
    """(claimed, the week recorded before) for `claim` and `release`."""
    with engine.begin() as conn:
        old = kv.read(conn, KV_KEY)
        if old is None:
            # False when another process inserted the row first
            return kv.insert_new(conn, KV_KEY, week), None
        if old.value == week:
            return False, old.value
        # compare-and-set: only the process that saw the old value moves it on
        return kv.replace(conn, KV_KEY, old.value, value=week), old.value


def release(engine: Engine, week: str, previous: str | None) -> None:
    """Undo a claim of `week` (its report reached nobody), unless the record moved on since."""
    with engine.begin() as conn:
        if previous is None:
            kv.delete_if(conn, KV_KEY, week)
        else:
            kv.replace(conn, KV_KEY, week, value=previous)


def seconds_to_next(tz_name: str | None, now: datetime, cap: float) -> float:
    """Seconds until the next scheduled report (at most `cap`)."""
    slot = due.next_slot(SCHEDULE, tz_name, now)
    if slot is None:
        return cap
    return max(1.0, min(cap, (slot - now).total_seconds() + 1.0))


async def send_due(engine: Engine, notify: Callable[[str], Awaitable[int]], now: datetime,
                   tz_name: str | None, source_ids: Iterable[str] | None) -> str | None:
    """Send this week's report if it is due; returns the week sent, or None. `notify` sends
    one message to the admins and returns how many it reached."""
    from bot.chat.telegram_tools import report_text, split_plain

    week = due_week(engine, tz_name, now)
    if week is None:
        return None
    claimed, previous = _claim(engine, week)
    if not claimed:
        return None
    try:
        # a few queries over 30 days of rows: off the event loop, polls and sends go on meanwhile
        text = await asyncio.to_thread(report_text, engine, now, list(source_ids) if source_ids is not None else None)
        reached = 0
        for part in split_plain(text):
            reached = max(reached, await notify(part))
    except BaseException:
        release(engine, week, previous)
        raise
    if not reached:
        release(engine, week, previous)
        log.warning("weekly coordinator report week=%s reached no admin; tried again at the next check", week)
        return None
    log.info("weekly coordinator report sent week=%s", week)
    return week
