"""RSS 0.9x/1.0/2.0 and Atom through feedparser -> ParsedFeed.

feedparser runs with `sanitize_html=False, resolve_relative_uris=False` (about twice as fast:
bot.parse.items.clean_text turns the HTML into plain text anyway, and only item links need
resolving). It only ever receives bytes, never a URL, so it does no I/O.
Bozo (ill-formed) documents keep whatever entries feedparser recovered; entries with no title,
link nor summary are dropped, and an ill-formed document left with none is a parse-error.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import Message
from typing import Any

import feedparser

from bot.errors import SourceFailure
from bot.parse.items import build_item, clean_text, is_empty, parse_date, to_utc
from bot.parse import ParsedFeed
from bot.parse.repair import repair

log = logging.getLogger(__name__)

# feedparser's FeedParserDict (the feed, an entry, a link): its values are whatever the feed held.
FeedDict = dict[str, Any]

_PERIOD_MINUTES = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200, "yearly": 525600}


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    return msg.get_param("charset")  # type: ignore[return-value]


def ttl_minutes(feed: FeedDict) -> int | None:
    """<ttl> (minutes), else sy:updatePeriod / sy:updateFrequency, as minutes between updates."""
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl)
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIOD_MINUTES:
        freq = str(feed.get("sy_updatefrequency") or "1").strip()
        n = int(freq) if freq.isdigit() and int(freq) > 0 else 1
        return max(1, _PERIOD_MINUTES[period] // n)
    return None


def _link(entry: FeedDict) -> str | None:
    """The entry's page: its rel="alternate" http(s) link (an HTML one first), else feedparser's
    `link` when it is not an enclosure, else another http(s) link that is not an enclosure
    (an `at://` alternate leaves a "related" one), else the id when it is an http(s) URL.
    Never an enclosure (the podcast's audio file is not the article)."""
    links = [link for link in entry.get("links") or () if link.get("href")]
    enclosures = {link["href"] for link in links if link.get("rel") == "enclosure"}
    alternates = [link for link in links if link.get("rel", "alternate") == "alternate" and _is_web(link["href"])]
    html = [link for link in alternates if "html" in (link.get("type") or "text/html")]
    if html or alternates:
        href: str = (html or alternates)[0]["href"]
        return href
    link: str | None = entry.get("link")
    if link and link not in enclosures and (_is_web(link) or not _has_scheme(link)) and not (
            entry.get("guidislink") and not _is_web(link)):
        return link
    others: list[str] = [link["href"] for link in links if link.get("rel") != "enclosure" and _is_web(link["href"])]
    if others:
        return others[0]
    entry_id: str | None = entry.get("id")
    return entry_id if entry_id and _is_web(entry_id) else None


def _is_web(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _has_scheme(url: str) -> bool:
    """`at://x`, `urn:x`, `mailto:x` (not a relative link to resolve against the feed)."""
    head = url.strip().split("/", 1)[0]
    return ":" in head


def _content(entry: FeedDict) -> str | None:
    contents = entry.get("content") or ()
    # Prefer HTML/text content over other media types.
    for c in contents:
        if c.get("value") and "html" in (c.get("type") or "text/html"):
            value: str = c["value"]
            return value
    first: str | None = contents[0].get("value") if contents else None
    return first


def _published(entry: FeedDict) -> datetime | None:
    """The entry's date as written, read by bot.parse.items.parse_date (day and month names of the
    coalition's languages, named zones at their offsets, 12-hour clocks); feedparser's own
    reading when that finds nothing (it reads CET as UTC and drops PM, so it comes second)."""
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict.get maps a missing updated_* to published_* with a
        # DeprecationWarning (feedparser issue 310).
        raw = dict.get(entry, key)
        dt = parse_date(raw) if isinstance(raw, str) else None
        if dt is None:
            value = dict.get(entry, f"{key}_parsed")
            dt = to_utc(value) if value else None
        if dt is not None:
            return dt
    return None


def parse(body: bytes, *, url: str, content_type: str | None, source_id: str, tags: tuple[str, ...],
          default_language: str | None, now: datetime) -> ParsedFeed:
    # No content-location: feedparser would "resolve" Atom ids such as "t3_x" into URLs,
    # changing GUIDs; item links are resolved against `url` by build_item.
    headers: dict[str, str] = {}
    charset = _charset(content_type)
    if charset:
        # Only a declared charset: feedparser applies RFC 3023 to a bare text/xml
        # (us-ascii), which mangles the many feeds served that way in UTF-8.
        headers["content-type"] = f"application/xml; charset={charset}"
    body = repair(body)
    d = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    entries = d.get("entries") or []
    version = d.get("version") or ""
    if not entries:
        if not version:
            if d.get("bozo") and body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                raise SourceFailure("parse-error", f"not a readable feed: {_bozo(d)}")
            raise SourceFailure("not-a-feed", "the document is neither RSS, Atom nor JSON Feed")
        if d.get("bozo"):
            raise SourceFailure("parse-error", f"ill-formed {version} feed with no readable entries: {_bozo(d)}")
    elif d.get("bozo"):
        log.debug("bozo feed %s (%s): kept %d recovered entries", url, _bozo(d), len(entries))
    feed = d.get("feed") or {}
    feed_lang = feed.get("language")
    items = []
    for entry in entries:
        detail_langs = [
            (entry.get("content") or [{}])[0].get("language"),
            (entry.get("summary_detail") or {}).get("language"),
            (entry.get("title_detail") or {}).get("language"),
        ]
        summary = entry.get("summary")
        content = _content(entry)
        item = build_item(
            source_id=source_id, tags=tags, now=now, base_url=url,
            entry_id=entry.get("id"), link=_link(entry), title=entry.get("title"),
            summary=summary, content=content, author=entry.get("author"),
            categories=[t.get("label") or t.get("term") or "" for t in entry.get("tags") or ()],
            languages=[*detail_langs, feed_lang], published=_published(entry),
            default_language=default_language,
        )
        if not is_empty(item):
            items.append(item)
    if not items and d.get("bozo"):
        # `<rss><channel><item><title>unterminated`: feedparser recovers an empty entry.
        raise SourceFailure("parse-error", f"ill-formed {version or 'feed'} document with no readable entries: "
                                        f"{_bozo(d)}")
    if len(items) < len(entries):
        log.debug("feed %s: dropped %d entries with no title, link nor summary", url, len(entries) - len(items))
    return ParsedFeed(title=clean_text(feed.get("title")) or None, items=items,
                      ttl_minutes=ttl_minutes(feed), format=version or "unknown")


def _bozo(d: FeedDict) -> str:
    exc = d.get("bozo_exception")
    if exc is None:
        return "ill-formed"
    # dynamic: SAX parse errors have getMessage/getLineNumber, feedparser's other bozo errors not
    text = str(getattr(exc, "getMessage", lambda: exc)())
    line = getattr(exc, "getLineNumber", lambda: None)()
    return f"{text} (line {line})" if line else text
