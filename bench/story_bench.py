"""Story grouping cost per new item with 100,000 stored items (target: under 2 ms).

Builds a SQLite database (WAL, the real schema and migrations) holding N stored items with
their stories and lookup keys, then times `assign_story` for new items inside one transaction
each, as the pipeline calls it: a third are copies of recent items from another outlet
(suffix, prefix, punctuation changed), the rest new stories.

Two layouts:
  spread  N items over 60 days, keys pruned as in production (only recent keys kept)
  window  N items all inside the 72 h window, nothing prunable: the worst case

    .venv/bin/python bench/story_bench.py [--items 100000] [--new 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.model import Item  # noqa: E402
from bot.storage.db import open_database  # noqa: E402
from bot.storage.schema import items, stories, story_sigs  # noqa: E402
from bot.stories.grouping import assign_story
from bot.stories.similarity import fingerprint, title_key  # noqa: E402

WORDS = ("migrants asylum refugees border detention court ruling deportation boat rescue "
         "coast guard minister government policy camp children families reception centre "
         "pushback frontex mediterranean channel crossing smugglers visa permit integration "
         "protest strike workers housing shelter aid funding report rights ngo lawyers "
         "judges appeal parliament vote bill law reform eu pact greece italy spain malta "
         "poland hungary libya tunisia turkey france germany uk lampedusa lesbos calais").split()
# News vocabulary is large and Zipf-distributed: the domain words above plus syllable words.
_SYL = "ka lo mi ra te su no be di fa go hu ji ve zo pa ri".split()
VOCAB = WORDS + sorted({a + b + c for a in _SYL for b in _SYL for c in _SYL})[:6000]
ZIPF = [1 / (r + 1) ** 0.9 for r in range(len(VOCAB))]
OUTLETS = [f"outlet-{i}" for i in range(60)]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def headline(rng: random.Random) -> str:
    words = list(dict.fromkeys(rng.choices(VOCAB, ZIPF, k=rng.randint(6, 11))))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), str(rng.randint(2, 900)))
    return " ".join(words).capitalize()


def summary(rng: random.Random) -> str:
    return " ".join(rng.choices(VOCAB, ZIPF, k=rng.randint(25, 60))) + "."


def build(path: Path, n: int, layout: str, rng: random.Random):
    engine = open_database(f"sqlite:///{path}")
    span = timedelta(days=60) if layout == "spread" else timedelta(hours=70)
    keep_after = NOW - timedelta(hours=144)  # what pruning keeps (2 x window)
    t0 = time.perf_counter()
    batch_items, batch_stories, batch_keys = [], [], []
    recent: list[tuple[str, str, datetime]] = []
    with engine.begin() as conn:
        for i in range(1, n + 1):
            at = NOW - span * (1 - i / n)
            title, summ = headline(rng), summary(rng)
            src = rng.choice(OUTLETS)
            batch_items.append(dict(id=i, source_id=src, guid=f"g{i}", url=f"https://{src}.example/{i}",
                                    title=title, summary=summ, text="", language="en",
                                    published_at=at, first_seen_at=at, categories=[], tags=[],
                                    countries=[], regions=[], story_id=i))
            batch_stories.append(dict(id=i, lead_item_id=i, language="en", title_key=title_key(title),
                                      created_at=at, updated_at=at))
            if at >= keep_after:
                fp = fingerprint(title, summ, "en", f"https://{src}.example/{i}")
                batch_keys.append(dict(item_id=i, ref_at=at, sig=np.fromiter(
                    fp.keys, dtype="<i8", count=len(fp.keys)).tobytes()))
                recent.append((title, summ, at))
            if len(batch_items) >= 5000:
                conn.execute(insert(stories), batch_stories)
                conn.execute(insert(items), batch_items)
                if batch_keys:
                    conn.execute(insert(story_sigs), batch_keys)
                batch_items, batch_stories, batch_keys = [], [], []
        if batch_items:
            conn.execute(insert(stories), batch_stories)
            conn.execute(insert(items), batch_items)
            if batch_keys:
                conn.execute(insert(story_sigs), batch_keys)
        counts = (conn.execute(select(func.count()).select_from(items)).scalar(),
                  conn.execute(select(func.count()).select_from(story_sigs)).scalar())
    return engine, recent, counts, time.perf_counter() - t0


def run(n: int, new: int, layout: str, tmp: Path) -> dict:
    rng = random.Random(42)
    engine, recent, (n_items, n_keys), build_s = build(tmp / f"bench-{layout}.db", n, layout, rng)
    timings, cpu, joined, load_ms = [], [], 0, 0.0
    next_id = n + 1
    for j in range(new):
        at = NOW + timedelta(seconds=j)
        if j % 3 == 0 and recent:
            title, summ, _ = rng.choice(recent[-3000:])
            title = rng.choice(["VIDEO: ", "", "Breaking: "]) + title.replace(" ", "  ", 1) + " - Reuters"
        else:
            title, summ = headline(rng), summary(rng)
        src = f"new-{j % 7}"
        item = Item(source_id=src, guid=f"n{j}", url=f"https://{src}.example/{j}", title=title,
                    summary=summ, language="en", published=at)
        with engine.begin() as conn:
            conn.execute(insert(items).values(
                id=next_id, source_id=src, guid=item.guid, url=item.url, title=title, summary=summ,
                text="", language="en", published_at=at, first_seen_at=at, categories=[], tags=[],
                countries=[], regions=[]))
            t0, c0 = time.perf_counter(), time.process_time()
            story = assign_story(conn, next_id, item, at)
            c1 = time.process_time() - c0
            if j == 0:  # the first call loads the in-memory index from story_sigs
                load_ms = (time.perf_counter() - t0) * 1e3
            else:
                timings.append(time.perf_counter() - t0)
                cpu.append(c1)
        joined += story != next_id and story <= n
        next_id += 1
    engine.dispose()
    timings.sort()
    return {
        "layout": layout, "stored_items": n_items, "story_sigs_rows": n_keys,
        "build_s": round(build_s, 1), "index_load_ms": round(load_ms, 1), "new_items": new, "joined_existing": joined,
        "mean_ms": round(statistics.mean(timings) * 1e3, 3),
        "p50_ms": round(timings[len(timings) // 2] * 1e3, 3),
        "p95_ms": round(timings[int(len(timings) * 0.95)] * 1e3, 3),
        "max_ms": round(timings[-1] * 1e3, 3),
        # CPU time is what the item costs this process; wall time also holds waits for the
        # disk and, on a shared machine, for other processes.
        "cpu_mean_ms": round(statistics.mean(cpu) * 1e3, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=1000)
    ap.add_argument("--layout", choices=["spread", "window", "both"], default="both")
    args = ap.parse_args()
    layouts = ["spread", "window"] if args.layout == "both" else [args.layout]
    with tempfile.TemporaryDirectory() as tmp:
        for layout in layouts:
            r = run(args.items, args.new, layout, Path(tmp))
            print(" ".join(f"{k}={v}" for k, v in r.items()), flush=True)
    print("target: under 2 ms per new item; load average during the run:",
          " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
