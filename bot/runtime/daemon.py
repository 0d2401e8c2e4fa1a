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

The duties themselves (poll, deliver, weekly email, weekly report, retention, reload, lock
heartbeat, leader election, outbox listener) are bot/runtime/duties.py's; when they wake is
bot/runtime/waits.py's; what the daemon reports about itself (/healthz, failing sources, a
rejected configuration) is bot/runtime/status.py's; the parts it runs are built by
bot/runtime/wiring.py. This module is the lifecycle: start-up, applying a reloaded
configuration, becoming the leader, stopping.

Roles (`newsbot run --role`, PostgreSQL): `poller` polls, `sender` sends alerts, `bot` is the
leader's work (Telegram long polling, digests, weekly email and report, retention), `all` (default) is
everything. Any number of pollers and senders share the work through leases
(bot/storage/leases.py); the leader duties run only in the process holding the leader lock
(an advisory lock: a standby takes over within LEADER_EVERY seconds when the leader dies).
On SQLite one process owns the file (the single-instance lock), whatever its role.

Stopping (SIGTERM/SIGINT): polls and timers are cancelled (each stored item is its own
transaction); a send in progress gets a grace period to finish, then whatever it claimed
goes back to the queue. Owns: composition and the lifecycle. Must not: print or exit (the CLI
does), run SQL of its own, or know how a feed is parsed, a rule matched or a message formatted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from bot.config.settings import Settings
from bot.errors import ConfigError
from bot.runtime import status, wiring
from bot.runtime.clock import Clock
from bot.runtime.duties import Duties
from bot.runtime.lock import InstanceLock
from bot.runtime.ops_http import OpsMetrics, OpsServer
from bot.runtime.reload import ConfigSnapshot, ConfigWatcher, load_config
from bot.runtime.waits import Waits
from bot.storage.dbfile import DatabaseFile

if TYPE_CHECKING:   # imported where used, at start-up: `newsbot --help` need not load them
    from sqlalchemy import Engine

    from bot.chat.telegram_bot import TelegramBot
    from bot.delivery.email.weekly import WeeklyEmail
    from bot.delivery.telegram.sender import Sender
    from bot.ingest.fetch import Fetcher
    from bot.ingest.pipeline import Poller
    from bot.storage.leases import LeaderLock

log = logging.getLogger(__name__)

SEND_GRACE = 20.0         # real seconds an in-flight send may take to finish at shutdown
ROLES = {"all": ("poll", "deliver", "leader"), "poller": ("poll",), "sender": ("deliver",), "bot": ("leader",)}


class Daemon:
    """Build with settings and a clock, then `await run()`; `request_stop()` ends it."""

    # Opened by prepare():
    engine: Engine
    config: ConfigSnapshot           # the running configuration (replaced on reload)
    watcher: ConfigWatcher
    metrics: OpsMetrics
    leader: LeaderLock
    # Built from the configuration when the daemon starts, rebuilt on reload:
    fetcher: Fetcher
    poller: Poller
    sender: Sender

    def __init__(self, settings: Settings, *, clock: Clock | None = None, lock_ttl: float = 60.0,
                 reload_interval: float | None = None, send_grace: float = SEND_GRACE,
                 console: TextIO | None = None, role: str = "all", lease_ttl: float = 300.0):
        self.settings = settings
        self.role, self.duties, self.lease_ttl = role, ROLES[role], lease_ttl
        # Names this process in lease columns (pid included: an operator can tell who held what).
        self.worker = f"{role}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock or Clock()
        self.lock_ttl = lock_ttl
        # Real seconds between config checks: a few seconds in production, faster when
        # time is compressed so a test's edit is seen within a fraction of a second.
        self.reload_interval = reload_interval or max(0.25, min(3.0, 3.0 / self.clock.scale ** 0.5))
        self.send_grace = send_grace
        self.console = console          # where console alerts go without a bot token (stdout)
        self.exit_code = 0
        self.lock: InstanceLock | None = None        # SQLite only: one process per file
        self.db_file: DatabaseFile | None = None
        self.weekly: WeeklyEmail | None = None       # the roles that lead
        self.telegram: TelegramBot | None = None     # with a token, in the leader
        self.waits = Waits(self.clock)
        self.polling = asyncio.Lock()   # a reload swaps the poller between two polls
        self.sending = asyncio.Lock()   # ... and the sender between two sender runs
        self.counters = status.Counters()
        self._prepared = False
        self._built = False
        self._loop: asyncio.AbstractEventLoop | None = None   # set once built: reloads run off it
        self._notices: set[asyncio.Task[None]] = set()

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
        self._prepared = True

    def _recover_leases(self) -> None:
        """We hold the single-instance lock, so every lease in the database was left by a daemon
        that died (kill -9, power loss): free them now instead of waiting out their wall-clock
        expiry. A row left 'sending' goes back to the queue (it may have reached Telegram once:
        the window the README describes)."""
        from bot.delivery.outbox import recover_deliveries
        from bot.storage import leases

        with self.engine.begin() as conn:
            recover_deliveries(conn, lease_now=leases.wall_clock() + timedelta(days=365),
                               requeue_at=self.clock.now())
            leases.release_all_sources(conn)

    async def run(self) -> int:
        if not self._prepared:
            self.prepare()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop, sig)
        ops = None
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            await self._build_components()
            if self.settings.http_address:
                ops = OpsServer(self.settings.http_address, self.engine, self.clock, self.metrics,
                                status=self._status, problem=self.db_file_problem)
                try:
                    await ops.start()
                except OSError as exc:  # port taken: monitoring is lost, news is not
                    log.error("cannot serve /healthz and /metrics on %s: %s (set NEWSBOT_HTTP)",
                              self.settings.http_address, exc.strerror or exc)
                    ops = None
            tasks = Duties(self).start()
            if "leader" in self.duties and await asyncio.to_thread(self.leader.try_acquire):
                await self.become_leader()
            log.info("daemon started role=%s leader=%s sources=%d themes=%d chats=%d clock=%s http=%s",
                     self.role, self.waits.leading.is_set(), len(self.config.sources.enabled),
                     len(self.config.themes.themes), len(self.config.deliveries.telegram.chats), self.clock,
                     f"{ops.host}:{ops.port}" if ops else "off")
            await self.waits.stop.wait()
            log.info("stopping: finishing in-flight sends")
        finally:
            await self._shutdown(tasks, ops)
        return self.exit_code

    def request_stop(self, sig: int | None = None) -> None:
        if not self.waits.stop.is_set():
            name = signal.Signals(sig).name if isinstance(sig, int) else "request"
            log.info("stop requested (%s)", name)
        self.waits.stop.set()

    def fail(self) -> None:
        """Stop with exit status 1 (the caller logged why)."""
        self.exit_code = 1
        self.waits.stop.set()

    # ---- components (built from a config snapshot by bot.runtime.wiring; rebuilt on reload) ----

    async def _build_components(self) -> None:
        self._sync_destinations(self.config)
        fetcher = wiring.fetcher(self.settings, self.config.sources)
        await fetcher.__aenter__()
        try:
            self.poller = wiring.poller(self.engine, self.config, fetcher, clock=self.clock,
                                        lease_owner=self.worker, lease_ttl=self.lease_ttl)
            self.sender = await self._open_sender(self.config)
        except BaseException:
            await fetcher.__aexit__(None, None, None)
            raise
        self.fetcher = fetcher
        if "leader" in self.duties:
            self.weekly = wiring.weekly_email(self.engine, self.settings, self.config, self.clock)
        self._loop = asyncio.get_running_loop()
        self._built = True

    async def _open_sender(self, config: ConfigSnapshot) -> Sender:
        sender = wiring.sender(self.engine, self.settings, config, clock=self.clock, sleep=self.clock.sleep,
                               stream=self.console, lease=timedelta(seconds=self.lease_ttl),
                               alerts="deliver" in self.duties, digests=self.waits.leading.is_set(),
                               owner=self.worker)
        await sender.__aenter__()
        return sender

    def _sync_destinations(self, config: ConfigSnapshot) -> None:
        from bot.delivery.email.weekly import record_lists

        counts = wiring.sync_destinations(self.engine, config.deliveries, self.clock.now())
        record_lists(self.engine, config.deliveries, self.clock.now())
        if any(counts.values()):
            log.info("destinations from deliveries.yaml %s",
                     " ".join(f"{k}={v}" for k, v in sorted(counts.items())))

    async def _start_telegram(self) -> None:
        if not self.settings.telegram_token:
            return
        from bot.chat.telegram_bot import TelegramBot   # python-telegram-bot is a dependency

        self.telegram = TelegramBot(self.engine, self.settings, self.config, clock=self.clock,
                                    sender=self.sender)
        try:
            await self.telegram.start()
        except Exception:  # noqa: BLE001  (Telegram down at start must not stop polling)
            log.exception("the Telegram bot could not start; alerts stay queued and are retried")
            self.telegram = None

    async def apply(self, snapshot: ConfigSnapshot) -> None:
        """Run with a reloaded configuration from now on."""
        # Under the poll lock: a poll in progress finishes with the old poller and client.
        async with self.polling:
            self.config = snapshot
            self._sync_destinations(snapshot)
            policy = wiring.fetch_policy(self.settings, snapshot.sources)
            if self.fetcher.policy != policy:
                stale_fetcher, self.fetcher = self.fetcher, wiring.fetcher(self.settings, snapshot.sources)
                await self.fetcher.__aenter__()
                await stale_fetcher.__aexit__(None, None, None)
            self.poller = wiring.poller(self.engine, snapshot, self.fetcher, clock=self.clock,
                                        lease_owner=self.worker, lease_ttl=self.lease_ttl)
        async with self.sending:
            stale_sender, self.sender = self.sender, await self._open_sender(snapshot)
            await stale_sender.__aexit__(None, None, None)

        if "leader" in self.duties:
            self.weekly = wiring.weekly_email(self.engine, self.settings, snapshot, self.clock)
        if self.telegram is not None:
            self.telegram.reload(snapshot, sender=self.sender)
        self.metrics.reloads.labels(result="ok").inc()
        self.waits.poll.set()      # new sources are due now
        self.waits.deliver.set()   # a new chat may have a digest due

    def _config_broken(self, exc: ConfigError) -> None:
        """The watcher's report of a rejected edit. Called on the reload's worker thread (a large
        sources.yaml takes seconds to load), so the admins' notice is handed to the event loop."""
        self.metrics.reloads.labels(result="rejected").inc()
        loop = self._loop
        if self._built and loop is not None:   # once the daemon is up, its admins hear of it
            loop.call_soon_threadsafe(self._notice, status.config_rejected(exc))

    def _notice(self, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self._notify_admins(text))
        self._notices.add(task)              # held until done: the loop keeps only weak references
        task.add_done_callback(self._notices.discard)

    async def _notify_admins(self, text: str) -> None:
        try:
            await self.sender.notify_admins(text)
        except Exception:  # noqa: BLE001
            log.exception("could not notify the admins")

    async def become_leader(self) -> None:
        self.waits.leading.set()
        if self._built:
            self.sender.digests = True
        self.waits.deliver.set()
        await self._start_telegram()

    # ---- status and shutdown --------------------------------------------------------

    def db_file_problem(self) -> str | None:
        return self.db_file.problem() if self.db_file is not None else None

    def _status(self) -> dict[str, object]:
        return status.health(self.counters, role=self.role, leader=self.waits.leading.is_set(),
                             lock_held=self.lock is not None and self.lock.held,
                             config_error=self.watcher.last_error, telegram=self.telegram is not None,
                             now=self.clock.now())

    async def _shutdown(self, tasks: dict[str, asyncio.Task[None]], ops: OpsServer | None) -> None:
        self.waits.stop.set()
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
        await asyncio.gather(*tasks.values(), *([deliver] if deliver else []), return_exceptions=True)
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
        with contextlib.suppress(Exception):
            from bot.storage.leases import release_sources

            with self.engine.begin() as conn:
                release_sources(conn, self.worker)   # a poll cut short gives its sources back
            self.leader.release()
        self.engine.dispose()
        log.info("stopped cleanly")

    async def _stop_telegram(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()

    async def _close_sender(self) -> None:
        # Gives back whatever this sender claimed but did not send (outbox.release_owner).
        if self._built:
            await self.sender.__aexit__(None, None, None)

    async def _close_fetcher(self) -> None:
        if self._built:
            await self.fetcher.__aexit__(None, None, None)
