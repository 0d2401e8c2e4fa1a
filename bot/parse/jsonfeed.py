"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed.

feedparser does not read JSON Feed, so this module does, tolerantly: unknown keys are
ignored, wrong types in one item drop that field, not the feed. No I/O.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.errors import SourceFailure
from bot.parse.items import build_item, clean_text, is_empty, parse_date
from bot.parse import ParsedFeed


def _str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # JSON Feed 1.0 ids were sometimes numbers
    return None


def _author(obj: dict[str, object]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [name for a in authors if isinstance(a, dict) and isinstance(name := a.get("name"), str)]
        if names:
            return ", ".join(names)
    author = obj.get("author")  # 1.0
    if isinstance(author, dict) and isinstance(name := author.get("name"), str):
        return name
    return None


def parse(body: bytes, *, url: str, source_id: str, tags: tuple[str, ...], default_language: str | None,
          now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceFailure("parse-error", f"JSON Feed is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SourceFailure("parse-error", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise SourceFailure("not-a-feed", "JSON document is not a JSON Feed (not an object)")
    version = _str(doc.get("version")) or ""
    if "jsonfeed.org/version/" not in version:
        raise SourceFailure("not-a-feed", "JSON document is not a JSON Feed (no jsonfeed.org version)")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise SourceFailure("parse-error", "JSON Feed has no 'items' list")
    feed_lang = _str(doc.get("language"))
    feed_author = _author(doc)
    base = _str(doc.get("home_page_url")) or url
    items = []
    for raw in raw_items:
        if not isinstance(raw, dict):
            continue
        tags_raw = raw.get("tags")
        item = build_item(
            source_id=source_id, tags=tags, now=now, base_url=base,
            entry_id=_str(raw.get("id")),
            link=_str(raw.get("url")) or _str(raw.get("external_url")),
            title=_str(raw.get("title")),
            summary=_str(raw.get("summary")),
            content=_str(raw.get("content_html")) or _str(raw.get("content_text")),
            author=_author(raw) or feed_author,
            categories=[t for t in tags_raw if isinstance(t, str)] if isinstance(tags_raw, list) else [],
            languages=[_str(raw.get("language")), feed_lang],
            published=parse_date(_str(raw.get("date_published")) or _str(raw.get("date_modified"))),
            default_language=default_language,
        )
        if not is_empty(item):
            items.append(item)
    suffix = version.rsplit("/", 1)[-1]
    return ParsedFeed(title=clean_text(_str(doc.get("title"))) or None, items=items,
                      format=f"json{suffix}")
