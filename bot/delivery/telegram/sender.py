"""The sender: drains the outbox into Telegram (or the console) within the flood limits.

Owns: a delivery pass (recover a dead sender's rows, demote stale alerts, send the alerts,
then the due digests, report), one send (claim, pace, send, mark the rows sent with
Telegram's message id, or apply the verdict on a refusal), and telling the admins. Its
parts: the alert dispatcher that sends to many chats at once (bot.delivery.telegram.dispatch),
the due digests (bot.delivery.telegram.digest_pass), the verdict on each of Telegram's errors
(bot.delivery.telegram.answers). Must not decide what matches or who subscribed (the outbox
did), build message layout (bot.delivery.telegram.format), or change a row's state or a
destination except through bot.delivery.outbox and bot.delivery.destinations: no SQL here.

Exactly once: a row is claimed ('sending', committed) before its message goes out and marked
'sent' right after Telegram answers. A cancelled sender finishes the message in flight and
records it before stopping. Only a hard kill (or a lost answer) between Telegram accepting a
message and the commit of 'sent' can repeat the messages in flight, at most one per chat,
once: see README "Telegram".

Time is injected (`clock` -> aware UTC datetime, `sleep(seconds)`), so tests run hours of
flood-limited sending in milliseconds.

Several senders (`newsbot run --role sender`, on any machines) share one outbox: each pass
reserves the due alerts it will send with a lease (bot.storage.leases.claim_alerts: a chat's
rows go to one sender), and the claim before each message is still the compare-and-set
that makes delivery exactly-once. Leases run on `lease_clock` (real time): they guard
against real processes dying. `digests=False` leaves digests to the leader process,
`alerts=False` leaves alerts to the senders (the leader of `--role bot`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable, Mapping

from sqlalchemy import Connection, Engine

from bot.stories import feedback
from bot.delivery import destinations, outbox
from bot.delivery.telegram.answers import Outcome, Verdict, judge
from bot.delivery.telegram.digest import load_entries, resolve_tz, theme_titles
from bot.delivery.telegram.digest_pass import DigestPass
from bot.delivery.telegram.dispatch import AlertPass
from bot.delivery.telegram.flood import FloodLimiter, FloodLimits
from bot.delivery.telegram.format import Message, render_alert
from bot.delivery.telegram.api import Transport
from bot.storage import leases

from telegram.error import TelegramError

if TYPE_CHECKING:
    from bot.config.deliveries import DeliveriesFile
    from bot.config.themes import ThemeSet
    from bot.delivery.destinations import Destination
    from bot.delivery.outbox import QueuedAlert

log = logging.getLogger(__name__)

# A temporary failure (network, 5xx) is retried forever, at most this many seconds apart.
MAX_BACKOFF = 600.0
# An alert still queued this long after it was queued goes into the digest instead
# (deliveries.yaml `telegram.stale_after`).
STALE_AFTER = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SendReport:
    messages: int = 0            # messages Telegram accepted
    sent: int = 0                # delivery rows marked sent
    failed: int = 0              # rows refused for good (a 400 that is not a migration)
    retrying: int = 0            # transient errors, still queued
    flood_waits: int = 0
    deactivated: list[str] = field(default_factory=list)
    migrated: list[tuple[str, str]] = field(default_factory=list)
    digests: int = 0

    @property
    def had_failures(self) -> bool:
        return bool(self.failed or self.retrying or self.deactivated)


class Sender:
    def __init__(self, engine: Engine, transport: Transport, *, themes: ThemeSet | None = None,
                 source_names: Mapping[str, str] | None = None, default_tz: str | None = None,
                 admin_ids: frozenset[int] | set[int] = frozenset(),
                 clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 limits: FloodLimits = FloodLimits(), per_theme: int = 8,
                 max_backoff: float = MAX_BACKOFF, stale_after: timedelta | None = STALE_AFTER,
                 lease: timedelta = leases.DEFAULT_LEASE,
                 lease_clock: Callable[[], datetime] = leases.wall_clock, digests: bool = True,
                 alerts: bool = True, weights: Mapping[str, float] | None = None,
                 max_inflight: int = 24, batch: int = 1000):
        self.engine, self.transport = engine, transport
        self.titles = theme_titles(themes)
        self.source_names = dict(source_names or {})
        self.weights = dict(weights or {})        # sources.yaml `weight`, for digest ranking
        self.default_tz, self.admin_ids = default_tz, frozenset(admin_ids)
        self.clock, self.sleep = clock, sleep
        self.limiter = FloodLimiter(limits)
        self.per_theme, self.max_backoff, self.stale_after = per_theme, max_backoff, stale_after
        self.owner = f"sender-{uuid.uuid4().hex[:8]}"
        self.lease, self.lease_clock, self.digests, self.alerts = lease, lease_clock, digests, alerts
        self.max_inflight, self.batch = max_inflight, batch
        self.report = SendReport()
        self._seeded = False
        self._digests = DigestPass(engine, lambda dest, msg, ids, tries: self._shielded(self._send(dest, msg, ids, tries)),
                                   limiter=self.limiter, clock=clock, titles=self.titles,
                                   source_names=self.source_names, weights=self.weights, default_tz=default_tz,
                                   per_theme=per_theme, max_backoff=max_backoff)

    @staticmethod
    def stale_after_of(deliveries_cfg: DeliveriesFile | None) -> timedelta:
        """deliveries.yaml `telegram.stale_after` (24h when there is no file)."""
        from bot.config.durations import parse_duration

        return parse_duration(deliveries_cfg.telegram.stale_after) if deliveries_cfg is not None else STALE_AFTER

    def __repr__(self) -> str:
        return f"Sender(owner={self.owner}, transport={self.transport.kind})"

    async def __aenter__(self) -> "Sender":
        await self.transport.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with self.engine.begin() as conn:
            outbox.release_owner(conn, self.owner)
            leases.release_alerts(conn, self.owner)
        await self.transport.__aexit__(*exc)

    # --- the loop ------------------------------------------------------------------------
    async def run_once(self, *, wait_retries: bool = False, max_wait: float = 3600.0) -> SendReport:
        """Send the due alerts, then the due digests. With `wait_retries`, keep going (sleeping
        on the injected clock) until no alert is queued or `max_wait` seconds passed."""
        self.report = SendReport()
        started = self.clock()
        with self.engine.begin() as conn:
            if not self._seeded:   # before recovering: rows a killed sender left 'sending' count
                self._seed_limiter(conn, started)
            outbox.recover_deliveries(conn, lease_now=self.lease_clock(), requeue_at=started)
            if self.stale_after is not None and self.alerts:
                outbox.demote_stale_alerts(conn, started - self.stale_after, started)
        while True:
            before = (self.report.messages, self.report.failed, self.report.flood_waits, self.report.digests)
            if self.alerts:
                await self.send_alerts()
            if self.digests:
                await self.send_due_digests()
            if not wait_retries:
                break
            nxt = self._next_retry()
            if nxt is None:
                break
            wait = (nxt - self.clock()).total_seconds()
            if (nxt - started).total_seconds() > max_wait:
                break
            idle = before == (self.report.messages, self.report.failed, self.report.flood_waits, self.report.digests)
            if wait <= 0 and idle:
                wait = 1.0     # due rows another live sender holds: look again in a second
            if wait > 0:
                await self.sleep(wait)
        self.report.retrying = self._count_queued_alerts()
        r = self.report
        # An idle pass runs every minute: keep INFO for passes that did or tried something.
        busy = r.messages or r.sent or r.failed or r.retrying or r.digests or r.deactivated
        log.log(logging.INFO if busy else logging.DEBUG,
                "delivery run messages=%d sent=%d failed=%d retrying=%d flood_waits=%d deactivated=%d digests=%d",
                 self.report.messages, self.report.sent, self.report.failed, self.report.retrying,
                 self.report.flood_waits, len(self.report.deactivated), self.report.digests)
        return self.report

    def _seed_limiter(self, conn: Connection, now: datetime) -> None:
        """A restarted sender remembers the last minute of sends, so a quick restart does
        not burst into a chat that just got a message. Every attempt counts, as in the
        limiter: a row's `sent_at` is set when it is claimed for sending, so a message in
        flight when a sender was killed (-9) counts too, though its row went back to the
        queue (Telegram may well have taken it)."""
        window = timedelta(seconds=self.limiter.limits.group_window)
        for chat, sent_at in outbox.recent_attempts(conn, now - window):
            self.limiter.record(chat, sent_at.timestamp())
        self._seeded = True

    def _next_retry(self) -> datetime | None:
        """When the next alert, or an interrupted digest, can be tried again."""
        with self.engine.connect() as conn:
            due, next_at = outbox.alert_queue(conn, self.clock())
        candidates = [t for t in (self.clock() if due else next_at, self._digests.retry_at) if t is not None]
        self._digests.retry_at = None
        return min(candidates, default=None)

    def _count_queued_alerts(self) -> int:
        with self.engine.connect() as conn:
            return outbox.count_queued_alerts(conn)

    # --- alerts --------------------------------------------------------------------------
    async def send_alerts(self) -> None:
        """Send every due alert, to different chats at once within the flood limits
        (bot.delivery.telegram.dispatch.AlertPass)."""
        await AlertPass(self.engine, lambda dest, row: self._alert(dest, row, paced=True), owner=self.owner,
                        limiter=self.limiter, clock=self.clock, sleep=self.sleep, lease=self.lease,
                        lease_clock=self.lease_clock, batch=self.batch, max_inflight=self.max_inflight).run()

    async def _shielded(self, coro: Awaitable[Outcome]) -> Outcome:
        """Let a message in flight finish and be recorded even when the sender is cancelled."""
        task = asyncio.ensure_future(coro)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                await asyncio.wait([task])
            raise

    async def _alert(self, dest: Destination, row: QueuedAlert, *, paced: bool = False) -> Outcome:
        with self.engine.begin() as conn:
            entries = load_entries(conn, [(row.id, row.hit_id)], self.source_names)
            if not entries:
                outbox.mark_failed(conn, [row.id], "hit no longer stored")
                self.report.failed += 1
                return "failed"
        entry = entries[0]
        msg = render_alert(entry, self.titles.get(entry.theme, entry.theme),
                           resolve_tz(dest.timezone, self.default_tz))
        msg.buttons = feedback.buttons(entry.hit_id)   # members' votes tune the rules
        return await self._send(dest, msg, [row.id], row.attempts, paced=paced)

    async def _send(self, dest: Destination, msg: Message, ids: list[int], attempts: int, *,
                    paced: bool = False) -> Outcome:
        """Claim, pace, send, mark. Returns sent|failed|retry|flood|gone|moved. `paced`: the
        caller waited for the flood limits and recorded this send already."""
        chat = dest.chat_id
        if not paced:
            ready = self.limiter.ready_at(chat, self.clock().timestamp())
            wait = ready - self.clock().timestamp()
            if wait > 0:
                await self.sleep(wait)
        now = self.clock()
        with self.engine.begin() as conn:
            if outbox.claim_for_send(conn, ids, self.owner, lease=self.lease,
                                     lease_now=self.lease_clock(), attempted_at=now) != len(ids):
                outbox.release_owner(conn, self.owner, ids)
                return "retry"          # another sender took them
        if not paced:
            self.limiter.record(chat, now.timestamp())
        try:
            message_id = await self.transport.send(dest, msg)
        except (TelegramError, OSError) as exc:
            verdict = judge(exc, attempts + 1, self.max_backoff)
            outcome = await self._settle(dest, ids, now, verdict, attempts + 1)
            if verdict.fatal:
                raise
            return outcome
        with self.engine.begin() as conn:
            outbox.mark_sent(conn, ids, message_id, self.clock())
        self.report.messages += 1
        self.report.sent += len(ids)
        return "sent"

    async def _settle(self, dest: Destination, ids: list[int], now: datetime, verdict: Verdict,
                      attempt: int) -> Outcome:
        """Apply the error policy's verdict on a refused send (bot.delivery.telegram.answers):
        to the rows, the chat's pacing, the destination, the report and the log."""
        chat, outcome = dest.chat_id, verdict.outcome
        if outcome == "flood":
            self.report.flood_waits += 1
            self.limiter.pause(chat, now.timestamp() + verdict.retry_in)
            log.info("flood wait chat=%s retry_after=%.0fs", chat, verdict.retry_in)
        elif outcome == "moved":
            log.warning("chat migrated from=%s to=%s; following it", chat, verdict.new_chat)
        with self.engine.begin() as conn:
            if outcome == "gone":
                destinations.deactivate(conn, dest.id, verdict.error, now)
            elif outcome == "failed":
                outbox.mark_failed(conn, ids, verdict.error)
            else:       # flood, moved, retry: the rows are due again later
                if outcome == "moved":
                    destinations.move_destination(conn, dest.id, verdict.new_chat)
                outbox.requeue(conn, ids, now + timedelta(seconds=verdict.retry_in), verdict.error or None,
                               count_attempt=verdict.count_attempt)
        if outcome == "moved":
            self.report.migrated.append((chat, verdict.new_chat))
        elif outcome == "gone":
            self.report.deactivated.append(chat)
            log.warning("destination deactivated chat=%s name=%r reason=%r", chat, dest.name, verdict.error)
            await self._tell_admins(f"newsbot stopped sending to {dest.name or chat} (chat {chat}): "
                                    f"{verdict.error}. Run /start there to resume.")
        elif outcome == "failed":
            self.report.failed += len(ids)
            log.warning("message refused chat=%s rows=%s reason=%r", chat, ids, verdict.told)
        elif not verdict.fatal:
            log.info("send failed rows=%s attempt=%d retry_in=%.0fs error=%s", ids, attempt,
                     verdict.retry_in, verdict.error)
        return outcome

    async def notify_admins(self, text: str) -> int:
        """A plain message to every TELEGRAM_ADMIN_IDS user (not queued: best effort); how
        many it reached."""
        return await self._tell_admins(text)

    async def _tell_admins(self, text: str) -> int:
        reached = 0
        for admin in sorted(self.admin_ids):
            try:
                await self.transport.send_text(admin, text)
                reached += 1
            except TelegramError as exc:
                log.warning("could not tell admin %s: %s", admin, exc)
        return reached

    # --- digests (bot.delivery.telegram.digest_pass) -------------------------------------
    async def send_due_digests(self) -> None:
        for dest_id in self._digests.due():
            await self.send_digest(dest_id)

    async def send_digest(self, dest_id: int, *, since: datetime | None = None) -> int:
        """Send the queued digest of one destination now (also `/digest`). Returns messages sent."""
        sent = await self._digests.send_digest(dest_id, since=since)
        if sent:
            self.report.digests += 1
        return sent
