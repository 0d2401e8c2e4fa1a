"""Helpers that write rows as the pipeline would (items through assign_story, hits, source
states, destinations, votes), for tests of stories, search, hits, feedback and the report."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import insert

from bot.model import Item
from bot.storage.schema import destinations, hits, items, sources
from bot.stories.grouping import assign_story

_n = itertools.count(1)


def add_item(conn, source: str, title: str, at: datetime, *, summary: str = "", text: str = "",
             lang: str = "en", url: str | None = None, published: datetime | None = None,
             countries: list[str] | None = None, regions: list[str] | None = None,
             tags: list[str] | None = None, backlog: bool = False) -> tuple[int, int]:
    """Insert an item and group it; returns (item_id, story_id)."""
    n = next(_n)
    item = Item(source_id=source, guid=f"g{n}", url=url or f"https://{source}.example/{n}",
                title=title, summary=summary, text=text, language=lang,
                published=published or at, tags=list(tags or []))
    item_id = conn.execute(insert(items).values(
        source_id=source, guid=item.guid, url=item.url, title=title, summary=summary, text=text,
        language=lang, published_at=item.published, first_seen_at=at, is_backlog=backlog,
        categories=[], tags=item.tags, countries=countries or [], regions=regions or [],
    )).inserted_primary_key[0]
    return item_id, assign_story(conn, item_id, item, at)


def add_hit(conn, item_id: int, theme: str, rules: list[str], at: datetime,
            priority: str = "normal") -> int:
    return conn.execute(insert(hits).values(
        item_id=item_id, theme=theme, priority=priority, rules=rules, explanations=[],
        created_at=at)).inserted_primary_key[0]


def add_source(conn, source_id: str, at: datetime, **values) -> None:
    values.setdefault("status", "ok")
    conn.execute(insert(sources).values(id=source_id, url=f"https://{source_id}.example/feed",
                                        created_at=at, **values))


def add_dest(conn, chat, *, created_at: datetime, **values) -> int:
    """A self-subscribed destination row (instant alerts, daily digest); `values` override."""
    row = dict(chat_id=str(chat), origin="self", alerts="instant", digest="daily 08:00", active=True,
               created_at=created_at)
    row.update(values)
    return conn.execute(destinations.insert().values(**row)).inserted_primary_key[0]
