"""What a poll writes: the writes that end one source's poll, each in ONE transaction with the
source's new state, so a crash between two steps leaves the source unpolled rather than
half-stored.

Owns:
- a changed source (`store_changed`): its new items, their countries, stories, hits and queued
  deliveries, with its ETag, Last-Modified, body hash, feed URL, TTL and next poll; and the
  backlog rule (on the first successful poll, items published before the source was added are
  stored and matched but queue no delivery);
- unchanged sources (`write_unchanged`): their state, many sources in one transaction;
- a failure (`record_failure`): its kind, message and count, and the backoff.
Each write ends the source's lease (bot.storage.leases).

Must not fetch, parse, pick the sources of a cycle or know its threads (bot.ingest.pipeline
calls these on its store thread), nor know Telegram or email beyond the outbox's
queue_for_hits: storing hits and queueing them is the one named exception to the layer
contract (pyproject.toml).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.config.sources import Source, SourcesConfig
from bot.ingest import scheduling
from bot.ingest.fetch_policy import FetchResult
from bot.ingest.poll_results import ErrorKind, SourceResult
from bot.ingest.protocols import ItemMatcher, PollState
from bot.model import Item
from bot.parse import ParsedFeed
from bot.storage import repo

log = logging.getLogger(__name__)

_ERROR_TEXT_MAX = 500
# What a successful poll changes on a source that was healthy (status ok, no error, no lease:
# a claimed source carries a lease and so takes the full write).
_SUCCESS_CHANGES = ("last_poll_at", "last_success_at", "interval_seconds", "next_poll_at")


@dataclass
class Unchanged:
    """A source that answered 304 (or the body it had): its state, written later in a batch."""

    source: Source
    state: PollState
    etag: str | None
    last_modified: str | None
    hints: scheduling.Hints
    now: datetime
    result: SourceResult


class PollWriter:
    """Writes the end of each source's poll. `matcher`: the compiled themes (None: no hits).
    `clock`: aware-UTC now(); `rng`: the jitter of failure backoff."""

    def __init__(self, engine: Engine, sources_cfg: SourcesConfig, matcher: ItemMatcher | None,
                 clock: Callable[[], datetime], rng: random.Random):
        self.engine, self.sources_cfg, self.matcher = engine, sources_cfg, matcher
        self.clock, self.rng = clock, rng

    def store_changed(self, source: Source, state: PollState, fetched: FetchResult, parsed: ParsedFeed,
                      feed_url: str | None, result: SourceResult) -> None:
        """Store a changed document's new items and the source's state; fills `result`."""
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
        new_hits: list[NewHit] = []
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
        result.next_poll_at = now + interval
        log.debug("source %s changed new_items=%d hits=%d queued=%d backlog=%s", source.id, new_count,
                  len(new_hits), queued, backlog_poll)

    def write_unchanged(self, pending: list[Unchanged]) -> None:
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
                p.result.next_poll_at = p.now + interval
                if _was_healthy(p.state):
                    healthy.append(dict(id=p.source.id, etag=p.etag, last_modified=p.last_modified,
                                        **{k: values[k] for k in _SUCCESS_CHANGES}))
                else:
                    values.update(id=p.source.id, etag=p.etag, last_modified=p.last_modified)
                    others.append(values)
            repo.update_sources(conn, healthy)
            repo.update_sources(conn, others)

    def record_failure(self, source: Source, state: PollState, result: SourceResult, kind: ErrorKind,
                       message: str, retry_after_seconds: float | None) -> None:
        """Record a failed poll (kind, message, count) and back the source off; fills `result`.
        The database itself failing is logged: the cycle goes on."""
        now = self.clock()
        count = (state.error_count or 0) + 1
        hint = timedelta(seconds=retry_after_seconds) if retry_after_seconds else None
        delay = scheduling.backoff_delay(self.sources_cfg.interval(source), count, self.rng.random(), hint)
        next_poll = now + delay
        values: dict[str, object] = dict(
            last_poll_at=now, last_error_kind=kind, last_error=message[:_ERROR_TEXT_MAX], error_count=count,
            failing_since=state.failing_since or now, next_poll_at=next_poll, lease_owner=None, lease_until=None)
        if state.status != "paused":
            values["status"] = "failing"
        try:
            with self.engine.begin() as conn:
                repo.update_source(conn, source.id, **values)
        except Exception:  # the database itself failing: report it, keep the cycle going
            log.exception("source %s: could not record its failure", source.id)
        result.outcome, result.error_kind, result.error = "failed", kind, message
        result.next_poll_at = next_poll

    def _success_interval(self, source: Source, recent: int, state: PollState, hints: scheduling.Hints) -> timedelta:
        cfg = self.sources_cfg
        return scheduling.next_success_interval(cfg.interval(source), recent, _previous(state), hints,
                                                min_interval=cfg.min_interval(source),
                                                max_interval=cfg.max_interval(source))


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


def _previous(state: PollState) -> timedelta | None:
    return timedelta(seconds=state.interval_seconds) if state.interval_seconds else None


def _was_healthy(state: PollState) -> bool:
    return (state.status == "ok" and not state.error_count and state.failing_since is None
            and state.lease_owner is None)


def _success_values(state: PollState, now: datetime, interval: timedelta) -> dict[str, object]:
    return dict(status="paused" if state.status == "paused" else "ok", last_poll_at=now, last_success_at=now,
                last_error_kind=None, last_error=None, error_count=0, failing_since=None,
                interval_seconds=int(interval.total_seconds()), next_poll_at=now + interval,
                lease_owner=None, lease_until=None)   # the poll is recorded: its lease ends with it
