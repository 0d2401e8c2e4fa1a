"""One side of `story_bench.py --part cost --baseline REV`: times `assign_story` for batches
of new items on its own copy of the bench database, with whichever `bot` package is first on
PYTHONPATH (the checkout, or a baseline revision exported to a temporary folder).

It uses only what every revision has (`bot.model.Item`, `bot.storage.db.make_engine`, the
`items` table, `bot.stories.grouping.assign_story`) and runs no migrations: the database was
built by the current code. It keeps its index in memory between batches, so the parent can
alternate batches between the two sides.

    PYTHONPATH=CODE python story_cost_worker.py DB NEW_ITEMS_JSON FIRST_ID
    stdin "a b" -> stdout one JSON line {"wall": [s...], "cpu": [s...], "stories": [id...]} for items[a:b]
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from sqlalchemy import insert

import bot
from bot.model import Item
from bot.storage.db import make_engine
from bot.storage.schema import items
from bot.stories.grouping import assign_story


def main() -> None:
    db, new_path, first_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    new = json.loads(open(new_path, encoding="utf-8").read())
    engine = make_engine(f"sqlite:///{db}")
    print(json.dumps({"bot": bot.__file__}), flush=True)  # the parent checks which code runs
    for line in sys.stdin:
        a, b = (int(x) for x in line.split())
        out: dict[str, list] = {"wall": [], "cpu": [], "stories": []}
        for j in range(a, b):
            r = new[j]
            at = datetime.fromisoformat(r["at"])
            item = Item(source_id=r["src"], guid=f"n{j}", url=f"https://{r['src']}.example/{j}",
                        title=r["title"], summary=r["summary"], language="en", published=at)
            with engine.begin() as conn:
                conn.execute(insert(items).values(
                    id=first_id + j, source_id=item.source_id, guid=item.guid, url=item.url,
                    title=item.title, summary=item.summary, text="", language="en",
                    published_at=at, first_seen_at=at, categories=[], tags=[], countries=[],
                    regions=[]))
                t0, c0 = time.perf_counter(), time.process_time()
                story = assign_story(conn, first_id + j, item, at)
                out["cpu"].append(time.process_time() - c0)
                out["wall"].append(time.perf_counter() - t0)
            out["stories"].append(story)
        print(json.dumps(out), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
