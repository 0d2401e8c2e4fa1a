"""The conductor of ingest: fetch, parse, store, tag, group, match, queue — for each due source.

Owns one poll cycle (`Poller.poll`): which sources are due, fetching them concurrently through
the Fetcher, skipping unchanged ones (304, or a body whose sha256 is the one stored: nothing is
parsed), parsing changed ones, and storing per source in ONE transaction the new items, their
countries, stories, hits and queued deliveries together with the source's new state (ETag,
Last-Modified, body hash, next poll). So a crash between two steps leaves the source unpolled
rather than half-stored, and a restart loses nothing. A failing source is data: its error kind,
message and count go on its row and it backs off (bot.ingest.scheduling); it never stops the others.

The first successful poll of a source (new, or whose URL changed) stores its backlog: the items
published before the source was added to sources.yaml (`configured_at`) are stored and matched,
but no delivery is queued, so adding a source does not flood members with old news. What it
published after, while its first polls failed, is news and alerts as usual.

Several pollers (`newsbot run --role poller`, on any machines) share the sources: with a
`lease_owner`, a due-only cycle claims its sources in batches through bot.storage.leases
(FOR UPDATE SKIP LOCKED on PostgreSQL) instead of taking every due source, and the state write
that ends a source's poll clears its lease. A poller that dies loses its leases after
`lease_ttl` seconds of real time; another then polls those sources.

Must not print, exit, or know Telegram or email beyond the outbox's queue_for_hits.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from sqlalchemy import Engine

from bot.ingest import scheduling
from bot.config.sources import Source, SourcesConfig
from bot.ingest.crew_gate import CrewGate
from bot.errors import FetchError, NewsbotError
from bot.model import Item
from bot.ingest.poll_results import PollSummary, SourceResult
from bot.ingest.poll_supply import RunSupply
from bot.ingest.protocols import MatcherSource, PollFetcher
from bot.storage import repo

log = logging.getLogger(__name__)

_FLUSH_EVERY = 500           # unchanged sources whose state is written in one transaction
_ERROR_TEXT_MAX = 500
_CREW_START = 4              # threads polling at once in a Poller's first cycle


@dataclass
class _Unchanged:
    source: Source
    state: Any
    etag: str | None
    last_modified: str | None
    hints: scheduling.Hints
    now: datetime
    result: SourceResult


class Poller:
    """Polls sources into the database. `themes`: a bot.config.themes.ThemeSet (its matcher is
    compiled once, here). `fetcher`: an open bot.ingest.fetch.Fetcher. `clock`: aware-UTC now().
    `parse_executor`: an optional concurrent.futures executor (a process pool) that parses
    changed documents, so parsing uses another core while this one fetches and stores."""

    def __init__(self, engine: Engine, sources_cfg: SourcesConfig, themes: MatcherSource | None, fetcher: PollFetcher,
                 clock: Callable[[], datetime] | None = None, *, concurrency: int = 64,
                 rng: random.Random | None = None, parse_executor: Any = None,
                 lease_owner: str | None = None, lease_ttl: float = 300.0):
        self.engine = engine
        self.sources_cfg = sources_cfg
        self.matcher = themes.matcher() if themes is not None else None
        self.fetcher = fetcher
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.concurrency = max(1, concurrency)
        self.rng = rng or random.Random()
        self._pending: list[_Unchanged] = []   # unchanged sources whose state is not written yet
        self._pending_lock = threading.Lock()
        self._work: ThreadPoolExecutor | None = None   # the store thread, during a cycle
        self.parse_executor = parse_executor
        self.lease_owner, self.lease_ttl = lease_owner, lease_ttl
        self._crew_limit: int | None = None  # where the last cycle's CrewGate ended

    # --- the cycle ----------------------------------------------------------------------------

    def select(self, source_ids: Iterable[str] | None, due_only: bool, now: datetime,
               states: dict[str, Any]) -> list[Source]:
        cfg = self.sources_cfg
        if source_ids:
            ids = list(dict.fromkeys(source_ids))
            unknown = [i for i in ids if cfg.get(i) is None]
            if unknown:
                raise NewsbotError(f"unknown source id(s): {', '.join(unknown)}",
                                   hint="see `newsbot sources list`")
            return [cfg.get(i) for i in ids]  # named: polled even if not due, paused or disabled
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
        with self.engine.begin() as conn:
            repo.ensure_sources(conn, [(s.id, s.url) for s in self.sources_cfg.sources], now)
            states = repo.poll_states(conn)
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

    def _claimer(self, states: dict[str, Any], due_at: datetime) -> Callable[[], list[Source] | None]:
        """A batch of sources claimed for this poller (None when none is left). Due-ness is
        judged at the cycle's start (`due_at`), so a cycle ends even when polling takes longer
        than the shortest interval."""
        from bot.storage import leases

        enabled = {s.id for s in self.sources_cfg.enabled}
        exclude = [sid for sid in states if sid not in enabled]
        ttl = timedelta(seconds=self.lease_ttl)

        def claim() -> list[str]:
            with self.engine.begin() as conn:
                ids = leases.claim_sources(conn, self.lease_owner, due_at, limit=self.concurrency,
                                           exclude=exclude, lease=ttl)
                states.update(repo.poll_states(conn, ids))
                # A row another process's newer sources.yaml added: not ours to poll.
                unknown = [sid for sid in ids if sid not in enabled]
                if unknown:
                    leases.release_sources(conn, self.lease_owner, unknown)
                    exclude.extend(unknown)
            return ids

        def refill() -> list[Source] | None:
            # Write (and so un-lease) what this poller finished before taking more.
            self._flush()
            ids = self._on_store_thread(claim)
            return [self.sources_cfg.get(sid) for sid in ids if sid in enabled] if ids else None

        return refill

    async def _renew_leases(self) -> None:
        """Keep this poller's leases alive while it works (a slow store, a loaded machine): every
        third of the lease, extend whatever it still holds. Finished sources hold none."""
        from bot.storage import leases

        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                with self.engine.begin() as conn:
                    leases.renew_sources(conn, self.lease_owner, None, lease=timedelta(seconds=self.lease_ttl))
            except Exception as exc:  # noqa: BLE001  (the next renewal may work; expiry is the fallback)
                log.warning("could not renew source leases: %s", type(exc).__name__)

    # --- one source (on a crew thread) --------------------------------------------------------

    def _poll_one(self, source: Source, state: Any) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(source.id, "failed")
        try:
            self._fetch_and_store(source, state, result)
        except FetchError as exc:
            self._on_store_thread(self._record_failure, source, state, result, exc.kind, exc.message,
                                  exc.retry_after)
        except Exception as exc:  # a bug in one part must not stop the other sources
            log.exception("source %s: unexpected error", source.id)
            self._on_store_thread(self._record_failure, source, state, result, "internal",
                                  f"{type(exc).__name__}: {exc}", None)
        result.elapsed = time.monotonic() - started
        if result.outcome == "failed":
            log.debug("source %s failed kind=%s error=%s", source.id, result.error_kind, result.error)
        return result

    def _on_store_thread(self, fn: Callable, *args: Any, **kw: Any) -> Any:
        """Run `fn` on the cycle's store thread and wait for it (inline outside a cycle)."""
        work = self._work
        if work is None:
            return fn(*args, **kw)
        return work.submit(fn, *args, **kw).result()

    def _flush(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch:
            self._on_store_thread(self._write_unchanged, batch)

    def _parse(self, body: bytes, **kw: Any) -> Any:
        if self.parse_executor is None:
            from bot import parse

            return parse.parse_document(body, **kw)
        outcome = self.parse_executor.submit(_parse_in_worker, body, kw).result()
        if outcome[0] == "error":
            raise FetchError(outcome[1], outcome[2])
        return outcome[1]

    def _fetch_and_store(self, source: Source, state: Any, result: SourceResult) -> None:
        url = state.feed_url or source.url
        kind = "feed" if state.feed_url else source.type
        fetched = self.fetcher.fetch_blocking(url, etag=state.etag, last_modified=state.last_modified)
        now = self.clock()
        if fetched.not_modified or (fetched.body_hash is not None and fetched.body_hash == state.body_hash):
            result.outcome = "unchanged"
            hints = scheduling.hints_from(fetched.headers, state.ttl_minutes, now)
            unchanged = _Unchanged(source, state, fetched.etag, fetched.last_modified, hints, now, result)
            with self._pending_lock:
                self._pending.append(unchanged)
            return
        parse_kw = dict(selectors=source.html, source_id=source.id, tags=source.tags,
                        default_language=self.sources_cfg.language(source), now=now)
        parsed = self._parse(fetched.body, url=fetched.url, content_type=fetched.content_type,
                             kind=kind, **parse_kw)
        feed_url = state.feed_url
        if parsed.discovered_url and not parsed.items:
            # `type: auto` on a page: fetch the feed it links to, and poll that from now on.
            fetched = self.fetcher.fetch_blocking(parsed.discovered_url)
            now = self.clock()
            parsed = self._parse(fetched.body, url=fetched.url, content_type=fetched.content_type,
                                 kind="feed", **parse_kw)
            feed_url = fetched.url
            log.info("source %s: using the feed %s linked from %s", source.id, feed_url, source.url)
        self._on_store_thread(self._store, source, state, fetched, parsed, feed_url, result)

    def _store(self, source: Source, state: Any, fetched: Any, parsed: Any, feed_url: str | None,
               result: SourceResult) -> None:
        from bot.tagging.countries import tag_countries
        from bot.delivery.outbox import NewHit, queue_for_hits
        from bot.stories.grouping import assign_story

        # Stamped when stored, not when fetched: a hit belongs to the digest and email week in
        # which it became visible. Stamped at the fetch, a poll that spans a week's end (a slow
        # parse, a busy store thread) committed hits into a week whose email was already built.
        now = self.clock()
        backlog_poll = not state.backlog_done
        added = state.configured_at or state.created_at
        # Oldest first, so ids and story leads follow publication order.
        entries = sorted(parsed.items, key=lambda i: i.published or now)
        new_hits: list[Any] = []
        new_count = 0
        with self.engine.begin() as conn:
            known = repo.known_item_keys(conn, source.id, [i.guid for i in entries],
                                         [i.url for i in entries if i.url])
            guids, own_urls = known.guids, known.own_urls
            for item in entries:
                # Within a source the guid decides (entries may share a link). Across sources
                # each stores its own item of a URL, so an aggregator that relays a link first
                # cannot silence the source's own text and hits: the items join one story
                # (bot.stories.grouping), which alerts a chat once.
                if item.guid in guids:
                    continue
                guids.add(item.guid)
                shares_url = bool(item.url) and item.url in own_urls
                if item.url:
                    own_urls.add(item.url)
                is_backlog = backlog_poll and _before_added(item, added)
                codes, regions = tag_countries(_text_of(item), item.language, default=source.country)
                item_id = repo.insert_item(conn, item, now, is_backlog=is_backlog, countries=codes, regions=regions,
                                           shares_url=shares_url)
                if item_id is None:  # stored meanwhile by another poller
                    continue
                new_count += 1
                story_id = assign_story(conn, item_id, item, now)
                theme_hits = self.matcher.match(item) if self.matcher is not None else []
                for row in repo.insert_hits(conn, item_id, theme_hits, now):
                    new_hits.append(NewHit(hit_id=row.hit_id, item_id=item_id, story_id=story_id, theme=row.theme,
                                           priority=row.priority, language=item.language, regions=tuple(regions),
                                           is_backlog=is_backlog))
                    log.debug("item %s (%s) hit theme=%s", item_id, source.id, row.theme)
            queued = queue_for_hits(conn, [h for h in new_hits if not h.is_backlog], now) if new_hits else 0
            repo.add_items_seen(conn, source.id, new_count)
            ttl = parsed.ttl_minutes
            hints = scheduling.hints_from(fetched.headers, ttl, now)
            recent = repo.recent_item_count(conn, source.id, now - scheduling.RATE_WINDOW)
            interval = self._success_interval(source, recent, state, hints)
            values = _success_values(state, now, interval)
            values.update(etag=fetched.etag, last_modified=fetched.last_modified, body_hash=fetched.body_hash,
                          feed_url=feed_url, ttl_minutes=ttl, backlog_done=True)
            if new_count:
                values["last_new_item_at"] = now
            repo.update_source(conn, source.id, **values)
        result.outcome = "changed"
        result.new_items, result.hits, result.queued = new_count, len(new_hits), queued
        result.backlog = backlog_poll
        result.next_poll_at = values["next_poll_at"]
        log.debug("source %s changed new_items=%d hits=%d queued=%d backlog=%s", source.id, new_count,
                  len(new_hits), queued, backlog_poll)

    def _write_unchanged(self, pending: list[_Unchanged]) -> None:
        """Write the state of a batch of unchanged sources in one transaction: thousands of
        304s must not cost a transaction (an fsync) each. A source that was already healthy
        gets only the columns a success changes (half the parameters to bind per row)."""
        if not pending:
            return
        with self.engine.begin() as conn:
            since = min(p.now for p in pending) - scheduling.RATE_WINDOW
            recent = repo.recent_item_counts(conn, [p.source.id for p in pending], since)
            healthy, others = [], []
            for p in pending:
                interval = self._success_interval(p.source, recent[p.source.id], p.state, p.hints)
                values = _success_values(p.state, p.now, interval)
                p.result.next_poll_at = values["next_poll_at"]
                if _was_healthy(p.state):
                    healthy.append(dict(id=p.source.id, etag=p.etag, last_modified=p.last_modified,
                                        **{k: values[k] for k in _SUCCESS_CHANGES}))
                else:
                    values.update(id=p.source.id, etag=p.etag, last_modified=p.last_modified)
                    others.append(values)
            repo.update_sources(conn, healthy)
            repo.update_sources(conn, others)

    def _success_interval(self, source: Source, recent: int, state: Any, hints: scheduling.Hints) -> timedelta:
        cfg = self.sources_cfg
        return scheduling.next_success_interval(cfg.interval(source), recent, _previous(state), hints,
                                                min_interval=cfg.min_interval(source),
                                                max_interval=cfg.max_interval(source))

    def _record_failure(self, source: Source, state: Any, result: SourceResult, kind: str, message: str,
                        retry_after_seconds: float | None) -> None:
        now = self.clock()
        count = (state.error_count or 0) + 1
        hint = timedelta(seconds=retry_after_seconds) if retry_after_seconds else None
        delay = scheduling.backoff_delay(self.sources_cfg.interval(source), count, self.rng.random(), hint)
        next_poll = now + delay
        values = dict(last_poll_at=now, last_error_kind=kind, last_error=message[:_ERROR_TEXT_MAX],
                      error_count=count, failing_since=state.failing_since or now, next_poll_at=next_poll,
                      lease_owner=None, lease_until=None)
        if state.status != "paused":
            values["status"] = "failing"
        try:
            with self.engine.begin() as conn:
                repo.update_source(conn, source.id, **values)
        except Exception:  # the database itself failing: report it, keep the cycle going
            log.exception("source %s: could not record its failure", source.id)
        result.outcome, result.error_kind, result.error = "failed", kind, message
        result.next_poll_at = next_poll


def _parse_in_worker(body: bytes, kw: dict[str, Any]) -> tuple:
    """parse_document in a worker process. FetchError does not survive pickling (its
    constructor takes two arguments), so errors travel back as a tuple."""
    from bot.parse import parse_document

    try:
        return ("ok", parse_document(body, **kw))
    except FetchError as exc:
        return ("error", exc.kind, exc.message)


def _text_of(item: Item) -> str:
    return "\n".join(t for t in (item.title, item.summary, item.text) if t)


def _before_added(item: Item, added: datetime | None) -> bool:
    """Whether an item of a source's first successful poll is backlog: published before the
    source was added to sources.yaml. Undated items cannot say when they were published: their
    first sighting is this poll, the source's baseline, so they are backlog too (a page of
    undated old items must not flood alerts). A source whose first polls failed so keeps the
    news published meanwhile."""
    if added is None or item.published is None:
        return True
    return item.published <= added


def _previous(state: Any) -> timedelta | None:
    return timedelta(seconds=state.interval_seconds) if state.interval_seconds else None


# What a successful poll changes on a source that was healthy (status ok, no error, no lease:
# a claimed source carries a lease and so takes the full write).
_SUCCESS_CHANGES = ("last_poll_at", "last_success_at", "interval_seconds", "next_poll_at")


def _was_healthy(state: Any) -> bool:
    return (state.status == "ok" and not state.error_count and state.failing_since is None
            and state.lease_owner is None)


def _success_values(state: Any, now: datetime, interval: timedelta) -> dict[str, Any]:
    return dict(status="paused" if state.status == "paused" else "ok", last_poll_at=now, last_success_at=now,
                last_error_kind=None, last_error=None, error_count=0, failing_since=None,
                interval_seconds=int(interval.total_seconds()), next_poll_at=now + interval,
                lease_owner=None, lease_until=None)   # the poll is recorded: its lease ends with it
