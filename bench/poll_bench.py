"""Polling benchmark: N feeds of M items served by nginx (another process), polled by the
Poller for three cycles, against a plain sequential httpx.get + feedparser.parse loop.

    .venv/bin/python bench/poll_bench.py                   # 10,000 feeds of 50 items, 10% changed
    .venv/bin/python bench/poll_bench.py --sources 1000    # smaller

Cycles (the Poller, full pipeline: fetch, parse, store, countries, stories, rules, outbox):
  1. first poll: every feed is new (its items are stored as backlog);
  2. steady state: 10% of the feeds gained one item since (the figure the 60 s target is about);
  3. nothing changed: every request is a conditional GET answered 304.
CPU per unchanged feed = CPU of cycle 3 / N; CPU per changed feed = (CPU of cycle 2 minus the
unchanged feeds at the cycle-3 rate) / changed feeds. CPU is the polling process's own (user +
system; nginx is another process), and the parse workers' is read from /proc per cycle and
printed beside it. Peak memory is ru_maxrss after the cycles. The machine may be shared: the
load average is printed, and CPU time is the figure to compare across runs, not wall time.

The feeds are served by Debian's nginx-light (`apt-get install -y nginx-light`), which answers
If-None-Match with 304 out of the box; a server in this process would steal the client's GIL
(PERF-NOTES). Feeds are spread over N/4 host names (resolved to 127.0.0.1 by the Fetcher's
resolver hook), as real feeds sit on many hosts and the Fetcher limits concurrency per host.
The sequential baseline runs on a subset (--baseline, default 200 feeds) and is extrapolated
to N; it is printed as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ("asylum seekers migrants refugees border detention centre pushback sea rescue court ruling "
         "European Commission Greece Italy Libya Mediterranean NGO humanitarian report children camp "
         "deportation return policy minister parliament vote law agency Frontex shelter access lawyers "
         "monitoring civil society activists journalists funding the of and in to for with on at by a").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_item(rng: random.Random, feed: int, n: int, when: datetime) -> str:
    title = sentence(rng, 9)
    desc = " ".join(sentence(rng, 14) for _ in range(8))
    return (f"<item><title>{title}</title><link>https://site{feed}.example/news/{n}</link>"
            f"<guid isPermaLink=\"false\">feed{feed}-item{n}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>{desc}</description></item>")


def write_feed(path: Path, feed: int, first: int, count: int, now: datetime, rng: random.Random) -> None:
    items = [make_item(rng, feed, n, now - timedelta(hours=(first + count - n))) for n in range(first + count - 1, first - 1, -1)]
    path.write_text(f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                    f"<title>Feed {feed}</title><link>https://site{feed}.example/</link><language>en</language>"
                    f"<description>bench</description>{''.join(items)}</channel></rss>", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(root: Path, feeds: Path) -> tuple[subprocess.Popen, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("nginx not found: apt-get install -y nginx-light")
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  default_type application/rss+xml;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{ listen 127.0.0.1:{port} reuseport; root {feeds}; }}
}}
""")
    proc = subprocess.Popen([nginx, "-p", str(root), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"nginx did not start: {proc.stderr.read().decode(errors='replace') if proc.stderr else ''}")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def proc_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of other processes (the parse workers), from /proc."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_cycles(args: argparse.Namespace, root: Path, feeds: Path, port: int, now: datetime) -> dict:
    from bot.config.sources import SourcesConfig, SourcesFile
    from bot.ingest.fetch import Fetcher, FetchPolicy
    from bot.ingest.pipeline import Poller
    from bot.storage.db import open_database

    hosts = max(1, args.sources // 4)
    cfg = SourcesConfig(SourcesFile.model_validate({
        "defaults": {"interval": "30m", "language": "en"},
        "sources": [{"id": f"feed-{i}", "url": f"http://h{i % hosts}.bench.test:{port}/feed-{i}.xml",
                     "type": "feed", "tags": ["bench"]} for i in range(args.sources)],
    }), root / "sources.yaml")
    themes = None
    if args.rules:
        from bot.config.themes import load_themes

        themes = load_themes(Path(args.rules).parent if Path(args.rules).name == "rules" else Path(args.rules))
    engine = open_database(f"sqlite:///{root / 'bench.db'}")
    clock_now = [now]

    def resolve(host: str, port_: int) -> list[str]:
        return ["127.0.0.1"]   # plain function: the Fetcher calls it on its worker thread

    policy = FetchPolicy(allow_private=True, timeout=60.0, max_connections=args.connections)
    out: dict = {}
    rng = random.Random(7)
    executor = None
    if args.parse_workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(args.parse_workers, mp_context=multiprocessing.get_context("spawn"))
    async with Fetcher(policy, resolver=resolve) as fetcher:
        poller = Poller(engine, cfg, themes, fetcher, clock=lambda: clock_now[0], concurrency=args.concurrency,
                        parse_executor=executor)
        for cycle in (1, 2, 3):
            if cycle == 2:
                # 10% of the feeds gain one item (and drop their oldest)
                changed = rng.sample(range(args.sources), int(args.sources * args.changed))
                for i in changed:
                    path = feeds / f"feed-{i}.xml"
                    write_feed(path, i, 1, args.items, clock_now[0] + timedelta(days=1), random.Random(i + 1000))
                    st = path.stat()
                    os.utime(path, (st.st_atime, st.st_mtime + 10))  # nginx's ETag is mtime+size
                out["changed_feeds"] = len(changed)
            clock_now[0] += timedelta(days=1)  # every source due again
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            light = cycle == 1 and args.light_first
            if light:
                # Priming only: items and source state are stored for real, but countries,
                # stories and rules are skipped, so that 500,000 backlog items do not take an
                # hour; cycles 2 and 3 run the full pipeline. Printed as such.
                import bot.tagging.countries
                import bot.stories.grouping

                saved = (bot.tagging.countries.tag_countries, bot.stories.grouping.assign_story, poller.matcher)
                bot.tagging.countries.tag_countries = lambda text, lang: ([], [])
                bot.stories.grouping.assign_story = lambda conn, item_id, item, now: None
                poller.matcher = None
            workers = list(getattr(executor, "_processes", None) or {}) if executor is not None else []
            c0, w0, k0 = cpu(), time.perf_counter(), proc_cpu(workers)
            summary = await poller.poll()
            workers = list(getattr(executor, "_processes", None) or {}) if executor is not None else []
            if light:
                bot.tagging.countries.tag_countries, bot.stories.grouping.assign_story, poller.matcher = saved
            if profiler is not None:
                import pstats

                profiler.disable()
                print(f"--- profile of cycle {cycle} (top {args.profile} by own time)", file=sys.stderr)
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)
            out[cycle] = {"wall": time.perf_counter() - w0, "cpu": cpu() - c0, "worker_cpu": proc_cpu(workers) - k0,
                          "polled": summary.polled,
                          "changed": summary.changed, "unchanged": summary.unchanged, "failed": summary.failed,
                          "new_items": summary.new_items, "hits": summary.hits, "failures": summary.failures}
            print(f"cycle {cycle}: {out[cycle]}", file=sys.stderr, flush=True)
    engine.dispose()
    if executor is not None:
        executor.shutdown()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["worker_cpu"] = children.ru_utime + children.ru_stime
        out["worker_maxrss_mb"] = children.ru_maxrss / 1024
    out["maxrss_mb"] = maxrss_mb()
    return out


def baseline(args: argparse.Namespace, port: int) -> dict:
    import feedparser
    import httpx

    n = min(args.baseline, args.sources)
    c0, w0 = cpu(), time.perf_counter()
    for i in range(n):
        body = httpx.get(f"http://127.0.0.1:{port}/feed-{i}.xml").content
        parsed = feedparser.parse(body)
        assert parsed.entries, f"feed-{i} parsed to nothing"
    return {"feeds": n, "wall": time.perf_counter() - w0, "cpu": cpu() - c0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=10_000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--changed", type=float, default=0.10)
    ap.add_argument("--baseline", type=int, default=200, help="feeds in the sequential loop (extrapolated to N)")
    ap.add_argument("--concurrency", type=int, default=64, help="the Poller's concurrent sources")
    ap.add_argument("--connections", type=int, default=16,
                    help="FetchPolicy.max_connections: requests in flight (fetch worker threads)")
    ap.add_argument("--rules", default=str(REPO / "rules"), help="rules/ directory to match with ('' for none)")
    ap.add_argument("--parse-workers", type=int, default=1,
                    help="processes that parse changed feeds (0: parse in the polling process)")
    ap.add_argument("--light-first", action="store_true",
                    help="prime the first cycle without countries, stories and rules (for large N)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions of each cycle")
    args = ap.parse_args()

    import logging
    logging.basicConfig(level=logging.WARNING)

    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    os.chmod(root, 0o755)
    feeds = root / "feeds"
    feeds.mkdir()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t0 = time.perf_counter()
    for i in range(args.sources):
        write_feed(feeds / f"feed-{i}.xml", i, 0, args.items, now, random.Random(i))
    size = (feeds / "feed-0.xml").stat().st_size
    print(f"wrote {args.sources} feeds of {args.items} items (~{size // 1024} KB each) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    proc, port = start_nginx(root, feeds)
    try:
        cycles = asyncio.run(run_cycles(args, root, feeds, port, now))
        base = baseline(args, port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    n = args.sources
    c2, c3 = cycles[2], cycles[3]
    changed = max(1, cycles["changed_feeds"])
    per_unchanged = c3["cpu"] / max(1, c3["unchanged"])
    per_changed = (c2["cpu"] - per_unchanged * (n - changed)) / changed
    base_per_feed = base["wall"] / base["feeds"]
    base_total = base_per_feed * n
    print()
    print(f"poll_bench: {n} feeds x {args.items} items (~{size // 1024} KB), {args.changed:.0%} changed, "
          f"nginx-light in another process, {os.cpu_count()} cores, concurrency {args.concurrency}, "
          f"{args.connections} connections")
    print("load average (1/5/15 min): at start " + "/".join(f"{x:.1f}" for x in load_before)
          + ", at end " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"{'cycle':<34}{'wall s':>9}{'cpu s':>9}{'worker s':>10}{'new items':>11}{'failed':>8}")
    names = {1: "1 first poll (all new, backlog)" + (" LIGHT" if args.light_first else ""), 2: f"2 steady ({cycles['changed_feeds']} changed)",
             3: "3 nothing changed (all 304)"}
    for k in (1, 2, 3):
        c = cycles[k]
        print(f"{names[k]:<34}{c['wall']:>9.1f}{c['cpu']:>9.1f}{c['worker_cpu']:>10.1f}{c['new_items']:>11}"
              f"{c['failed']:>8}")
    print(f"CPU per unchanged feed (304):     {per_unchanged * 1000:.2f} ms")
    print(f"CPU per changed feed (1 new item, {args.items} parsed): {per_changed * 1000:.1f} ms polling process"
          f" + {c2['worker_cpu'] / changed * 1000:.1f} ms parse worker")
    print(f"CPU per feed, first poll ({args.items} new items{', LIGHT: no countries/stories/rules' if args.light_first else ''}): "
          f"{cycles[1]['cpu'] / n * 1000:.1f} ms")
    if "worker_cpu" in cycles:
        print(f"parse worker processes: {cycles['worker_cpu']:.1f} s CPU over all cycles, "
              f"peak {cycles['worker_maxrss_mb']:.0f} MB each")
    print(f"peak memory (ru_maxrss):          {cycles['maxrss_mb']:.0f} MB")
    print(f"sequential httpx.get + feedparser.parse: {base_per_feed * 1000:.1f} ms/feed wall, "
          f"{base['cpu'] / base['feeds'] * 1000:.1f} ms CPU (measured on {base['feeds']} feeds, "
          f"extrapolated to {n}: {base_total:.0f} s per cycle)")
    print(f"ratio, sequential loop / Poller: steady cycle {base_total / c2['wall']:.1f}x, "
          f"first poll {base_total / cycles[1]['wall']:.1f}x, unchanged cycle {base_total / c3['wall']:.1f}x")


if __name__ == "__main__":
    main()
