"""What the poller needs of the parts it is handed: a fetcher and the themes' matcher.

Owns these two seams as Protocols, so `Poller`'s signature says what it uses (and "go to
definition" lands here, then on the real classes: `bot.ingest.fetch.Fetcher`,
`bot.config.themes.ThemeSet` and `bot.match.Matcher`). Must not hold behaviour.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
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
