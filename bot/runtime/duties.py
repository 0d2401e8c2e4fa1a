"""The daemon's duties: one asyncio task each, looping until the daemon stops.

The poll cycle (wakes at the earliest `next_poll_at`, plus jitter), the delivery sender (wakes
after a poll queued something, at each digest time, for retries, and every minute), the weekly
email, the weekly coordinator report to the admins (Monday 08:00, bot/runtime/weekly_report.py),
retention (daily), live reload, the heartbeat of the single-instance lock, the attempts of a
standby to become the leader, and (PostgreSQL) the listener that wakes the sender when another
process queued deliveries. Which of them run depends on the role (`newsbot run --role`).
A duty that crashes is logged and restarted after a pause; it never takes the others down.

Owns: what one round of each duty does and when the next one is due. Must not: build, replace or
close components (the daemon does, through bot/runtime/wiring.py), hold state of its own beyond
the last poll's size, print or exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Awaitable, Callable

from bot.runtime import due, status
from bot.runtime.retention import purge, retention_of
from bot.runtime.waits import (DELIVER_EVERY, IDLE_CLAIM_WAIT, LEADER_EVERY, POLL_CAP, REPORT_EVERY,
                               RESTART_AFTER, RETENTION_EVERY, RETENTION_FIRST, coalesced, seconds_to_next_email)

if TYPE_CHECKING:
    from bot.runtime.daemon import Daemon

log = logging.getLogger("bot.runtime.daemon")   # the daemon's lines, under one name for operators' filters


class Duties:
    """The loops of one daemon; `start()` creates the tasks its role and database call for."""

    def __init__(self, daemon: Daemon):
        self.d = daemon
        self.waits = daemon.waits
        self._last_polled = 0

    def start(self) -> dict[str, asyncio.Task[None]]:
        d, duties = self.d, self.d.duties
        wanted = {"heartbeat": d.lock is not None, "reload": True, "poll": "poll" in duties,
                  "deliver": "deliver" in duties or "leader" in duties,
                  "email": "leader" in duties, "retention": "leader" in duties,
                  "report": "leader" in duties and bool(d.settings.admin_ids),
                  "leader": "leader" in duties,
                  "listen": "deliver" in duties and d.engine.dialect.name == "postgresql"}
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "heartbeat": self.heartbeat, "reload": self.reload, "poll": self.poll, "deliver": self.deliver,
            "email": self.email, "retention": self.retention, "report": self.report,
            "leader": self.lead, "listen": self.listen}
        return {name: asyncio.create_task(self._guard(name, fn), name=f"newsbot-{name}")
                for name, fn in loops.items() if wanted[name]}

    async def _guard(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        while not self.waits.stop.is_set():
            try:
                await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("%s loop failed; restarting it in 30 s", name)
                await self.waits.sleep_real(RESTART_AFTER)

    # ---- the single-instance lock and the leader lock ----------------------------------

    async def heartbeat(self) -> None:
        d = self.d
        lock = d.lock
        if lock is None:   # started only with a lock (SQLite)
            return
        every = d.lock_ttl / 4
        while not self.waits.stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.waits.stop.wait(), timeout=every)
                return
            if (problem := d.db_file_problem()) is not None:
                # Writing on would store news in a file no one can read; a command run next
                # would create an empty database and alert nothing it polls (all backlog).
                log.critical("%s; stopping. Put the file back (or restore a backup) before starting "
                             "newsbot again: a new empty database would treat every item as backlog", problem)
                d.fail()
                return
            try:
                held = await asyncio.to_thread(lock.renew)
            except Exception as exc:  # noqa: BLE001  (the database may be briefly unreachable)
                log.warning("could not renew the daemon lock: %s", exc.__class__.__name__)
                continue
            if not held:
                log.critical("lost the database lock to another daemon; stopping so nothing is sent twice")
                d.fail()

    async def lead(self) -> None:
        """A standby tries to become the leader every LEADER_EVERY real seconds; a leader that
        loses its lock (its database connection broke) stops, so two never run the schedules."""
        d = self.d
        while not self.waits.stop.is_set():
            await self.waits.sleep_real(LEADER_EVERY)
            if self.waits.stop.is_set():
                return
            was = self.waits.leading.is_set()
            held = await asyncio.to_thread(d.leader.try_acquire)
            if held and not was:
                await d.become_leader()
            elif was and not held:
                log.critical("lost the leader lock; stopping so no schedule runs twice")
                d.fail()

    async def reload(self) -> None:
        d = self.d
        while not self.waits.stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.waits.stop.wait(), timeout=d.reload_interval)
                return
            # Off the event loop: loading a large sources.yaml takes seconds (1.35 s of CPU at
            # 10,000 sources), and polls, sends and chat commands must not wait for it.
            snapshot = await asyncio.to_thread(d.watcher.check)
            if snapshot is not None:
                await d.apply(snapshot)

    # ---- polling ----------------------------------------------------------------------

    def _seconds_to_next_poll(self) -> float:
        d = self.d
        return due.seconds_to_next_poll(d.engine, [s.id for s in d.config.sources.enabled], d.clock.now(), POLL_CAP)

    async def poll(self) -> None:
        d, waits = self.d, self.waits
        while not waits.stop.is_set():
            delay = self._seconds_to_next_poll()
            if delay > 0:
                await waits.sleep(coalesced(delay), waits.poll)
                if waits.stop.is_set():
                    return
                if not waits.poll.is_set() and self._seconds_to_next_poll() > 0:
                    continue
            waits.poll.clear()
            async with d.polling:
                await self._poll_once()
            if not self._last_polled:
                # Due sources exist but other pollers hold them all: look again shortly.
                await waits.sleep_real(IDLE_CLAIM_WAIT, waits.poll)

    async def _poll_once(self) -> None:
        d = self.d
        summary = await d.poller.poll(source_ids=None, due_only=True)  # logs its own cycle line
        d.counters.poll_cycles += 1
        d.metrics.record_poll(summary)
        self._last_polled = len(summary.results)
        status.log_failing_sources(summary.results)
        if summary.queued or summary.hits:
            self.waits.deliver.set()

    # ---- sending ----------------------------------------------------------------------

    def _default_tz(self) -> str | None:
        return self.d.settings.schedule_tz(self.d.config.deliveries)

    async def listen(self) -> None:
        """PostgreSQL: a poller in another process queued deliveries -> send now, not at the
        next periodic look (bot/storage/notify.py)."""
        from bot.storage.notify import listen_outbox

        await listen_outbox(self.d.engine, self.waits.deliver.set)

    async def deliver(self) -> None:
        d, waits = self.d, self.waits
        first = True
        while not waits.stop.is_set():
            woken = waits.deliver.is_set()
            waits.deliver.clear()
            if first or woken or due.has_delivery_work(d.engine, self._default_tz(), d.clock.now()):
                first = False
                async with d.sending:
                    report = await d.sender.run_once()
                d.metrics.record_deliveries(sent=report.sent, failed=report.failed)
            await waits.sleep(due.seconds_to_next_delivery(d.engine, self._default_tz(), d.clock.now(), DELIVER_EVERY),
                              waits.deliver)

    # ---- the leader's schedules ---------------------------------------------------------

    async def email(self) -> None:
        d = self.d
        if not await self.waits.until_leader():
            return
        while not self.waits.stop.is_set():
            weekly = d.weekly   # rebuilt on reload
            if weekly is None:  # built for every process whose role leads
                return
            if weekly.enabled and d.config.deliveries.email.weekly.lists:
                report = await weekly.send_due()
                if report.sent or not report.ok:
                    log.info("weekly email sent=%s ok=%s", report.sent, report.ok)
            await self.waits.sleep(seconds_to_next_email(weekly, d.clock.now()))

    async def report(self) -> None:
        """The coordinator report to the admins once per ISO week (bot/runtime/weekly_report.py)."""
        from bot.runtime import weekly_report

        d = self.d
        if not await self.waits.until_leader():
            return
        while not self.waits.stop.is_set():
            if d.sender.admin_ids:   # the report is for them only
                await weekly_report.send_due(d.engine, d.sender.notify_admins, d.clock.now(),
                                             self._default_tz(), [s.id for s in d.config.sources.enabled])
            await self.waits.sleep(weekly_report.seconds_to_next(self._default_tz(), d.clock.now(), REPORT_EVERY))

    async def retention(self) -> None:
        d = self.d
        if not await self.waits.until_leader():
            return
        await self.waits.sleep(RETENTION_FIRST)
        while not self.waits.stop.is_set():
            await asyncio.to_thread(purge, d.engine, retention_of(d.config.deliveries), d.clock.now())
            await self.waits.sleep(RETENTION_EVERY)
