"""One pass over the due alerts: reserve them, and send them to different chats at once
within Telegram's flood limits, each chat's in queue order.

Owns: the dispatcher of a pass (which chat's message leaves next, how many are in flight,
when to reserve more, which chats wait for the next pass) and giving back the reservations
it did not use. Must not: claim, send or mark a row itself (the `send` it is given does,
through the sender), format messages, or pick the rows (bot.storage.leases.claim_alerts).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable

from sqlalchemy import Engine, select

from bot.delivery.telegram.answers import Outcome
from bot.delivery.telegram.flood import FloodLimiter
from bot.storage import leases
from bot.storage.schema import destinations

if TYPE_CHECKING:
    from bot.delivery.destinations import Destination
    from bot.delivery.outbox import QueuedAlert

SendAlert = Callable[["Destination", "QueuedAlert"], Awaitable[Outcome]]


class AlertPass:
    """The alerts one pass holds: per chat, in queue order, and the sends in flight.

    One dispatcher picks the chat whose next message may leave first (FloodLimiter: 1/s
    into one chat, 20/min into a group, 30/s overall), records the send and starts it as a
    task; at most one message per chat is in flight, so a chat's alerts leave in queue
    order. Rows are reserved ahead (leases.claim_alerts) whenever fewer than half a batch
    is in hand, so sending never pauses at a batch boundary. The clock only moves (the
    dispatcher sleeps) once the sends in flight have answered or the wait is over, so
    the send times recorded are the times Telegram sees."""

    def __init__(self, engine: Engine, send: SendAlert, *, owner: str, limiter: FloodLimiter,
                 clock: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]],
                 lease: timedelta, lease_clock: Callable[[], datetime], batch: int, max_inflight: int):
        self.engine, self.send, self.owner, self.limiter = engine, send, owner, limiter
        self.clock, self.sleep, self.lease, self.lease_clock = clock, sleep, lease, lease_clock
        self.batch, self.max_inflight = batch, max_inflight
        self.pending: dict[int, deque[QueuedAlert]] = defaultdict(deque)
        self.dests: dict[int, Destination] = {}
        self.inflight: dict[asyncio.Future[Outcome], int] = {}
        self.sent_at: dict[asyncio.Future[Outcome], float] = {}   # as recorded
        self.busy: set[int] = set()        # chats with a message in flight
        self.stopped: set[int] = set()     # chats that wait for the next pass
        self.seen: set[int] = set()        # row ids reserved this pass
        self.more = True                   # the last reservation found rows

    def in_hand(self) -> int:
        return sum(len(q) for q in self.pending.values())

    async def run(self) -> None:
        """Send every due alert; a cancelled pass lets the messages in flight finish and be
        recorded, and gives back the rows it reserved but did not start."""
        try:
            self._reserve(first=True)
            while self.pending or self.inflight:
                if self.more and self.in_hand() < self.batch // 2:
                    self._reserve(first=False)
                now = self.clock().timestamp()
                ready = [d for d, q in self.pending.items() if q and d not in self.busy]
                if ready and len(self.inflight) < self.max_inflight:
                    dest_id = min(ready, key=lambda d: (self.limiter.ready_at(self.dests[d].chat_id, now),
                                                        self.pending[d][0].id))
                    at = self.limiter.ready_at(self.dests[dest_id].chat_id, now)
                    if at <= now:
                        self._start(dest_id)
                        continue
                    await self._wait(at)
                elif self.inflight:
                    await self._wait(None)
                else:
                    # nothing sendable in hand: the rows left belong to chats stopped this pass
                    break
        finally:
            if self.inflight:
                # cancelled (SIGTERM, shutdown): the messages in flight finish and are recorded
                await asyncio.wait(list(self.inflight))
            leftover = [r.id for q in self.pending.values() for r in q]
            if leftover:
                with self.engine.begin() as conn:
                    leases.release_alerts(conn, self.owner, leftover)

    def _reserve(self, *, first: bool) -> None:
        """Reserve the next due alerts (the first call of a pass also takes back the rows this
        sender still holds); new rows join their chat's queue, in id order."""
        with self.engine.begin() as conn:
            rows = leases.claim_alerts(conn, self.owner, self.clock(), limit=self.batch, lease=self.lease,
                                       lease_now=self.lease_clock(), held=first)
            fresh = [r for r in rows if r.id not in self.seen]
            new_dests = {r.destination_id for r in fresh}
            if new_dests:
                for d in conn.execute(select(destinations).where(destinations.c.id.in_(new_dests))):
                    self.dests[d.id] = d
        self.more = bool(fresh)
        stopped = []
        for r in fresh:
            self.seen.add(r.id)
            if r.destination_id in self.stopped:
                stopped.append(r.id)
            else:
                self.pending[r.destination_id].append(r)
        if stopped:
            with self.engine.begin() as conn:
                leases.release_alerts(conn, self.owner, stopped)

    def _start(self, dest_id: int) -> None:
        row = self.pending[dest_id].popleft()
        dest = self.dests[dest_id]
        self.busy.add(dest_id)
        sent_at = self.clock().timestamp()
        self.limiter.record(dest.chat_id, sent_at)   # before any other send starts
        task = asyncio.ensure_future(self.send(dest, row))
        self.inflight[task] = dest_id
        self.sent_at[task] = sent_at

    async def _wait(self, until: float | None) -> None:
        """Until a send in flight answers or `until` (clock seconds) comes; the clock is
        slept on only when nothing is in flight."""
        if self.inflight:
            timeout = None if until is None else max(0.0, until - self.clock().timestamp())
            done, _ = await asyncio.wait(list(self.inflight), timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._finished(task)
            return
        if until is not None:
            wait = until - self.clock().timestamp()
            if wait > 0:
                await self.sleep(wait)

    def _finished(self, task: asyncio.Future[Outcome]) -> None:
        dest_id = self.inflight.pop(task)
        self.busy.discard(dest_id)
        self.limiter.answered(self.dests[dest_id].chat_id, self.sent_at.pop(task), self.clock().timestamp())
        outcome = task.result()
        if outcome in ("sent", "failed"):
            return                         # a refused message is recorded; the chat goes on
        # retry later, flood wait, chat gone or moved: its later rows wait for the next pass
        self.stopped.add(dest_id)
        rest = [r.id for r in self.pending.pop(dest_id, ())]
        if rest:
            with self.engine.begin() as conn:
                leases.release_alerts(conn, self.owner, rest)


__all__ = ["AlertPass", "SendAlert"]
