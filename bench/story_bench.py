"""Story grouping: quality on real coverage, and cost per new item (target: under 2 ms).

Three parts (`--part quality|cost|flood|all`):

quality  ../shared/corpus/stories/{allsides_tune,uci_tune}.jsonl, each item stored and put in
         a story through `assign_story` on a temporary SQLite database (the real schema), in
         published order, `now` = its date: what the pipeline does. Reports, over pairs of
         items from different outlets, pairwise precision/recall/F1 against the gold events,
         B-cubed F1 (per item), and the events fully reunited (all items in one story).
         `--sweep NAME=v1,v2` re-runs it with a module constant of bot.stories.similarity,
         .index or .grouping changed, to see how P/R move around the chosen thresholds.
cost     a SQLite database (WAL, the real schema and migrations) holding N stored items with
         their stories and lookup keys (--items, default 10,000 and 100,000), then times
         `assign_story` for new items inside one transaction each: a third are copies of
         recent items from another outlet (suffix, prefix, punctuation changed), the rest new.
         Layouts: spread (N items over 60 days, keys pruned as in production) and window (all
         N inside the 72 h window, nothing prunable: the worst case).
         `--baseline REV` runs the cost part side by side for that git revision's bot/ (exported
         with `git archive` to a temporary folder) and the current checkout: one worker process
         each (bench/story_cost_worker.py), each on its own copy of the same database, timing
         the same new items in --batches alternating batches, so the machine's other work hits
         both alike. Prints mean/p50/p95 for both and the ratios current/baseline.
flood    one source posting N near-identical items (the same template with a counter and a
         varied word) in the window: the whole run's time, which must grow linearly.

    .venv/bin/python bench/story_bench.py [--part all] [--items 10000,100000] [--new 1000]
    .venv/bin/python bench/story_bench.py --part cost --baseline 485134b [--layout window]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
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
from bot.stories.grouping import assign_story  # noqa: E402
from bot.stories.index import SEP, LookupIndex  # noqa: E402
from bot.stories.terms import event_terms  # noqa: E402
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
    packer = LookupIndex()  # document frequencies decide which words are lookup keys
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
                # The keys assign_story stores: near-duplicate keys, then the event terms.
                fp = fingerprint(title, summ, "en", f"https://{src}.example/{i}")
                terms = packer.packed_terms(event_terms(title, summ, "en"), 8 | (i << 4))
                keys = np.fromiter([*fp.keys, SEP, *terms], dtype="<i8")
                packer.add(i, at, keys)
                batch_keys.append(dict(item_id=i, ref_at=at, sig=keys.tobytes()))
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


def new_item(j: int, recent: list[tuple[str, str, datetime]], rng: random.Random):
    """The j-th new item of the cost part, (source, title, summary, date): every third a copy
    of a recent item from another outlet, the rest new."""
    at = NOW + timedelta(seconds=j)
    if j % 3 == 0 and recent:
        title, summ, _ = rng.choice(recent[-3000:])
        title = rng.choice(["VIDEO: ", "", "Breaking: "]) + title.replace(" ", "  ", 1) + " - Reuters"
    else:
        title, summ = headline(rng), summary(rng)
    return f"new-{j % 7}", title, summ, at


def run(n: int, new: int, layout: str, tmp: Path) -> dict:
    rng = random.Random(42)
    engine, recent, (n_items, n_keys), build_s = build(tmp / f"bench-{layout}-{n}.db", n, layout, rng)
    timings, cpu, joined, load_ms = [], [], 0, 0.0
    next_id = n + 1
    for j in range(new):
        src, title, summ, at = new_item(j, recent, rng)
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


REPO = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "story_cost_worker.py"


def export_revision(rev: str, dest: Path) -> str:
    """`git archive REV bot` unpacked into dest; returns the revision's short hash."""
    short = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "--verify", f"{rev}^{{commit}}"],
                           check=True, capture_output=True, text=True).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", short, "bot"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return short


class Side:
    """One version's worker process (story_cost_worker.py) with its own copy of the database."""

    def __init__(self, name: str, code: Path, db: Path, new_path: Path, first_id: int) -> None:
        self.name = name
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.batch_cpu: list[float] = []  # mean CPU time per item, batch by batch
        self.stories: list[int] = []
        env = {**os.environ, "PYTHONPATH": str(code)}
        self.proc = subprocess.Popen([sys.executable, str(WORKER), str(db), str(new_path), str(first_id)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        loaded = Path(json.loads(self._read())["bot"]).resolve()
        if not loaded.is_relative_to(code.resolve()):  # e.g. an editable install won over PYTHONPATH
            raise SystemExit(f"{name}: worker imported bot from {loaded}, not from {code}")

    def _read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: worker exited (code {self.proc.wait()})")
        return line

    def time(self, a: int, b: int) -> tuple[list[float], list[float]]:
        """Groups new items a..b-1; returns their wall and CPU times (s)."""
        self.proc.stdin.write(f"{a} {b}\n")
        self.proc.stdin.flush()
        r = json.loads(self._read())
        self.stories += r["stories"]
        return r["wall"], r["cpu"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def _stats(prefix: str, seconds: list[float]) -> dict:
    s = sorted(seconds)
    return {f"{prefix}mean_ms": round(statistics.mean(s) * 1e3, 3),
            f"{prefix}p50_ms": round(s[len(s) // 2] * 1e3, 3),
            f"{prefix}p95_ms": round(s[int(len(s) * 0.95)] * 1e3, 3)}


def side_by_side(n: int, new: int, layout: str, tmp: Path, baseline: tuple[str, Path], batches: int) -> None:
    """The cost part for a baseline revision and the current code, each in its own process on
    its own copy of one database, timing the same new items in alternating batches (the
    first of each pair alternates too), so the machine's other work hits both alike."""
    rng = random.Random(42)
    path = tmp / f"ab-{layout}-{n}.db"
    engine, recent, (n_items, n_keys), build_s = build(path, n, layout, rng)
    engine.dispose()
    rows = [new_item(j, recent, rng) for j in range(new)]
    new_path = tmp / f"ab-{layout}-{n}-new.json"
    new_path.write_text(json.dumps([{"src": src, "title": title, "summary": summ, "at": at.isoformat()}
                                    for src, title, summ, at in rows]), encoding="utf-8")
    sides: list[Side] = []
    try:
        for name, code in (baseline, ("current", REPO)):
            copy = tmp / f"ab-{layout}-{n}-{name}.db"
            with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
            sides.append(Side(name, code, copy, new_path, n + 1))
        load_ms = {s.name: round(s.time(0, 1)[0][0] * 1e3, 1) for s in sides}  # loads the index
        bounds = np.linspace(1, new, batches + 1).astype(int)
        for k in range(batches):
            for side in sides if k % 2 == 0 else sides[::-1]:
                wall, cpu = side.time(bounds[k], bounds[k + 1])
                side.wall += wall
                side.cpu += cpu
                side.batch_cpu.append(statistics.mean(cpu))
    finally:
        for side in sides:
            side.close()
    base, cur = sides
    for side in sides:
        out = {"side": side.name, "layout": layout, "stored_items": n_items, "story_sigs_rows": n_keys,
               "index_load_ms": load_ms[side.name], "new_items": new}
        out.update(_stats("", side.wall))
        out.update(_stats("cpu_", side.cpu))
        print(" ".join(f"{k}={v}" for k, v in out.items()), flush=True)
    ratio = {"ratio": f"current/{base.name}", "layout": layout, "stored_items": n_items}
    for kind, b, c in (("", base.wall, cur.wall), ("cpu_", base.cpu, cur.cpu)):
        bs, cs = _stats(kind, b), _stats(kind, c)
        ratio.update({k: round(cs[k] / bs[k], 3) for k in bs})
    ratio["cpu_mean_median_of_batch_ratios"] = round(statistics.median(
        c / b for b, c in zip(base.batch_cpu, cur.batch_cpu)), 3)
    ratio["same_stories"] = base.stories == cur.stories
    ratio["build_s"] = round(build_s, 1)
    ratio["load"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(" ".join(f"{k}={v}" for k, v in ratio.items()), flush=True)


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "stories"


def _store_and_assign(engine, n: int, r: dict, at: datetime) -> int:
    item = Item(source_id=r["source"], guid=r["id"], url=r["url"], title=r["title"],
                summary=r["summary"], language=r["lang"], published=at)
    with engine.begin() as conn:
        conn.execute(insert(items).values(
            id=n, source_id=item.source_id, guid=item.guid, url=item.url, title=item.title,
            summary=item.summary, text="", language=item.language, published_at=at,
            first_seen_at=at, categories=[], tags=[], countries=[], regions=[]))
        return assign_story(conn, n, item, at)


def scores(rows: list[dict], story: dict[str, int]) -> dict:
    """Cross-outlet pairwise P/R/F1, B-cubed F1 and events fully reunited."""
    tp = fp = fn = 0
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ra, rb = rows[a], rows[b]
            if ra["source"] == rb["source"]:
                continue
            same_gold, same_story = ra["gold"] == rb["gold"], story[ra["id"]] == story[rb["id"]]
            tp += same_gold and same_story
            fp += same_story and not same_gold
            fn += same_gold and not same_story
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 0.0
    by_gold: dict[str, set[str]] = {}
    by_story: dict[int, set[str]] = {}
    for row in rows:
        by_gold.setdefault(row["gold"], set()).add(row["id"])
        by_story.setdefault(story[row["id"]], set()).add(row["id"])
    gold_of = {row["id"]: row["gold"] for row in rows}
    bp = br = 0.0
    for row in rows:
        mine = by_story[story[row["id"]]]
        gold = by_gold[row["gold"]]
        common = sum(1 for other in mine if gold_of[other] == row["gold"])
        bp += common / len(mine)
        br += common / len(gold)
    bp, br = bp / len(rows), br / len(rows)
    events = [g for g in by_gold.values() if len(g) > 1]
    reunited = sum(1 for g in events if len({story[i] for i in g}) == 1)
    exact = sum(1 for g in events if len({story[i] for i in g}) == 1
                and by_story[story[next(iter(g))]] == g)
    return {"pairs_tp": tp, "pairs_fp": fp, "pairs_fn": fn, "P": round(p, 3), "R": round(r, 3),
            "F1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "bcubed_F1": round(2 * bp * br / (bp + br), 3),
            "events": len(events), "reunited": reunited, "reunited_share": round(reunited / len(events), 3),
            "reunited_exactly": exact}


def quality(name: str, tmp: Path) -> dict:
    rows = [json.loads(line) for line in (CORPUS / name).open(encoding="utf-8")]
    rows.sort(key=lambda r: r["published"])  # stable: the file's order among equal dates
    path = tmp / f"q-{name}.db"
    path.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{path}")
    story: dict[str, int] = {}
    t0 = time.process_time()
    for n, r in enumerate(rows, 1):
        at = datetime.fromisoformat(r["published"])
        story[r["id"]] = _store_and_assign(engine, n, r, at)
    cpu = time.process_time() - t0
    engine.dispose()
    out = {"corpus": name, "items": len(rows)}
    out.update(scores(rows, story))
    out["cpu_ms_per_item"] = round(cpu / len(rows) * 1e3, 2)
    return out


def flood(n: int, tmp: Path) -> dict:
    """One source, n near-identical items inside the window: total time of grouping them."""
    rng = random.Random(7)
    engine = open_database(f"sqlite:///{tmp / f'flood-{n}.db'}")
    t0 = time.process_time()
    stories_seen = set()
    for i in range(1, n + 1):
        at = NOW + timedelta(seconds=10 * i)
        r = {"source": "flooder", "id": f"f{i}", "url": f"https://flooder.example/{i}",
             "title": f"Price alert {rng.choice(WORDS)} for item {i} now available",
             "summary": "Click here to see the latest price alert for this product in our shop.",
             "lang": "en"}
        stories_seen.add(_store_and_assign(engine, i, r, at))
    cpu = time.process_time() - t0
    engine.dispose()
    return {"part": "flood", "items": n, "stories": len(stories_seen), "cpu_s": round(cpu, 1),
            "ms_per_item": round(cpu / n * 1e3, 2)}


def _sweep(spec: str):
    """NAME=v1,v2 -> [(module, NAME, value)], the module being the one that defines NAME."""
    import bot.stories.similarity as sim
    import bot.stories.index as ix
    import bot.stories.grouping as st
    name, values = spec.split("=", 1)
    module = next(m for m in (sim, ix, st) if hasattr(m, name))
    return module, name, [type(getattr(module, name))(v) for v in values.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["quality", "cost", "flood", "all"], default="all")
    ap.add_argument("--items", default="10000,100000", help="stored items for the cost part")
    ap.add_argument("--new", type=int, default=1000)
    ap.add_argument("--layout", choices=["spread", "window", "both"], default="both")
    ap.add_argument("--flood", default="2000,10000", help="item counts for the flood part")
    ap.add_argument("--sweep", action="append", default=[], help="NAME=v1,v2 (quality part)")
    ap.add_argument("--baseline", metavar="REV",
                    help="cost part side by side with this git revision's bot/ (ratio current/baseline)")
    ap.add_argument("--batches", type=int, default=10, help="alternating batches (with --baseline)")
    args = ap.parse_args()
    if args.baseline and args.part != "cost":
        ap.error("--baseline needs --part cost")
    layouts = ["spread", "window"] if args.layout == "both" else [args.layout]
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("quality", "all"):
            for name in ("allsides_tune.jsonl", "uci_tune.jsonl"):
                print(" ".join(f"{k}={v}" for k, v in quality(name, Path(tmp)).items()), flush=True)
            for spec in args.sweep:
                module, const, values = _sweep(spec)
                saved = getattr(module, const)
                try:
                    for v in values:
                        setattr(module, const, v)
                        for name in ("allsides_tune.jsonl", "uci_tune.jsonl"):
                            q = quality(name, Path(tmp))
                            print(f"{const}={v} corpus={name} P={q['P']} R={q['R']} F1={q['F1']} "
                                  f"bcubed_F1={q['bcubed_F1']} reunited_share={q['reunited_share']}", flush=True)
                finally:
                    setattr(module, const, saved)
        if args.baseline:
            baseline = (f"baseline-{args.baseline}", Path(tmp) / "baseline")
            short = export_revision(args.baseline, baseline[1])
            print(f"baseline {args.baseline} = {short}; load average at start:",
                  " ".join(f"{x:.1f}" for x in os.getloadavg()), flush=True)
            for n in (int(x) for x in args.items.split(",")):
                for layout in layouts:
                    side_by_side(n, args.new, layout, Path(tmp), baseline, args.batches)
        elif args.part in ("cost", "all"):
            for n in (int(x) for x in args.items.split(",")):
                for layout in layouts:
                    r = run(n, args.new, layout, Path(tmp))
                    print(" ".join(f"{k}={v}" for k, v in r.items()), flush=True)
        if args.part in ("flood", "all"):
            for n in (int(x) for x in args.flood.split(",")):
                print(" ".join(f"{k}={v}" for k, v in flood(n, Path(tmp)).items()), flush=True)
    print("target: under 2 ms per new item; load average during the run:",
          " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
