"""Feed discovery (bot.ingest.discovery): a page that links its feed is followed to it, once;
a feed, or a page scraped with selectors, is what it is. The fetch is a stand-in (no
network in a unit test); the parsing is the real parse_document."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from bot.errors import SourceFailure
from bot.ingest.discovery import follow_feed_link
from bot.ingest.fetch_policy import FetchResult
from bot.parse import Kind, ParsedFeed, parse_document

PAGE = (b"<!doctype html><html><head><title>Blog</title>"
        b"<link rel='alternate' type='application/rss+xml' href='/feed.xml'></head><body><p>Hi</p></body></html>")
FEED = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Blog</title><link>https://blog.example/</link>"
        b"<description>d</description><item><guid>g1</guid><link>https://blog.example/1</link>"
        b"<title>Migrants rescued at sea</title></item></channel></rss>")


def fetched(url: str, body: bytes, content_type: str) -> FetchResult:
    return FetchResult(url=url, status=200, headers=httpx.Headers({"content-type": content_type}), body=body,
                       not_modified=False, body_hash=hashlib.sha256(body).hexdigest(), etag=None,
                       last_modified=None, elapsed=0.0)


def parse(document: FetchResult, kind: Kind) -> ParsedFeed:
    return parse_document(document.body, url=document.url, content_type=document.content_type, kind=kind)


class Web:
    """What fetch stands in for: URL -> document, and the URLs asked for."""

    def __init__(self, pages: dict[str, FetchResult]) -> None:
        self.pages, self.asked = pages, []

    def __call__(self, url: str) -> FetchResult:
        self.asked.append(url)
        return self.pages[url]


def test_a_page_is_followed_to_the_feed_it_links():
    page = fetched("https://blog.example/", PAGE, "text/html")
    feed = fetched("https://cdn.example/blog.xml", FEED, "application/rss+xml")   # where the link led
    web = Web({"https://blog.example/feed.xml": feed})
    found = follow_feed_link(page, parse(page, "auto"), web, parse)
    assert web.asked == ["https://blog.example/feed.xml"]      # the link, resolved against the page
    assert found.discovered and found.feed_link == "https://blog.example/feed.xml"
    assert found.fetched is feed and [i.title for i in found.parsed.items] == ["Migrants rescued at sea"]


def test_a_feed_is_not_fetched_again():
    feed = fetched("https://blog.example/feed.xml", FEED, "application/rss+xml")
    web = Web({})
    parsed = parse(feed, "auto")
    found = follow_feed_link(feed, parsed, web, parse)
    assert web.asked == [] and not found.discovered and found.feed_link is None
    assert found.fetched is feed and found.parsed is parsed


def test_a_page_scraped_with_selectors_is_not_followed():
    """`type: html` (the probe with selectors, or a source so declared) keeps the page's items
    even when the page also links a feed."""
    body = PAGE.replace(b"<p>Hi</p>", b"<ul><li><a href='/a'>Detention centre report</a></li></ul>")
    page = fetched("https://blog.example/", body, "text/html")
    parsed = parse_document(page.body, url=page.url, content_type=page.content_type, kind="html",
                            selectors={"item": "li", "title": "a", "link": "a"})
    web = Web({})
    found = follow_feed_link(page, parsed, web, parse)
    assert web.asked == [] and not found.discovered
    assert [i.title for i in found.parsed.items] == ["Detention centre report"]


def test_one_hop_only_a_linked_page_is_not_a_feed():
    """The link leads to another page: it is parsed as a feed and fails as one, rather than
    being followed on (a chain of pages would be a loop waiting to happen)."""
    page = fetched("https://blog.example/", PAGE, "text/html")
    web = Web({"https://blog.example/feed.xml": fetched("https://blog.example/feed.xml", PAGE, "text/html")})
    with pytest.raises(SourceFailure) as failure:
        follow_feed_link(page, parse(page, "auto"), web, parse)
    assert failure.value.kind == "not-a-feed" and web.asked == ["https://blog.example/feed.xml"]
