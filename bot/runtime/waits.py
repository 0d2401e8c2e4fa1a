"""Wake-up timing of the daemon's duties: how long each sleeps, and what wakes it early.

Every due time lives in the database (bot/runtime/due.py reads it), so a duty computes its next
wake-up, sleeps on the injected clock (bot/runtime/clock.py: simulated seconds, compressed in tests
and benchmarks) and is woken early by the events here: a stop, a poll that queued something, a
reload, this process becoming the leader.

Owns: the timing constants, the wake-up events and the one way a duty sleeps (`Waits.sleep`, with
a floor in real time so a strongly compressed clock cannot make a loop spin). Must not: decide
what a duty does when it wakes (bot/runtime/duties.py does) or touch the database.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import TYPE_CHECKING

from bot.runtime.clock import Clock

if TYPE_CHECKING:
    from bot.delivery.email.weekly import WeeklyEmail

COALESCE = (10.0, 60.0)   # simulated seconds a poll may wait for neighbours (intervals are >= 5 min)
POLL_CAP = 300.0          # simulated seconds: look at the sources table at least this often
DELIVER_EVERY = 60.0      # simulated seconds between sender runs when nothing wakes it
EMAIL_EVERY = 3600.0      # simulated seconds between weekly-email checks (retries within catch-up)
RETENTION_EVERY = 86400.0
REPORT_EVERY = 3600.0     # simulated seconds between weekly-report checks at most
RETENTION_FIRST = 600.0   # after start-up, once the first polls are done
RESTART_AFTER = 30.0      # real seconds before a crashed duty is restarted
MIN_REAL_WAIT = 0.02      # real seconds: the shortest timer sleep
LEADER_EVERY = 5.0        # real seconds between attempts of a standby to become the leader
IDLE_CLAIM_WAIT = 1.0     # real seconds a poller waits when due sources are all leased by others


class Waits:
    """The daemon's wake-up events and its sleeps on `clock`."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.stop = asyncio.Event()       # set once: every duty returns
        self.poll = asyncio.Event()       # sources may be due now (a reload added some)
        self.deliver = asyncio.Event()    # something was queued, or a digest may be due
        self.leading = asyncio.Event()    # this process holds the leader lock

    async def sleep(self, simulated: float, *events: asyncio.Event) -> None:
        """Sleep `simulated` seconds, or less when stopping or when one of `events` is set."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self.stop, *events)]
        try:
            # A floor in real time: under a strongly compressed clock, minutes of simulated
            # time are microseconds and a loop must not spin on them.
            await asyncio.wait(waiters, timeout=max(MIN_REAL_WAIT, self.clock.real_seconds(simulated)),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def sleep_real(self, seconds: float, *events: asyncio.Event) -> None:
        """Sleep `seconds` of real time (leases and locks run on the wall clock)."""
        await self.sleep(self.clock.scale * seconds, *events)

    async def until_leader(self) -> bool:
        """Wait until this process leads; False when stopping first."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self.stop, self.leading)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        return self.leading.is_set() and not self.stop.is_set()


def coalesced(delay: float) -> float:
    """Wake 10-60 s after the earliest due time, so sources due close together share one cycle
    (one round of state queries, measured by bench/idle_daemon.py) and polls do not land on exact,
    shared seconds."""
    return delay + random.uniform(COALESCE[0], COALESCE[1])


def seconds_to_next_email(weekly: WeeklyEmail, now: datetime) -> float:
    """Until the last week's email is due (when not yet past), else this week's; at most
    EMAIL_EVERY, so a failed send is retried within its catch-up."""
    from bot.delivery.email.weekly import shift_week

    week = weekly.current_week(now)
    at = weekly.scheduled_at(shift_week(week, -1))
    if at <= now:
        at = weekly.scheduled_at(week)
    return max(1.0, min(EMAIL_EVERY, (at - now).total_seconds() + 1.0))
