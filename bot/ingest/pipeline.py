"""The conductor of ingest: fetch, parse, store, tag, group, match, queue — for each due source.

Owns one poll cycle (`Poller.poll`): which sources are due, fetching them concurrently through
the Fetcher, skipping unchanged ones (304, or a body whose sha256 is the one stored: nothing is
parsed), parsing changed ones (following a page to its feed: bot.ingest.discovery), and handing
each source's end to bot.ingest.poll_store on ONE store thread, which writes per source in ONE
transaction the new items, their countries, stories, hits and queued deliveries together with
the source's new state, and for a first poll leaves its backlog unqueued. So a crash between two
steps leaves the source unpolled rather than half-stored, and a restart loses nothing. A failing
source is data: its error kind, message and count go on its row and it backs off
(bot.ingest.scheduling); it never stops the others.

Several pollers (`newsbot run --role poller`, on any machines) share the sources: with a
`lease_owner`, a due-only cycle claims its sources in batches through bot.storage.leases
(FOR UPDATE SKIP LOCKED on PostgreSQL) instead of taking every due source, and the state write
that ends a source's poll clears its lease. A poller that dies loses its leases after
`lease_ttl` seconds of real time; another then polls those sources.

Must not print, exit, write a source's items or the end of its poll itself (bot.ingest.poll_store
does; the cycle writes only the config sync of the sources' rows and its leases), or know
Telegram or email.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Engine

from bot.config.sources import HtmlSelectors, Source, SourcesConfig
from bot.errors import FailureKind, NewsbotError, SourceFailure
from bot.ingest import scheduling
from bot.ingest.crew_gate import CrewGate
from bot.ingest.discovery import follow_feed_link
from bot.ingest.fetch_policy import FetchResult
from bot.ingest.poll_results import PollSummary, SourceResult
from bot.ingest.poll_store import PollWriter, Unchanged
from bot.ingest.poll_supply import RunSupply
from bot.ingest.protocols import MatcherSource, PollFetcher, PollState
from bot.parse import Kind, ParsedFeed
from bot.storage import repo

log = logging.getLogger(__name__)

_FLUSH_EVERY = 500           # unchanged sources whose state is written in one transaction
_CREW_START = 4              # threads polling at once in a Poller's first cycle

_P = ParamSpec("_P")
_T = TypeVar("_T")
# parse_document in a worker process, as it travels back (see _parse_in_worker).
_WorkerParse = tuple[Literal["ok"], ParsedFeed] | tuple[Literal["error"], FailureKind, str]


class Poller:
    """Polls sources into the database. `themes`: a bot.config.themes.ThemeSet (its matcher is
    compiled once, here). `fetcher`: an open bot.ingest.fetch.Fetcher. `clock`: aware-UTC now().
    `parse_executor`: an optional concurrent.futures executor (a process pool) that parses
    changed documents, so parsing uses another core while this one fetches and stores.
    `sources_cfg` and `matcher` may be replaced between cycles; each cycle reads them once."""

    def __init__(self, engine: Engine, sources_cfg: SourcesConfig, themes: MatcherSource | None, fetcher: PollFetcher,
                 clock: Callable[[], datetime] | None = None, *, concurrency: int = 64,
                 rng: random.Random | None = None, parse_executor: Executor | None = None,
                 lease_owner: str | None = None, lease_ttl: float = 300.0):
        self.engine = engine
        self.sources_cfg = sources_cfg
        self.matcher = themes.matcher() if themes is not None else None
        self.fetcher = fetcher
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))
        self.concurrency = max(1, concurrency)
        self.rng = rng or random.Random()
        self._writer = self._new_writer()
        self._pending: list[Unchanged] = []   # unchanged sources whose state is not written yet
        self._pending_lock = threading.Lock()
        self._work: ThreadPoolExecutor | None = None   # the store thread, during a cycle
        self.parse_executor = parse_executor
        self.lease_owner, self.lease_ttl = lease_owner, lease_ttl
        self._crew_limit: int | None = None  # where the last cycle's CrewGate ended

    def _new_writer(self) -> PollWriter:
        return PollWriter(self.engine, self.sources_cfg, self.matcher, self.clock, self.rng)

    # --- the cycle ----------------------------------------------------------------------------

    def select(self, source_ids: Iterable[str] | None, due_only: bool, now: datetime,
               states: dict[str, PollState]) -> list[Source]:
        cfg = self.sources_cfg
        if source_ids:
            ids = list(dict.fromkeys(source_ids))
            unknown = [i for i in ids if cfg.get(i) is None]
            if unknown:
                raise NewsbotError(f"unknown source id(s): {', '.join(unknown)}",
                                   hint="see `newsbot sources list`")
            # named: polled even if not due, paused or disabled
            return [s for s in map(cfg.get, ids) if s is not None]
        chosen = []
        for s in cfg.enabled:
            st = states.get(s.id)
            if st is not None and st.status == "paused":
                continue
            if due_only and st is not None and st.next_poll_at is not None and st.next_poll_at > now:
                continue
            chosen.append(s)
        return chosen

    async def poll(self, source_ids: Iterable[str] | None = None, due_only: bool = True,
                   progress: Callable[[SourceResult, int, int], None] | None = None) -> PollSummary:
        """Poll the due enabled sources (or exactly `source_ids`) once; see the module docstring.
        `progress(result, done, total)` is called on the event loop after each source."""
        started = time.monotonic()
        now = self.clock()
        self._writer = self._new_writer()
        states: dict[str, PollState] = {}
        with self.engine.begin() as conn:
            repo.ensure_sources(conn, [(s.id, s.url) for s in self.sources_cfg.sources], now)
            states.update(repo.poll_states(conn))
        leasing = self.lease_owner is not None and due_only and not source_ids
        todo = [] if leasing else self.select(source_ids, due_only, now, states)
        summary = PollSummary()
        def host_of(source: Source) -> str:
            try:
                return (urlsplit(states[source.id].feed_url or source.url).hostname or "").lower()
            except ValueError:   # the Fetcher reports a bad URL as the source's error
                return ""

        policy = self.fetcher.policy
        supply = RunSupply(todo, self._claimer(states, now) if leasing else None, host_of, policy.per_host)
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        lock = threading.Lock()

        def member() -> None:
            """One thread of the crew: a run of sources at a time, each from fetch to stored state."""
            with self.fetcher.pinned():
                work_through_runs()

        def work_through_runs() -> None:
            while not stop.is_set():
                run = supply.next()
                if run is None:
                    return
                for source in run:
                    with gate:
                        if stop.is_set():
                            return
                        result = self._poll_one(source, states[source.id])
                    with lock:
                        summary.results.append(result)
                        done = len(summary.results)
                    if len(self._pending) >= _FLUSH_EVERY:
                        self._flush()
                    if progress is not None:
                        loop.call_soon_threadsafe(progress, result, done, max(len(todo), done))

        # The crew: threads that take a run of sources each (see bot.ingest.poll_supply), fetch them with
        # bot.ingest.fetch's blocking call on a connection pool of their own, and for a changed one
        # wait for its parse (the process pool) and its store. Why threads and not a task per
        # source: most sources answer 304, and a round trip between the event loop and a
        # fetch thread costs more CPU than the request itself (bench/poll_bench.py). As many
        # threads as requests may be in flight (`max_connections`). Storing runs on ONE thread
        # beside them, so writes to the database stay sequential and a slow backlog store
        # never counts against the deadlines of the fetches in flight.
        # How many of them poll at once follows what the process can use (bot.ingest.crew_gate):
        # fewer on a fast network, where more threads only add GIL switching. It starts
        # where the last cycle left it.
        limit = min(self.concurrency, policy.max_connections)
        size = limit if leasing else min(limit, len(todo)) or 1
        gate = CrewGate(size, self._crew_limit or _CREW_START)
        crew = ThreadPoolExecutor(size, thread_name_prefix="newsbot-poll")
        self._work = ThreadPoolExecutor(1, thread_name_prefix="newsbot-store")
        renewing = asyncio.create_task(self._renew_leases()) if leasing else None
        try:
            await asyncio.gather(*(loop.run_in_executor(crew, member) for _ in range(size)))
        finally:
            stop.set()
            if renewing is not None:
                renewing.cancel()
            # Cancelled (the daemon stopping), this returns at once while the crew finishes the
            # sources in hand and their state is written, in the background.
            await asyncio.shield(asyncio.to_thread(self._end_cycle, crew))
            self._crew_limit = gate.limit
        for r in summary.results:
            summary.polled += 1
            summary.new_items += r.new_items
            summary.hits += r.hits
            summary.queued += r.queued
            if r.outcome == "failed":
                summary.failures[r.error_kind or "internal"] = summary.failures.get(r.error_kind or "internal", 0) + 1
        summary.elapsed = time.monotonic() - started
        kinds = ",".join(f"{k}:{n}" for k, n in sorted(summary.failures.items())) or "-"
        log.info("poll cycle polled=%d changed=%d unchanged=%d new_items=%d hits=%d queued=%d failed=%d "
                 "failures=%s elapsed=%.2fs crew=%d/%d", summary.polled, summary.changed, summary.unchanged,
                 summary.new_items, summary.hits, summary.queued, summary.failed, kinds, summary.elapsed,
                 gate.limit, size)
        return summary

    def _end_cycle(self, crew: ThreadPoolExecutor) -> None:
        crew.shutdown(wait=True)
        work = self._work
        try:
            self._flush()
        finally:
            self._work = None
            if work is not None:
                work.shutdown(wait=True)

    def _claimer(self, states: dict[str, PollState], due_at: datetime) -> Callable[[], list[Source] | None]:
        """A batch of sources claimed for this poller (None when none is left). Due-ness is
        judged at the cycle's start (`due_at`), so a cycle ends even when polling takes longer
        than the shortest interval."""
        from bot.storage import leases

        owner = self.lease_owner
        assert owner is not None   # claiming is for a poller with a lease owner
        enabled = {s.id for s in self.sources_cfg.enabled}
        exclude = [sid for sid in states if sid not in enabled]
        ttl = timedelta(seconds=self.lease_ttl)

        def claim() -> list[str]:
            with self.engine.begin() as conn:
                ids = leases.claim_sources(conn, owner, due_at, limit=self.concurrency,
                                           exclude=exclude, lease=ttl)
                states.update(repo.poll_states(conn, ids))
                # A row another process's newer sources.yaml added: not ours to poll.
                unknown = [sid for sid in ids if sid not in enabled]
                if unknown:
                    leases.release_sources(conn, owner, unknown)
                    exclude.extend(unknown)
            return ids

        def refill() -> list[Source] | None:
            # Write (and so un-lease) what this poller finished before taking more.
            self._flush()
            ids = self._on_store_thread(claim)
            if not ids:
                return None
            return [s for s in map(self.sources_cfg.get, ids) if s is not None and s.id in enabled]

        return refill

    async def _renew_leases(self) -> None:
        """Keep this poller's leases alive while it works (a slow store, a loaded machine): every
        third of the lease, extend whatever it still holds. Finished sources hold none."""
        from bot.storage import leases

        owner = self.lease_owner
        assert owner is not None   # renewing is for a poller with a lease owner
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                with self.engine.begin() as conn:
                    leases.renew_sources(conn, owner, None, lease=timedelta(seconds=self.lease_ttl))
            except Exception as exc:  # noqa: BLE001  (the next renewal may work; expiry is the fallback)
                log.warning("could not renew source leases: %s", type(exc).__name__)

    # --- one source (on a crew thread) --------------------------------------------------------

    def _poll_one(self, source: Source, state: PollState) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(source.id, "failed")
        writer = self._writer
        try:
            self._fetch_and_store(source, state, result)
        except SourceFailure as exc:
            self._on_store_thread(writer.record_failure, source, state, result, exc.kind, exc.message,
                                  exc.retry_after)
        except Exception as exc:  # a bug in one part must not stop the other sources
            log.exception("source %s: unexpected error", source.id)
            self._on_store_thread(writer.record_failure, source, state, result, "internal",
                                  f"{type(exc).__name__}: {exc}", None)
        result.elapsed = time.monotonic() - started
        if result.outcome == "failed":
            log.debug("source %s failed kind=%s error=%s", source.id, result.error_kind, result.error)
        return result

    def _on_store_thread(self, fn: Callable[_P, _T], *args: _P.args, **kw: _P.kwargs) -> _T:
        """Run `fn` on the cycle's store thread and wait for it (inline outside a cycle)."""
        work = self._work
        if work is None:
            return fn(*args, **kw)
        return work.submit(fn, *args, **kw).result()

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch:
            self._on_store_thread(self._writer.write_unchanged, batch)

    def _parse(self, fetched: FetchResult, kind: Kind, source: Source, now: datetime) -> ParsedFeed:
        job = _ParseJob(fetched.url, fetched.content_type, kind, source.html, source.id, source.tags,
                        self.sources_cfg.language(source), now)
        if self.parse_executor is None:
            return job.run(fetched.body)
        outcome = self.parse_executor.submit(_parse_in_worker, job, fetched.body).result()
        if outcome[0] == "error":
            raise SourceFailure(outcome[1], outcome[2])
        return outcome[1]

    def _fetch_and_store(self, source: Source, state: PollState, result: SourceResult) -> None:
        url = state.feed_url or source.url
        kind: Kind = "feed" if state.feed_url else source.type
        fetched = self.fetcher.fetch_blocking(url, etag=state.etag, last_modified=state.last_modified)
        now = self.clock()
        if fetched.not_modified or (fetched.body_hash is not None and fetched.body_hash == state.body_hash):
            result.outcome = "unchanged"
            hints = scheduling.hints_from(fetched.headers, state.ttl_minutes, now)
            unchanged = Unchanged(source, state, fetched.etag, fetched.last_modified, hints, now, result)
            with self._pending_lock:
                self._pending.append(unchanged)
            return

        def parse(document: FetchResult, as_kind: Kind) -> ParsedFeed:
            return self._parse(document, as_kind, source, now)

        # `type: auto` on a page: fetch the feed it links to, and poll that from now on.
        found = follow_feed_link(fetched, parse(fetched, kind), self.fetcher.fetch_blocking, parse)
        feed_url = state.feed_url
        if found.discovered:
            feed_url = found.fetched.url
            log.info("source %s: using the feed %s linked from %s", source.id, feed_url, source.url)
        self._on_store_thread(self._writer.store_changed, source, state, found.fetched, found.parsed, feed_url,
                              result)


@dataclass(frozen=True)
class _ParseJob:
    """How one source's document is parsed, besides its bytes: sent to a worker process."""

    url: str
    content_type: str | None
    kind: Kind
    selectors: HtmlSelectors | None
    source_id: str
    tags: tuple[str, ...]
    default_language: str | None
    now: datetime

    def run(self, body: bytes) -> ParsedFeed:
        from bot import parse   # looked up at each call: tests count the parses

        return parse.parse_document(body, url=self.url, content_type=self.content_type, kind=self.kind,
                                    selectors=self.selectors, source_id=self.source_id, tags=self.tags,
                                    default_language=self.default_language, now=self.now)


def _parse_in_worker(job: _ParseJob, body: bytes) -> _WorkerParse:
    """`job.run` in a worker process. SourceFailure does not survive pickling (its
    constructor takes two arguments), so errors travel back as a tuple."""
    try:
        return ("ok", job.run(body))
    except SourceFailure as exc:
        return ("error", exc.kind, exc.message)
