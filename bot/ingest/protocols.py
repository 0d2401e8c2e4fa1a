"""What the poller needs of the parts it is handed: a fetcher, the themes' matcher, and a
source's poll state as the database gives it.

Owns these seams as Protocols, so `Poller`'s signature says what it uses (and "go to
definition" lands here, then on the real classes: `bot.ingest.fetch.Fetcher`,
`bot.config.themes.ThemeSet`, `bot.match.Matcher` and the rows of
`bot.storage.repo.poll_states`). Must not hold behaviour.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from bot.ingest.fetch import FetchPolicy, FetchResult
    from bot.match import ThemeHit
    from bot.model import Matchable


class PollFetcher(Protocol):
    """An open fetcher the poller's threads call (bot.ingest.fetch.Fetcher)."""

    @property
    def policy(self) -> FetchPolicy: ...

    def pinned(self) -> AbstractContextManager[None]:
        """Keep one connection for this thread's fetches until the block ends."""
        ...

    def fetch_blocking(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url` on the calling thread; raises SourceFailure for every failure."""
        ...


class ItemMatcher(Protocol):
    """The compiled rules (bot.match.Matcher)."""

    def match(self, item: Matchable, *, explain: bool = True) -> list[ThemeHit]: ...


class MatcherSource(Protocol):
    """The validated themes (bot.config.themes.ThemeSet), compiled once per poller."""

    def matcher(self) -> ItemMatcher: ...


class PollState(Protocol):
    """What a poll reads of a source's row (bot.storage.repo.poll_states; read-only)."""

    @property
    def status(self) -> str: ...
    @property
    def feed_url(self) -> str | None: ...             # the feed a `type: auto` page led to
    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...
    @property
    def body_hash(self) -> str | None: ...
    @property
    def error_count(self) -> int: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def interval_seconds(self) -> int | None: ...
    @property
    def ttl_minutes(self) -> int | None: ...
    @property
    def next_poll_at(self) -> datetime | None: ...
    @property
    def backlog_done(self) -> bool: ...
    @property
    def lease_owner(self) -> str | None: ...
    @property
    def configured_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
