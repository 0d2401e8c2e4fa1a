"""Parsing: bytes of a fetched document -> a `ParsedFeed` of clean items.

Owns format sniffing and dispatch: RSS 0.9x/1.0/2.0 and Atom (feedparser, in `feed.py`),
JSON Feed 1.0/1.1 (`jsonfeed.py`), HTML listing pages scraped with selectors and feed
autodiscovery (`html.py`). Normalisation of each entry is `bot.parse.items.build_item`; repairs of
ill-formed bytes feedparser would misread (surrogate-pair references, `&lang=` in links,
BOM-less UTF-16/32) are `repair.py`.

Must not do I/O (no HTTP: feedparser only ever gets bytes), nor know storage. Every failure
leaves as `SourceFailure('not-a-feed' | 'parse-error', message)`, never another exception, so a
broken source cannot stop a poll.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Literal, TypedDict

from bot.errors import SourceFailure
from bot.model import Item

if TYPE_CHECKING:
    from bot.parse.html import SelectorSource

log = logging.getLogger(__name__)

Kind = Literal["auto", "feed", "html"]
DocType = Literal["xml", "json", "html", "unknown"]


@dataclass
class ParsedFeed:
    """What a document held. `discovered_url` is set (and `items` empty) when an HTML page
    parsed with kind='auto' links to its feed: the caller fetches that URL as kind='feed'."""

    title: str | None
    items: list[Item] = field(default_factory=list)
    ttl_minutes: int | None = None
    discovered_url: str | None = None
    format: str = ""  # rss20, atom10, json1.1, html ... (feedparser's version names)


# What may come before the root element: XML declaration, processing instructions,
# comments, a DOCTYPE (with its internal subset), whitespace.
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype(?:[^\[>]|\[.*?\])*>)*", re.S | re.I)
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)")
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"channel"})
FEED_CONTENT_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                                "application/feed+xml"})


def root_element(head: bytes) -> bytes | None:
    """The local name of the first element after the prolog, lowercase (b'rss' for
    `<r:rss>`), or None when the head does not start with markup."""
    # _PROLOG matches at 0 whatever the head (everything in it is optional): never None
    m = _ROOT.match(head, _PROLOG.match(head).end())  # type: ignore[union-attr]
    return m[1].rsplit(b":", 1)[-1].lower() if m else None


def sniff(body: bytes, content_type: str | None = None) -> DocType:
    """Guess the document type from its first bytes (the Content-Type is often wrong:
    feeds are served as text/html, pages as application/xml). The root element decides,
    whatever precedes it (an XHTML DOCTYPE, a comment naming <html>); BOM-less UTF-16/32
    is read as such (bot.parse.repair.text_head)."""
    from bot.parse.repair import text_head

    head = text_head(body).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    root = root_element(head)
    if root in _FEED_ROOTS:
        return "xml"
    if root == b"html":
        return "html"
    low = head.lower()
    # Whichever root-ish marker comes first decides; XML declarations and comments may precede it.
    marks: dict[bytes, DocType] = {b"<rss": "xml", b"<feed": "xml", b"<rdf:rdf": "xml", b"<rdf": "xml",
             b"<html": "html", b"<!doctype html": "html"}
    found = [(low.find(m), kind) for m, kind in marks.items() if low.find(m) >= 0]
    if found:
        return min(found)[1]
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.endswith("json"):
        return "json"
    if low.startswith(b"<?xml") or ctype.endswith("xml"):
        return "xml"
    if ctype == "text/html" or low.startswith(b"<"):
        return "html"
    return "unknown"


def parse_document(body: bytes, *, url: str, content_type: str | None = None, kind: Kind = "auto",
                   selectors: SelectorSource | None = None, source_id: str = "", tags: Iterable[str] = (),
                   default_language: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """Parse one fetched document into clean items (see the module docstring).

    `selectors`: the source's `html:` block (an object or mapping with item, title, link,
    date, summary), required for kind='html' and used by kind='auto' on a page without a
    feed link. `now` (aware UTC) clamps future dates; defaults to the current time.
    """
    now = now or datetime.now(timezone.utc)
    ctx = _Context(url=url, source_id=source_id, tags=tuple(tags), default_language=default_language, now=now)
    try:
        return _dispatch(body, content_type, kind, selectors, ctx)
    except SourceFailure:
        raise
    except RecursionError:
        raise SourceFailure("parse-error", "document nested too deeply to parse") from None
    except Exception as exc:  # the contract: a parser bug must not crash a poll
        log.warning("unexpected parser failure on %s", url, exc_info=True)
        raise SourceFailure("parse-error", f"could not parse the document: {type(exc).__name__}: {exc}") from exc


class _Context(TypedDict):
    """Where the document came from and when: passed on to every format's parser."""

    url: str
    source_id: str
    tags: tuple[str, ...]
    default_language: str | None
    now: datetime


def _dispatch(body: bytes, content_type: str | None, kind: Kind, selectors: SelectorSource | None,
              ctx: _Context) -> ParsedFeed:
    from bot.parse import feed, html, jsonfeed

    if not body or not body.strip():
        raise SourceFailure("parse-error", "empty document")
    if kind == "html":
        if selectors is None:
            raise SourceFailure("parse-error", "type html needs html selectors (item, title, link)")
        return html.scrape(body, selectors, content_type=content_type, **ctx)
    doc = sniff(body, content_type)
    ctype = (content_type or "").split(";")[0].strip().lower()
    if doc == "html" and kind == "feed" and ctype in FEED_CONTENT_TYPES:
        # A source declared a feed, served as one, that looks like a page: read it as a
        # feed first; the page's error only if that finds nothing.
        try:
            parsed = feed.parse(body, content_type=content_type, **ctx)
            if parsed.items:
                return parsed
        except SourceFailure:
            pass
    if doc == "json":
        return jsonfeed.parse(body, **ctx)
    if doc == "html":
        links = html.discover_feeds(body, ctx["url"], content_type=content_type)
        if kind == "auto" and links:
            return ParsedFeed(title=None, discovered_url=links[0], format="html")
        if kind == "auto" and selectors is not None:
            return html.scrape(body, selectors, content_type=content_type, **ctx)
        if links:
            raise SourceFailure("not-a-feed", f"an HTML page, not a feed; it links to the feed {links[0]} "
                                           "(use that URL, or type: auto)")
        raise SourceFailure("not-a-feed", "an HTML page with no feed link (<link rel=\"alternate\">); "
                                       "find the site's feed URL, or use type: html with selectors")
    return feed.parse(body, content_type=content_type, **ctx)
