"""The sender: drains the outbox into Telegram (or the console) within the flood limits.

Owns: claiming queued deliveries, pacing (per chat, per group/channel, overall), the error
policy driven by python-telegram-bot's typed errors, due digests, and marking rows sent with
Telegram's message id. Must not decide what matches or who subscribed (the outbox did),
nor build message layout (bot.delivery.telegram.format does).

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
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from sqlalchemy import Engine, select, update

from bot.stories import feedback
from bot.delivery import outbox
from bot.delivery.telegram.digest import is_due, load_entries, rank_entries, resolve_tz, theme_titles
from bot.delivery.telegram.flood import FloodLimiter, FloodLimits, flood_wait_seconds
from bot.delivery.telegram.format import Message, render_alert, render_digest
from bot.storage import leases
from bot.storage.schema import destinations

from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken,
                            NetworkError, RetryAfter, TelegramError)

if TYPE_CHECKING:
    from bot.config.deliveries import DeliveriesFile

log = logging.getLogger(__name__)


RULE_CACHE = timedelta(minutes=10)
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


@dataclass
class _AlertRun:
    """The alerts one pass holds: per chat, in queue order, and the sends in flight."""

    pending: dict[int, deque] = field(default_factory=lambda: defaultdict(deque))
    dests: dict[int, Any] = field(default_factory=dict)
    inflight: dict["asyncio.Future[str]", int] = field(default_factory=dict)
    sent_at: dict["asyncio.Future[str]", float] = field(default_factory=dict)   # as recorded
    busy: set[int] = field(default_factory=set)        # chats with a message in flight
    stopped: set[int] = field(default_factory=set)     # chats that wait for the next pass
    seen: set[int] = field(default_factory=set)        # row ids reserved this pass
    more: bool = True                                  # the last reservation found rows

    def in_hand(self) -> int:
        return sum(len(q) for q in self.pending.values())


class Sender:
    def __init__(self, engine: Engine, transport: Any, *, themes: Any = None,
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
        self._rule_votes: tuple[datetime, dict] | None = None
        self.default_tz, self.admin_ids = default_tz, frozenset(admin_ids)
        self.clock, self.sleep = clock, sleep
        self.limiter = FloodLimiter(limits)
        self.per_theme, self.max_backoff, self.stale_after = per_theme, max_backoff, stale_after
        self.owner = f"sender-{uuid.uuid4().hex[:8]}"
        self.lease, self.lease_clock, self.digests, self.alerts = lease, lease_clock, digests, alerts
        self.max_inflight, self.batch = max_inflight, batch
        self.report = SendReport()
        self._seeded = False
        self._digest_retry: datetime | None = None

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
            leases.recover_deliveries(conn, lease_now=self.lease_clock(), requeue_at=started)
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

    async def run_forever(self, interval: float = 5.0, stop: asyncio.Event | None = None) -> None:
        """The daemon's loop: a pass every `interval` seconds until `stop` is set or cancelled."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except InvalidToken:
                log.error("Telegram rejected the bot token; sending stopped (check TELEGRAM_BOT_TOKEN)")
                raise
            except Exception:  # noqa: BLE001 - one bad pass must not end the daemon
                log.exception("delivery pass failed; retrying in %.0fs", interval)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass

    def _seed_limiter(self, conn: Any, now: datetime) -> None:
        """A restarted sender remembers the last minute of sends, so a quick restart does
        not burst into a chat that just got a message. Every attempt counts, as in the
        limiter: a row's `sent_at` is set when it is claimed for sending, so a message in
        flight when a sender was killed (-9) counts too, though its row went back to the
        queue (Telegram may well have taken it)."""
        from bot.storage.schema import deliveries

        window = timedelta(seconds=self.limiter.limits.group_window)
        recent = conn.execute(select(destinations.c.chat_id, deliveries.c.message_id, deliveries.c.sent_at)
                              .join(destinations, destinations.c.id == deliveries.c.destination_id)
                              .where(deliveries.c.sent_at > now - window)
                              .distinct().order_by(deliveries.c.sent_at)).all()
        for chat, _mid, sent_at in recent:
            self.limiter.record(chat, sent_at.timestamp())
        self._seeded = True

    def _next_retry(self) -> datetime | None:
        """When the next alert, or an interrupted digest, can be tried again."""
        with self.engine.connect() as conn:
            due, next_at = outbox.alert_queue(conn, self.clock())
        candidates = [t for t in (self.clock() if due else next_at, self._digest_retry) if t is not None]
        self._digest_retry = None
        return min(candidates, default=None)

    def _count_queued_alerts(self) -> int:
        from sqlalchemy import func
        from bot.storage.schema import deliveries

        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(deliveries)
                                .join(destinations, destinations.c.id == deliveries.c.destination_id)
                                .where(deliveries.c.status == "queued", deliveries.c.kind == "alert",
                                       destinations.c.active.is_(True))).scalar() or 0

    # --- alerts --------------------------------------------------------------------------
    async def send_alerts(self) -> None:
        """Send every due alert, to different chats at once within the flood limits.

        One dispatcher picks the chat whose next message may leave first (FloodLimiter: 1/s
        into one chat, 20/min into a group, 30/s overall), records the send and starts it as a
        task; at most one message per chat is in flight, so a chat's alerts leave in queue
        order. Rows are reserved ahead (leases.claim_alerts) whenever fewer than half a batch
        is in hand, so sending never pauses at a batch boundary. The clock only moves (the
        dispatcher sleeps) once the sends in flight have answered or the wait is over, so
        the send times recorded are the times Telegram sees."""
        run = _AlertRun()
        try:
            self._reserve(run, first=True)
            while run.pending or run.inflight:
                if run.more and run.in_hand() < self.batch // 2:
                    self._reserve(run, first=False)
                now = self.clock().timestamp()
                ready = [d for d, q in run.pending.items() if q and d not in run.busy]
                if ready and len(run.inflight) < self.max_inflight:
                    dest_id = min(ready, key=lambda d: (self.limiter.ready_at(run.dests[d].chat_id, now),
                                                        run.pending[d][0].id))
                    at = self.limiter.ready_at(run.dests[dest_id].chat_id, now)
                    if at <= now:
                        self._start(run, dest_id)
                        continue
                    await self._wait(run, at)
                elif run.inflight:
                    await self._wait(run, None)
                else:
                    # nothing sendable in hand: the rows left belong to chats stopped this pass
                    break
        finally:
            if run.inflight:
                # cancelled (SIGTERM, shutdown): the messages in flight finish and are recorded
                await asyncio.wait(list(run.inflight))
            leftover = [r.id for q in run.pending.values() for r in q]
            if leftover:
                with self.engine.begin() as conn:
                    leases.release_alerts(conn, self.owner, leftover)

    def _reserve(self, run: "_AlertRun", *, first: bool) -> None:
        """Reserve the next due alerts (the first call of a pass also takes back the rows this
        sender still holds); new rows join their chat's queue, in id order."""
        with self.engine.begin() as conn:
            rows = leases.claim_alerts(conn, self.owner, self.clock(), limit=self.batch, lease=self.lease,
                                       lease_now=self.lease_clock(), held=first)
            fresh = [r for r in rows if r.id not in run.seen]
            new_dests = {r.destination_id for r in fresh}
            if new_dests:
                for d in conn.execute(select(destinations).where(destinations.c.id.in_(new_dests))):
                    run.dests[d.id] = d
        run.more = bool(fresh)
        stopped = []
        for r in fresh:
            run.seen.add(r.id)
            if r.destination_id in run.stopped:
                stopped.append(r.id)
            else:
                run.pending[r.destination_id].append(r)
        if stopped:
            with self.engine.begin() as conn:
                leases.release_alerts(conn, self.owner, stopped)

    def _start(self, run: "_AlertRun", dest_id: int) -> None:
        row = run.pending[dest_id].popleft()
        dest = run.dests[dest_id]
        run.busy.add(dest_id)
        sent_at = self.clock().timestamp()
        self.limiter.record(dest.chat_id, sent_at)   # before any other send starts
        task = asyncio.ensure_future(self._alert(dest, row, paced=True))
        run.inflight[task] = dest_id
        run.sent_at[task] = sent_at

    async def _wait(self, run: "_AlertRun", until: float | None) -> None:
        """Until a send in flight answers or `until` (clock seconds) comes; the clock is
        slept on only when nothing is in flight."""
        if run.inflight:
            timeout = None if until is None else max(0.0, until - self.clock().timestamp())
            done, _ = await asyncio.wait(list(run.inflight), timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._finished(run, task)
            return
        if until is not None:
            wait = until - self.clock().timestamp()
            if wait > 0:
                await self.sleep(wait)

    def _finished(self, run: "_AlertRun", task: "asyncio.Future[str]") -> None:
        dest_id = run.inflight.pop(task)
        run.busy.discard(dest_id)
        self.limiter.answered(run.dests[dest_id].chat_id, run.sent_at.pop(task), self.clock().timestamp())
        outcome = task.result()
        if outcome in ("sent", "failed"):
            return                         # a refused message is recorded; the chat goes on
        # retry later, flood wait, chat gone or moved: its later rows wait for the next pass
        run.stopped.add(dest_id)
        rest = [r.id for r in run.pending.pop(dest_id, ())]
        if rest:
            with self.engine.begin() as conn:
                leases.release_alerts(conn, self.owner, rest)

    async def _shielded(self, coro: Awaitable[str]) -> str:
        """Let a message in flight finish and be recorded even when the sender is cancelled."""
        task = asyncio.ensure_future(coro)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                await asyncio.wait([task])
            raise

    async def _alert(self, dest: Any, row: Any, *, paced: bool = False) -> str:
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

    async def _send(self, dest: Any, msg: Message, ids: list[int], attempts: int, *,
                    paced: bool = False) -> str:
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
            if leases.claim_for_send(conn, ids, self.owner, lease=self.lease,
                                     lease_now=self.lease_clock(), attempted_at=now) != len(ids):
                outbox.release_owner(conn, self.owner, ids)
                return "retry"          # another sender took them
        if not paced:
            self.limiter.record(chat, now.timestamp())
        try:
            message_id = await self.transport.send(dest, msg)
        except RetryAfter as exc:
            after = flood_wait_seconds(exc.retry_after)
            self.report.flood_waits += 1
            self.limiter.pause(chat, now.timestamp() + after)
            log.info("flood wait chat=%s retry_after=%.0fs", chat, after)
            with self.engine.begin() as conn:
                outbox.requeue(conn, ids, now + timedelta(seconds=after), count_attempt=False)
            return "flood"
        except ChatMigrated as exc:
            new = str(exc.new_chat_id)
            log.warning("chat migrated from=%s to=%s; following it", chat, new)
            with self.engine.begin() as conn:
                outbox.move_destination(conn, dest.id, new)
                outbox.requeue(conn, ids, now, count_attempt=False)
            self.report.migrated.append((chat, new))
            return "moved"
        except Forbidden as exc:
            reason = exc.message if exc.message.startswith("Forbidden") else f"Forbidden: {exc.message}"
            with self.engine.begin() as conn:
                outbox.deactivate(conn, dest.id, reason, now)
            self.report.deactivated.append(chat)
            log.warning("destination deactivated chat=%s name=%r reason=%r", chat, dest.name, reason)
            await self._tell_admins(f"newsbot stopped sending to {dest.name or chat} (chat {chat}): "
                                    f"{reason}. Run /start there to resume.")
            return "gone"
        except InvalidToken:
            with self.engine.begin() as conn:
                outbox.requeue(conn, ids, now, count_attempt=False)
            raise
        except BadRequest as exc:
            with self.engine.begin() as conn:
                outbox.mark_failed(conn, ids, f"BadRequest: {exc.message}")
            self.report.failed += len(ids)
            log.warning("message refused chat=%s rows=%s reason=%r", chat, ids, exc.message)
            return "failed"
        except (NetworkError, TelegramError, OSError) as exc:
            return self._backoff(ids, attempts + 1, now, f"{type(exc).__name__}: {exc}")
        with self.engine.begin() as conn:
            outbox.mark_sent(conn, ids, message_id, self.clock())
        self.report.messages += 1
        self.report.sent += len(ids)
        return "sent"

    def _backoff(self, ids: list[int], attempt: int, now: datetime, error: str) -> str:
        """A temporary failure: retried forever, with capped backoff. Only a permanent answer
        (403, a 400 that is not a migration) fails a delivery; an alert that stays queued too
        long moves into the digest (outbox.demote_stale_alerts)."""
        delay = min(self.max_backoff, 2.0 ** min(attempt, 30))
        with self.engine.begin() as conn:
            outbox.requeue(conn, ids, now + timedelta(seconds=delay), error)
        log.info("send failed rows=%s attempt=%d retry_in=%.0fs error=%s", ids, attempt, delay, error)
        return "retry"

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

    # --- digests -------------------------------------------------------------------------
    def _rule_feedback(self, conn: Any) -> dict:
        """Votes per rule, read once per RULE_CACHE of clock time: a pass of many digests
        scans the hits once, and a vote cast meanwhile moves a rule by one vote at most."""
        from bot.stories.feedback import rule_votes
        from bot.stories.ranking import RULE_VOTES_WINDOW

        now = self.clock()
        if self._rule_votes is None or not timedelta(0) <= now - self._rule_votes[0] < RULE_CACHE:
            self._rule_votes = (now, rule_votes(conn, now - RULE_VOTES_WINDOW))
        return self._rule_votes[1]

    async def send_due_digests(self) -> None:
        now = self.clock()
        with self.engine.connect() as conn:
            dests = conn.execute(select(destinations).where(
                destinations.c.active.is_(True), destinations.c.digest != "off")).all()
        for dest in dests:
            if is_due(dest, now, self.default_tz):
                await self.send_digest(dest.id)

    async def send_digest(self, dest_id: int, *, since: datetime | None = None) -> int:
        """Send the queued digest of one destination now (also `/digest`). Returns messages sent."""
        with self.engine.begin() as conn:
            dest = conn.execute(select(destinations).where(destinations.c.id == dest_id)).one()
            rows = outbox.queued_digest_rows(conn, dest_id, since)
            entries = load_entries(conn, [(r.id, r.hit_id) for r in rows], self.source_names,
                                   destination_id=dest_id)
            rank_entries(conn, entries, self.clock(), weights=self.weights,
                         rule_feedback=self._rule_feedback(conn))
        tz = resolve_tz(dest.timezone, self.default_tz)
        parts = render_digest(entries, self.titles, per_theme=self.per_theme, tz=tz,
                              heading=f"Digest · {self.clock().astimezone(tz):%d %b %Y}")
        attempts = {r.id: r.attempts for r in rows}
        sent = 0
        complete = True
        for part in parts:
            tries = max((attempts.get(i, 0) for i in part.delivery_ids), default=0)
            outcome = await self._shielded(self._send(dest, part, part.delivery_ids, tries))
            if outcome == "sent":
                sent += 1
            elif outcome != "failed":
                # retry later: the rest stays queued and the digest stays due
                complete = False
                retry = datetime.fromtimestamp(self.limiter.ready_at(dest.chat_id, self.clock().timestamp()),
                                               timezone.utc)
                if outcome == "retry":
                    retry = max(retry, self.clock() + timedelta(seconds=min(self.max_backoff, 2.0 ** min(tries + 1, 30))))
                self._digest_retry = retry if self._digest_retry is None else min(self._digest_retry, retry)
                break
        if complete:
            with self.engine.begin() as conn:
                conn.execute(update(destinations).where(destinations.c.id == dest_id)
                             .values(last_digest_at=self.clock()))
        if sent:
            self.report.digests += 1
        return sent
