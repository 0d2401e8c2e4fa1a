"""`newsbot run`: one asyncio process that polls, delivers, emails and answers Telegram.

Why a small loop per duty and not APScheduler's AsyncIOScheduler: every due time already
lives in the database (`sources.next_poll_at`, `destinations.last_digest_at`, the
`email_sends` rows, `deliveries.next_attempt_at`), so after a restart the work that fell
due while the daemon was down is simply "due now" and runs once: coalescing and misfire
grace come free, without a job store to keep in step with the tables. And APScheduler 3
reads `datetime.now()` internally, so it cannot run on the injected, time-compressed clock
the end-to-end tests and the idle benchmark need (bot/runtime/clock.py). APScheduler's
`CronTrigger` is still used, for what it is good at: the next wall-clock digest and email
time of each destination in its own time zone, across daylight-saving changes.

Duties (one task each): the poll cycle (wakes at the earliest `next_poll_at`, plus jitter),
the delivery sender (wakes after a poll queued something, at each digest time, for retries,
and every minute), the weekly email, the weekly coordinator report to the admins (Monday
08:00, bot/runtime/weekly_report.py), retention (daily), live reload, the heartbeat of the
single-instance lock, the Telegram bot's long polling (with a token), and the /healthz
and /metrics endpoint.

Roles (`newsbot run --role`, PostgreSQL): `poller` polls, `sender` sends alerts, `bot` is the
leader's work (Telegram long polling, digests, weekly email and report, retention), `all` (default) is
everything. Any number of pollers and senders share the work through leases
(bot/storage/leases.py); the leader duties run only in the process holding the leader lock
(an advisory lock: a standby takes over within LEADER_EVERY seconds when the leader dies).
On SQLite one process owns the file (the single-instance lock), whatever its role.

Stopping (SIGTERM/SIGINT): polls and timers are cancelled (each stored item is its own
transaction); a send in progress gets a grace period to finish, then whatever it claimed
goes back to the queue. Owns: composition and timing. Must not: print or exit (the CLI
does), or know how a feed is parsed, a rule matched or a message formatted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import os
import signal
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from bot.runtime import due
from bot.runtime.clock import Clock
from bot.config.settings import Settings
from bot.errors import ConfigError
from bot.runtime.lock import InstanceLock
from bot.runtime.ops_http import OpsMetrics, OpsServer
from bot.runtime.reload import ConfigSnapshot, ConfigWatcher, load_config
from bot.runtime.retention import purge, retention_of
from bot.storage.dbfile import DatabaseFile

if TYPE_CHECKING:   # imported where used, at start-up: `newsbot --help` need not load them
    from sqlalchemy import Engine

    from bot.chat.telegram_bot import TelegramBot
    from bot.delivery.email.weekly import WeeklyEmail
    from bot.delivery.telegram.sender import Sender, SendReport
    from bot.ingest.fetch import Fetcher
    from bot.ingest.pipeline import Poller
    from bot.storage.leases import LeaderLock

log = logging.getLogger(__name__)

COALESCE = (10.0, 60.0)   # simulated seconds a poll may wait for neighbours (intervals are >= 5 min)
POLL_CAP = 300.0          # simulated seconds: look at the sources table at least this often
DELIVER_EVERY = 60.0      # simulated seconds between sender runs when nothing wakes it
EMAIL_EVERY = 3600.0      # simulated seconds between weekly-email checks (retries within catch-up)
RETENTION_EVERY = 86400.0
REPORT_EVERY = 3600.0     # simulated seconds between weekly-report checks at most
RETENTION_FIRST = 600.0   # after start-up, once the first polls are done
MIN_REAL_WAIT = 0.02      # real seconds: the shortest timer sleep
SEND_GRACE = 20.0         # real seconds an in-flight send may take to finish at shutdown
LEADER_EVERY = 5.0        # real seconds between attempts of a standby to become the leader
IDLE_CLAIM_WAIT = 1.0     # real seconds a poller waits when due sources are all leased by others
ROLES = {"all": ("poll", "deliver", "leader"), "poller": ("poll",), "sender": ("deliver",), "bot": ("leader",)}


class Daemon:
    """Build with settings and a clock, then `await run()`; `request_stop()` ends it."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, lock_ttl: float = 60.0,
                 reload_interval: float | None = None, send_grace: float = SEND_GRACE,
                 console: Any = None, role: str = "all", lease_ttl: float = 300.0):
        self.settings = settings
        self.role, self.duties, self.lease_ttl = role, ROLES[role], lease_ttl
        # Names this process in lease columns (pid included: an operator can tell who held what).
        self.worker = f"{role}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.leader: LeaderLock | None = None
        self._leading = asyncio.Event()
        self._last_polled = 0
        self.clock = clock or Clock()
        self.lock_ttl = lock_ttl
        # Real seconds between config checks: a few seconds in production, faster when
        # time is compressed so a test's edit is seen within a fraction of a second.
        self.reload_interval = reload_interval or max(0.25, min(3.0, 3.0 / self.clock.scale ** 0.5))
        self.send_grace = send_grace
        self.console = console
        self.exit_code = 0
        self.engine: Engine | None = None
        self.config: ConfigSnapshot | None = None
        self.watcher: ConfigWatcher | None = None
        self.metrics: OpsMetrics | None = None
        self.lock: InstanceLock | None = None
        self.db_file: DatabaseFile | None = None
        self.fetcher: Fetcher | None = None
        self.poller: Poller | None = None
        self.sender: Sender | None = None
        self.weekly: WeeklyEmail | None = None
        self.telegram: TelegramBot | None = None
        self._stop = asyncio.Event()
        self._wake_poll = asyncio.Event()
        self._wake_deliver = asyncio.Event()
        self._sending = asyncio.Lock()
        self._polling = asyncio.Lock()
        self._last_poll_ok: datetime | None = None
        self._started = time.monotonic()
        self._cycles = 0

    # ---- start-up ------------------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can fail with a clear error, before any task starts: the config
        (ConfigError), the database (migrated here), the lock (LockHeld)."""
        from bot.storage.db import open_database

        self.config = load_config(self.settings.config_dir, self.clock.now())
        # Import the whole pipeline now (story grouping pulls in datasketch and scipy: seconds),
        # not lazily inside the first poll, where it would stall the event loop.
        import bot.parse.feed  # noqa: F401
        import bot.parse.html  # noqa: F401
        import bot.ingest.pipeline  # noqa: F401
        import bot.stories.grouping  # noqa: F401
        from bot.tagging.countries import tag_countries

        tag_countries("Greece", "en")  # builds the country automaton (half a second) now
        self.engine = open_database(self.settings.database_url)
        self.db_file = DatabaseFile.of(self.engine)
        from bot.storage.leases import LeaderLock

        self.leader = LeaderLock(self.engine)
        if self.engine.dialect.name == "sqlite":   # one process per file; PostgreSQL shares
            self.lock = InstanceLock(self.engine, ttl=self.lock_ttl)
            self.lock.acquire()
            self._recover_leases()
        self.metrics = OpsMetrics(self.engine, self.clock)
        self.watcher = ConfigWatcher(self.settings.config_dir, self.config, on_error=self._config_broken,
                                     clock=self.clock)

    def _recover_leases(self) -> None:
        """We hold the single-instance lock, so every lease in the database was left by a daemon
        that died (kill -9, power loss): free them now instead of waiting out their wall-clock
        expiry. A row left 'sending' goes back to the queue (it may have reached Telegram once:
        the window the README describes)."""
        from datetime import timedelta

        from sqlalchemy import update

        from bot.delivery.outbox import recover_deliveries
        from bot.storage import leases
        from bot.storage.schema import sources

        with self.engine.begin() as conn:
            recover_deliveries(conn, lease_now=leases.wall_clock() + timedelta(days=365),
                               requeue_at=self.clock.now())
            conn.execute(update(sources).where(sources.c.lease_owner.is_not(None))
                         .values(lease_owner=None, lease_until=None))

    async def run(self) -> int:
        if self.engine is None:
            self.prepare()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop, sig)
        ops = None
        tasks: dict[str, asyncio.Task] = {}
        try:
            await self._build_components()
            if self.settings.http_address:
                ops = OpsServer(self.settings.http_address, self.engine, self.clock, self.metrics,
                                status=self._status, problem=self._db_file_problem)
                try:
                    await ops.start()
                except OSError as exc:  # port taken: monitoring is lost, news is not
                    log.error("cannot serve /healthz and /metrics on %s: %s (set NEWSBOT_HTTP)",
                              self.settings.http_address, exc.strerror or exc)
                    ops = None
            wanted = {"heartbeat": self.lock is not None, "reload": True, "poll": "poll" in self.duties,
                      "deliver": "deliver" in self.duties or "leader" in self.duties,
                      "email": "leader" in self.duties, "retention": "leader" in self.duties,
                      "report": "leader" in self.duties and bool(self.settings.admin_ids),
                      "leader": "leader" in self.duties,
                      "listen": "deliver" in self.duties and self.engine.dialect.name == "postgresql"}
            tasks = {name: asyncio.create_task(self._guard(name, fn), name=f"newsbot-{name}") for name, fn in (
                ("heartbeat", self._heartbeat_loop), ("reload", self._reload_loop),
                ("poll", self._poll_loop), ("deliver", self._deliver_loop),
                ("email", self._email_loop), ("retention", self._retention_loop),
                ("report", self._report_loop),
                ("leader", self._leader_loop), ("listen", self._listen_loop)) if wanted[name]}
            if "leader" in self.duties and await asyncio.to_thread(self.leader.try_acquire):
                await self._become_leader()
            log.info("daemon started role=%s leader=%s sources=%d themes=%d chats=%d clock=%s http=%s",
                     self.role, self._leading.is_set(), len(self.config.sources.enabled), len(self.config.themes.themes),
                     len(self.config.deliveries.telegram.chats), self.clock,
                     f"{ops.host}:{ops.port}" if ops else "off")
            await self._stop.wait()
            log.info("stopping: finishing in-flight sends")
        finally:
            await self._shutdown(tasks, ops)
        return self.exit_code

    def request_stop(self, sig: Any = None) -> None:
        if not self._stop.is_set():
            name = signal.Signals(sig).name if isinstance(sig, int) else "request"
            log.info("stop requested (%s)", name)
        self._stop.set()

    async def _guard(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        """A duty that crashes is logged and restarted after a pause; it never takes the
        others down."""
        while not self._stop.is_set():
            try:
                await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("%s loop failed; restarting it in 30 s", name)
                await self._wait(30.0 * self.clock.scale)

    async def _wait(self, simulated: float, *events: asyncio.Event) -> None:
        """Sleep `simulated` seconds, or less when stopping or when one of `events` is set."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, *events)]
        try:
            # A floor in real time: under a strongly compressed clock, minutes of simulated
            # time are microseconds and a loop must not spin on them.
            await asyncio.wait(waiters, timeout=max(MIN_REAL_WAIT, self.clock.real_seconds(simulated)),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    # ---- components (built from a config snapshot; rebuilt on reload) ----------------

    async def _build_components(self) -> None:
        from bot.ingest.fetch import Fetcher

        self._sync_destinations(self.config)
        self.fetcher = Fetcher(self._fetch_policy(self.config))
        await self.fetcher.__aenter__()
        self.poller = self._make_poller(self.config)
        self.sender = await self._open_sender(self.config)
        if "leader" in self.duties:
            self.weekly = self._weekly_email(self.config)

    def _weekly_email(self, config: ConfigSnapshot) -> WeeklyEmail:
        """From the validated snapshot: the email reads no file of its own."""
        from bot.delivery.email.weekly import WeeklyEmail

        return WeeklyEmail(self.engine, config.deliveries, config.themes, self.settings, self.clock,
                           source_names=config.sources.display_names(), weights=config.sources.weights())

    def _fetch_policy(self, config: ConfigSnapshot) -> Any:
        from bot.ingest.fetch import FetchPolicy

        d = config.sources.defaults
        kwargs: dict[str, Any] = dict(timeout=d.timeout.total_seconds(), max_size=d.max_size,
                                      max_redirects=d.max_redirects, per_host=d.per_host,
                                      allow_private=self.settings.allow_private_networks)
        if d.user_agent:
            kwargs["user_agent"] = d.user_agent
        return FetchPolicy(**kwargs)

    def _make_poller(self, config: ConfigSnapshot) -> Any:
        from bot.ingest.pipeline import Poller

        return Poller(self.engine, config.sources, config.themes, self.fetcher, clock=self.clock,
                      lease_owner=self.worker, lease_ttl=self.lease_ttl)

    async def _open_sender(self, config: ConfigSnapshot) -> Any:
        from bot.delivery.telegram.sender import Sender

        sender = Sender.from_settings(self.engine, self.settings, themes=config.themes,
                                      source_names=config.sources.display_names(), weights=config.sources.weights(),
                                      default_tz=self.settings.schedule_tz(config.deliveries),
                                      stale_after=Sender.stale_after_of(config.deliveries),
                                      clock=self.clock, sleep=self.clock.sleep, stream=self.console,
                                      lease=timedelta(seconds=self.lease_ttl), alerts="deliver" in self.duties,
                                      digests=self._leading.is_set())
        sender.owner = self.worker
        await sender.__aenter__()
        return sender

    def _sync_destinations(self, config: ConfigSnapshot) -> None:
        from bot.delivery.destinations import sync_config_destinations

        from bot.storage.leases import serialize

        with self.engine.begin() as conn:
            serialize(conn, "destinations")   # several processes start at once on PostgreSQL
            counts = sync_config_destinations(conn, config.deliveries, self.clock.now())
        from bot.delivery.email.weekly import record_lists

        record_lists(self.engine, config.deliveries, self.clock.now())
        if any(counts.values()):
            log.info("destinations from deliveries.yaml %s",
                     " ".join(f"{k}={v}" for k, v in sorted(counts.items())))

    async def _start_telegram(self) -> None:
        if not self.settings.telegram_token:
            return
        try:
            from bot.chat.telegram_bot import TelegramBot
        except ImportError:
            log.warning("the Telegram bot commands are not available in this build; sending only")
            return
        self.telegram = TelegramBot(self.engine, self.settings, self.config, clock=self.clock,
                                    sender=self.sender)
        try:
            await self.telegram.start()
        except Exception:  # noqa: BLE001  (Telegram down at start must not stop polling)
            log.exception("the Telegram bot could not start; alerts stay queued and are retried")
            self.telegram = None

    async def _apply(self, snapshot: ConfigSnapshot) -> None:
        # Under the poll lock: a poll in progress finishes with the old poller and client.
        async with self._polling:
            old = self.config
            self.config = snapshot
            self._sync_destinations(snapshot)
            if self._fetch_policy(old) != self._fetch_policy(snapshot):
                from bot.ingest.fetch import Fetcher

                stale, self.fetcher = self.fetcher, Fetcher(self._fetch_policy(snapshot))
                await self.fetcher.__aenter__()
                await stale.__aexit__(None, None, None)
            self.poller = self._make_poller(snapshot)
        async with self._sending:
            stale, self.sender = self.sender, await self._open_sender(snapshot)
            await stale.__aexit__(None, None, None)

        if "leader" in self.duties:
            self.weekly = self._weekly_email(snapshot)
        if self.telegram is not None:
            self.telegram.reload(snapshot, sender=self.sender)
        self.metrics.reloads.labels(result="ok").inc()
        self._wake_poll.set()      # new sources are due now
        self._wake_deliver.set()   # a new chat may have a digest due

    def _config_broken(self, exc: ConfigError) -> None:
        self.metrics.reloads.labels(result="rejected").inc()
        lines = [str(p) for p in exc.problems[:10]]
        more = f"\n… and {len(exc.problems) - 10} more" if len(exc.problems) > 10 else ""
        text = ("newsbot: a configuration change was rejected; the last good configuration keeps "
                "running.\n" + "\n".join(lines) + more + "\nFix it and run `newsbot check`.")
        if self.sender is not None:
            asyncio.get_running_loop().create_task(self._notify(self.sender.notify_admins, text))

    async def _notify(self, notify: Callable[[str], Awaitable[Any]], text: str) -> None:
        try:
            await notify(text)
        except Exception:  # noqa: BLE001
            log.exception("could not notify the admins")

    # ---- duties ----------------------------------------------------------------------

    def _db_file_problem(self) -> str | None:
        return self.db_file.problem() if self.db_file is not None else None

    async def _heartbeat_loop(self) -> None:
        every = self.lock_ttl / 4
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)
                return
            if (problem := self._db_file_problem()) is not None:
                # Writing on would store news in a file no one can read; a command run next
                # would create an empty database and alert nothing it polls (all backlog).
                log.critical("%s; stopping. Put the file back (or restore a backup) before starting "
                             "newsbot again: a new empty database would treat every item as backlog", problem)
                self.exit_code = 1
                self._stop.set()
                return
            try:
                held = await asyncio.to_thread(self.lock.renew)
            except Exception as exc:  # noqa: BLE001  (the database may be briefly unreachable)
                log.warning("could not renew the daemon lock: %s", exc.__class__.__name__)
                continue
            if not held:
                log.critical("lost the database lock to another daemon; stopping so nothing is sent twice")
                self.exit_code = 1
                self._stop.set()

    async def _become_leader(self) -> None:
        self._leading.set()
        if self.sender is not None:
            self.sender.digests = True
        self._wake_deliver.set()
        await self._start_telegram()

    async def _until_leader(self) -> bool:
        """Wait until this process leads; False when stopping first."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._leading)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        return self._leading.is_set() and not self._stop.is_set()

    async def _leader_loop(self) -> None:
        """A standby tries to become the leader every LEADER_EVERY real seconds; a leader that
        loses its lock (its database connection broke) stops, so two never run the schedules."""
        while not self._stop.is_set():
            await self._wait(self.clock.scale * LEADER_EVERY)
            if self._stop.is_set():
                return
            was = self._leading.is_set()
            held = await asyncio.to_thread(self.leader.try_acquire)
            if held and not was:
                await self._become_leader()
            elif was and not held:
                log.critical("lost the leader lock; stopping so no schedule runs twice")
                self.exit_code = 1
                self._stop.set()

    async def _reload_loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.reload_interval)
                return
            snapshot = self.watcher.check()
            if snapshot is not None:
                await self._apply(snapshot)

    def _seconds_to_next_poll(self) -> float:
        return due.seconds_to_next_poll(self.engine, [s.id for s in self.config.sources.enabled],
                                        self.clock.now(), POLL_CAP)

    async def _poll_loop(self) -> None:
        while not self._stop.is_set():
            delay = self._seconds_to_next_poll()
            if delay > 0:
                # Coalesce and jitter: wake 10-60 s after the earliest due time, so sources due
                # close together share one cycle (one round of state queries, measured by
                # bench/idle_daemon.py) and polls do not land on exact, shared seconds.
                delay += random.uniform(COALESCE[0], COALESCE[1])
                await self._wait(delay, self._wake_poll)
                if self._stop.is_set():
                    return
                if not self._wake_poll.is_set() and self._seconds_to_next_poll() > 0:
                    continue
            self._wake_poll.clear()
            async with self._polling:
                await self._poll_once()
            if not self._last_polled:
                # Due sources exist but other pollers hold them all: look again shortly.
                await self._wait(self.clock.scale * IDLE_CLAIM_WAIT, self._wake_poll)

    async def _poll_once(self) -> None:
        summary = await self.poller.poll(source_ids=None, due_only=True)  # logs its own cycle line
        self._cycles += 1
        self.metrics.record_poll(summary)
        results = summary.results
        self._last_polled = len(results)
        if any(r.outcome != "failed" for r in results):
            self._last_poll_ok = self.clock.now()
        failed = [r for r in results if r.outcome == "failed"]
        if failed:
            shown = ", ".join(f"{r.source_id} ({r.error_kind})" for r in failed[:10])
            more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
            log.warning("sources failing: %s%s; see `newsbot sources health`", shown, more)
        if summary.queued or summary.hits:
            self._wake_deliver.set()

    def _default_tz(self) -> str | None:
        return self.settings.schedule_tz(self.config.deliveries)

    def _seconds_to_next_delivery(self) -> float:
        return due.seconds_to_next_delivery(self.engine, self._default_tz(), self.clock.now(), DELIVER_EVERY)

    def _has_delivery_work(self) -> bool:
        return due.has_delivery_work(self.engine, self._default_tz(), self.clock.now())

    async def _listen_loop(self) -> None:
        """PostgreSQL: a poller in another process queued deliveries -> send now, not at the
        next periodic look (bot/storage/notify.py)."""
        from bot.storage.notify import listen_outbox

        await listen_outbox(self.engine, self._wake_deliver.set)

    async def _deliver_loop(self) -> None:
        first = True
        while not self._stop.is_set():
            woken = self._wake_deliver.is_set()
            self._wake_deliver.clear()
            if first or woken or self._has_delivery_work():
                first = False
                async with self._sending:
                    report = await self.sender.run_once()
                sent, failed = _counts(report)
                self.metrics.record_deliveries(sent=sent, failed=failed)
            await self._wait(self._seconds_to_next_delivery(), self._wake_deliver)

    def _seconds_to_next_email(self) -> float:
        from bot.delivery.email.weekly import shift_week

        now = self.clock.now()
        week = self.weekly.current_week(now)
        at = self.weekly.scheduled_at(shift_week(week, -1))
        if at <= now:
            at = self.weekly.scheduled_at(week)
        return max(1.0, min(EMAIL_EVERY, (at - now).total_seconds() + 1.0))

    async def _email_loop(self) -> None:
        if not await self._until_leader():
            return
        while not self._stop.is_set():
            if self.weekly.enabled and self.config.deliveries.email.weekly.lists:
                report = await self.weekly.send_due()
                if report.sent or not report.ok:
                    log.info("weekly email sent=%s ok=%s", report.sent, report.ok)
            await self._wait(self._seconds_to_next_email())

    async def _report_loop(self) -> None:
        """The coordinator report to the admins once per ISO week (bot/runtime/weekly_report.py)."""
        from bot.runtime import weekly_report

        if not await self._until_leader():
            return
        while not self._stop.is_set():
            if self.sender is not None and self.sender.admin_ids:   # the report is for them only
                await weekly_report.send_due(self.engine, self.sender.notify_admins, self.clock.now(),
                                             self._default_tz(), [s.id for s in self.config.sources.enabled])
            await self._wait(weekly_report.seconds_to_next(self._default_tz(), self.clock.now(), REPORT_EVERY))

    async def _retention_loop(self) -> None:
        if not await self._until_leader():
            return
        await self._wait(RETENTION_FIRST)
        while not self._stop.is_set():
            retention = retention_of(self.config.deliveries)
            await asyncio.to_thread(purge, self.engine, retention, self.clock.now())
            await self._wait(RETENTION_EVERY)

    # ---- status and shutdown --------------------------------------------------------

    def _status(self) -> dict[str, Any]:
        return {
            "uptime_seconds": round(time.monotonic() - self._started, 1),
            "poll_cycles": self._cycles,
            "role": self.role,
            "leader": self._leading.is_set(),
            "lock": "held" if self.lock and self.lock.held else "lost",
            "config_error": self.watcher.last_error if self.watcher else None,
            "telegram": "on" if self.telegram is not None else "console",
            "now": self.clock.now().isoformat(timespec="seconds"),
        }

    async def _shutdown(self, tasks: dict[str, asyncio.Task], ops: OpsServer | None) -> None:
        self._stop.set()
        deliver = tasks.pop("deliver", None)
        for task in tasks.values():
            task.cancel()
        if deliver is not None:
            # The sender gets a grace period to finish what it has in hand; what it claimed
            # but did not send goes back to the queue below.
            done, _ = await asyncio.wait([deliver], timeout=self.send_grace)
            if not done:
                log.warning("a send did not finish within %.0f s; its rows go back to the queue", self.send_grace)
                deliver.cancel()
        await asyncio.gather(*tasks.values(), *( [deliver] if deliver else []), return_exceptions=True)
        for closer in (self._stop_telegram, self._close_sender, self._close_fetcher):
            try:
                await closer()
            except Exception:  # noqa: BLE001
                log.exception("error while stopping")
        if ops is not None:
            await ops.stop()
        if self.lock is not None:
            with contextlib.suppress(Exception):
                self.lock.release()
        if self.leader is not None:
            with contextlib.suppress(Exception):
                from bot.storage.leases import release_sources

                with self.engine.begin() as conn:
                    release_sources(conn, self.worker)   # a poll cut short gives its sources back
                self.leader.release()
        if self.engine is not None:
            self.engine.dispose()
        log.info("stopped cleanly")

    async def _stop_telegram(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()

    async def _close_sender(self) -> None:
        # Gives back whatever this sender claimed but did not send (outbox.release_owner).
        if self.sender is not None:
            await self.sender.__aexit__(None, None, None)

    async def _close_fetcher(self) -> None:
        if self.fetcher is not None:
            await self.fetcher.__aexit__(None, None, None)


def _counts(report: SendReport | None) -> tuple[int, int]:
    return (0, 0) if report is None else (report.sent, report.failed)
