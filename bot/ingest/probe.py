"""The feed probe: fetch a URL once and say what a source there would give, before it is
added (`newsbot sources add`, `/addsource`).

A feed answers with its items; an HTML page is followed to the feed it links (the discovery
a `type: auto` source does on every poll); with selectors, a page is scraped with them, so a
`type: html` source is tested before it is written. A URL that yields no item is refused:
a source added is a source that works.

Owns: that one fetch-and-parse. Must not: write sources.yaml or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import NewsbotError
from bot.ingest.fetch import Fetcher, FetchPolicy
from bot.parse import parse_document


class ProbeError(NewsbotError):
    """The URL cannot become a working source; the message says why."""


@dataclass(frozen=True)
class Probe:
    url: str                   # what was asked
    feed_url: str              # where the items are: the feed a page links, else `url`
    items: int
    titles: tuple[str, ...]    # the first few, to show
    discovered: bool           # the feed was found through a page's link


async def probe(url: str, policy: FetchPolicy, *, selectors: Any = None) -> Probe:
    """Fetch `url` and parse it (with `selectors`: as a `type: html` page). Raises
    ProbeError when it cannot be fetched or yields no item; FetchError kinds in the text."""
    from bot.errors import FetchError

    try:
        async with Fetcher(policy) as fetcher:
            result = await fetcher.fetch(url)
            ctype = result.headers.get("content-type")
            if selectors is not None:
                parsed = parse_document(result.body, url=result.url, content_type=ctype, kind="html",
                                        selectors=selectors)
                feed_url, discovered = url, False
            else:
                parsed = parse_document(result.body, url=result.url, content_type=ctype)
                feed_url, discovered = url, False
                if not parsed.items and parsed.discovered_url:
                    feed_url, discovered = parsed.discovered_url, True
                    result = await fetcher.fetch(feed_url)
                    parsed = parse_document(result.body, url=result.url,
                                            content_type=result.headers.get("content-type"), kind="feed")
    except FetchError as exc:
        raise ProbeError(f"{url}: {exc}") from None
    if not parsed.items:
        if selectors is not None:
            raise ProbeError(f"{url}: the selectors found no item (item: {getattr(selectors, 'item', '?')!r}); "
                             "check them against the page")
        raise ProbeError(f"{url}: no feed and no items found (a page needs a feed link, or --type html "
                         "with selectors)")
    return Probe(url, feed_url, len(parsed.items), tuple(i.title for i in parsed.items[:3]), discovered)


__all__ = ["Probe", "ProbeError", "probe"]
