"""Stored hits as one record per item (its themes and rules together), with its story and the
other sources that reported it: what `newsbot hits` prints, in the fields SPEC.md lists.

Must not: print or format for a channel (the CLI and the bot do that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from bot.storage import repo
from bot.stories.grouping import also_reported_by, story_members

FIELDS = ("item_id", "source", "title", "url", "published", "language", "themes", "rules",
          "countries", "regions", "first_seen", "story_id", "also_reported_by")


def list_item_hits(conn: Connection, since: datetime, theme: str | None = None) -> list[dict[str, Any]]:
    """Items with a hit created since `since` (of `theme` when given), newest hit first."""
    rows = repo.list_hits(conn, since=since, theme=theme)
    by_item: dict[int, dict[str, Any]] = {}
    for r in rows:  # newest first: the first row of an item fixes its place
        rec = by_item.get(r["item_id"])
        if rec is None:
            rec = by_item[r["item_id"]] = {
                "item_id": r["item_id"], "source": r["source_id"], "title": r["title"],
                "url": r["url"], "published": r["published_at"], "language": r["language"],
                "themes": [], "rules": [], "countries": list(r["countries"] or []),
                "regions": list(r["regions"] or []), "first_seen": r["first_seen_at"],
                "story_id": r["story_id"], "also_reported_by": [],
                "hit_ids": [],
            }
        rec["hit_ids"].append(r["hit_id"])
        if r["theme"] not in rec["themes"]:
            rec["themes"].append(r["theme"])
        for rule in r["rules"] or []:
            if rule not in rec["rules"]:
                rec["rules"].append(rule)
    members = story_members(conn, [rec["story_id"] for rec in by_item.values()])
    for rec in by_item.values():
        rec["themes"].sort()
        rec["also_reported_by"] = also_reported_by(members, rec["story_id"], rec["item_id"], rec["source"])
    return list(by_item.values())
