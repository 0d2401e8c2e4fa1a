"""The feed probe: fetch a URL once and say what a source there would give, before it is
added (`newsbot sources add`, `/addsource`).

A feed answers with its items; an HTML page is followed to the feed it links by the same
rule, the same code, as a `type: auto` source's polls (bot.ingest.discovery); with
selectors, a page is scraped with them, so a `type: html` source is tested before it is
written. A URL that yields no item is refused: a source added is a source that works.

Owns: that one fetch-and-parse and what it says when it fails. Must not: write sources.yaml
or the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import NewsbotError, SourceFailure
from bot.ingest.discovery import Document, follow_feed_link
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.ingest.fetch_policy import FetchResult
from bot.parse import Kind, ParsedFeed, parse_document

if TYPE_CHECKING:
    from bot.parse.html import SelectorSource


class ProbeError(NewsbotError):
    """The URL cannot become a working source; the message says why."""


@dataclass(frozen=True)
class Probe:
    url: str                   # what was asked
    feed_url: str              # where the items are: the feed a page links, else `url`
    items: int
    titles: tuple[str, ...]    # the first few, to show
    discovered: bool           # the feed was found through a page's link


async def probe(url: str, policy: FetchPolicy, *, selectors: SelectorSource | None = None) -> Probe:
    """Fetch `url` and parse it (with `selectors`: as a `type: html` page). Raises
    ProbeError when it cannot be fetched or yields no item; SourceFailure kinds in the text."""
    try:
        async with Fetcher(policy) as fetcher:
            found = await asyncio.to_thread(_fetch_items, fetcher, url, selectors)
    except SourceFailure as exc:
        raise ProbeError(f"{url}: {exc}") from None
    items = found.parsed.items
    if not items:
        if selectors is not None:
            raise ProbeError(f"{url}: the selectors found no item (item: {getattr(selectors, 'item', '?')!r}); "
                             "check them against the page")
        raise ProbeError(f"{url}: no feed and no items found (a page needs a feed link, or --type html "
                         "with selectors)")
    return Probe(url, found.feed_link or url, len(items), tuple(i.title for i in items[:3]), found.discovered)


def _fetch_items(fetcher: Fetcher, url: str, selectors: SelectorSource | None) -> Document:
    """The document at `url`, or the feed its page links: on a thread, with the fetcher's
    blocking call, as the poller's crew fetches."""

    def parse(fetched: FetchResult, kind: Kind) -> ParsedFeed:
        return parse_document(fetched.body, url=fetched.url, content_type=fetched.content_type, kind=kind,
                              selectors=selectors)

    first = fetcher.fetch_blocking(url)
    return follow_feed_link(first, parse(first, "html" if selectors is not None else "auto"),
                            fetcher.fetch_blocking, parse)


__all__ = ["Probe", "ProbeError", "probe"]
