"""Items stored and grouped as the pipeline does, for the tests of bot.stories: `Store.add`
inserts an item and assigns its story; `background` adds unrelated items so that word
rarities mean something (as in a real window); `LEDE` is a shipwreck report's first lines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.model import Item
from bot.storage.schema import items
from bot.stories.grouping import assign_story

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


class Store:
    def __init__(self, engine):
        self.engine = engine
        self.n = 0

    def add(self, source: str, title: str, *, summary: str = "", lang: str = "en",
            at: datetime = T0, url: str | None = None, published: datetime | None = None) -> int:
        """Insert an item as the pipeline does and assign its story; return the story id."""
        self.n += 1
        item = Item(source_id=source, guid=f"g{self.n}", url=url or f"https://{source}.example/{self.n}",
                    title=title, summary=summary, language=lang,
                    published=published if published is not None else at)
        with self.engine.begin() as conn:
            item_id = conn.execute(items.insert().values(
                source_id=source, guid=item.guid, url=item.url, title=title, summary=summary,
                text="", language=lang, published_at=item.published, first_seen_at=at,
                categories=[], tags=[], countries=[], regions=[])).inserted_primary_key[0]
            story_id = assign_story(conn, item_id, item, at)
            stored = conn.execute(select(items.c.story_id).where(items.c.id == item_id)).scalar()
        assert stored == story_id
        return story_id


def background(store: Store, n: int = 25) -> None:
    """Unrelated items, so that word rarities mean something (as in a real window)."""
    topics = ["Parliament debates the budget for schools", "Storm closes ports in the north",
              "Court hears appeal over factory pollution", "Central bank holds interest rates",
              "Football club sacks its coach after defeat"]
    for i in range(n):
        store.add(f"bg-{i}", f"{topics[i % 5]} on day {i}", summary=f"{topics[(i + 2) % 5]}.",
                  at=T0 - timedelta(hours=1 + i))


LEDE = ("Italian coast guard said 41 people were missing after a boat carrying migrants from "
        "Libya capsized near Lampedusa; survivors told aid workers it left Sfax two days earlier.")
