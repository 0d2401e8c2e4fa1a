"""Feed discovery: a web page that gives no item but links its feed is followed to that feed.

Owns that one rule, for both of its callers: the poller (a `type: auto` source whose URL is a
page, on each changed poll until the feed is known: bot.ingest.pipeline) and the probe before a
source is added (`sources add`, `/addsource`: bot.ingest.probe). So a source is polled the way
the probe showed it would be.

Must not choose how a document is fetched or parsed (the caller hands in its own fetch, on
its own thread, and its own parse, with the source's selectors and language), nor log, store
or decide where the source is polled from next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.ingest.fetch_policy import FetchResult
from bot.parse import Kind, ParsedFeed

Fetch = Callable[[str], FetchResult]                  # GET a URL (no validators)
Parse = Callable[[FetchResult, Kind], ParsedFeed]     # parse a fetched document as a kind


@dataclass(frozen=True)
class Document:
    """Where the items came from: the page itself, or the feed it links (`feed_link`)."""

    fetched: FetchResult
    parsed: ParsedFeed
    feed_link: str | None = None   # the link followed (as the page wrote it); None: no discovery

    @property
    def discovered(self) -> bool:
        return self.feed_link is not None


def follow_feed_link(fetched: FetchResult, parsed: ParsedFeed, fetch: Fetch, parse: Parse) -> Document:
    """`parsed` (the document `fetched` gave), or, when it is a page with no item that links
    a feed, that feed fetched and parsed as a feed. One hop only: a feed is not followed on."""
    if parsed.items or not parsed.discovered_url:
        return Document(fetched, parsed)
    link = parsed.discovered_url
    feed = fetch(link)
    return Document(feed, parse(feed, "feed"), link)


__all__ = ["Document", "Fetch", "Parse", "follow_feed_link"]
