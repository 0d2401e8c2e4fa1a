"""Polling throughput with 1, 2 and 4 poller processes sharing one PostgreSQL (leases).

    .venv/bin/python bench/multiworker_bench.py                  # 2,000 feeds, 10% changed
    .venv/bin/python bench/multiworker_bench.py --sources 4000 --procs 1 2 4

Set-up: a throwaway PostgreSQL (tests/support/pgserver.py, Debian's package) and nginx serving the
feeds from another process (tests/support/nginxfeeds.py: 304 on If-None-Match). A first cycle stores
one item per feed (the backlog), with 4 processes. Then, for each process count K, two cycles
with every source due: "unchanged" (every answer a 304) and "changed" (10% of the feeds gained
one new item; the rest 304). The K processes start, import and connect first, then all begin
on one signal; each polls (bot.ingest.pipeline.Poller with a lease owner, the code `newsbot run
--role poller` runs) until no due source is left to claim. Reported per cycle: wall time,
sources/s, CPU seconds of the pollers and of the PostgreSQL server, WAL bytes written, and at
the end the database size. On a 2-core machine, more than two processes only add contention:
the point of K is that the work splits without double polls, not that 2 cores become 4.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

WORDS = ("asylum seekers migrants refugees border detention centre pushback sea rescue court ruling "
         "European Commission Greece Italy Libya Mediterranean NGO humanitarian report children camp "
         "deportation return policy minister parliament vote law agency Frontex shelter access lawyers").split()


def item(rng: random.Random, n: int, k: int) -> tuple[str, str, str]:
    title = " ".join(rng.choice(WORDS) for _ in range(9)).capitalize() + f" ({n}.{k})"
    desc = " ".join(" ".join(rng.choice(WORDS) for _ in range(14)) + "." for _ in range(6))
    return (f"{n}-{k}", title, desc)


# --- the worker process ---------------------------------------------------------------------

def worker(args: argparse.Namespace) -> None:
    from bot.config.sources import SourcesConfig, SourcesFile
    from bot.ingest.fetch import Fetcher, FetchPolicy
    from bot.ingest.pipeline import Poller
    from bot.storage.db import make_engine
    import bot.parse.feed  # noqa: F401  (imports before the start signal)
    import bot.stories.grouping  # noqa: F401
    from bot.tagging.countries import tag_countries

    tag_countries("Greece", "en")
    cfg = SourcesConfig(SourcesFile.model_validate({
        "defaults": {"interval": "30m", "language": "en", "per_host": 32},
        "sources": [{"id": f"s{n:05d}", "url": f"http://127.0.0.1:{args.port}/f/{n}.xml", "type": "feed"}
                    for n in range(args.sources)]}), Path("sources.yaml"))
    engine = make_engine(args.db)
    now = datetime.fromisoformat(args.now)

    async def run() -> dict:
        async with Fetcher(FetchPolicy(allow_private=True, timeout=60, per_host=32)) as fetcher:
            poller = Poller(engine, cfg, None, fetcher, clock=lambda: now, lease_owner=f"bench:{os.getpid()}:",
                            lease_ttl=120)
            print("ready", flush=True)
            sys.stdin.readline()   # the start signal
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            summary = await poller.poll()
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            return {"polled": summary.polled, "changed": summary.changed, "failed": summary.failed,
                    "new_items": summary.new_items, "wall": time.perf_counter() - t0,
                    "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                    "maxrss_mb": r1.ru_maxrss / 1024}

    print(json.dumps(asyncio.run(run())), flush=True)
    engine.dispose()


# --- the conductor --------------------------------------------------------------------------

def pg_cpu(pg) -> float:  # noqa: ANN001
    """CPU seconds of the PostgreSQL server: the postmaster and its children (/proc)."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


def wal_lsn(engine) -> int:  # noqa: ANN001
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar())


def cycle(args: argparse.Namespace, db_url: str, port: int, procs: int, now: datetime, engine, pg) -> dict:  # noqa: ANN001
    from sqlalchemy import update

    from bot.storage.schema import sources

    with engine.begin() as conn:
        conn.execute(update(sources).values(next_poll_at=now - timedelta(seconds=1)))
    cmd = [sys.executable, __file__, "--worker", "--db", db_url, "--port", str(port),
           "--sources", str(args.sources), "--now", now.isoformat()]
    workers = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    wal0, pg0 = wal_lsn(engine), pg_cpu(pg)
    t0 = time.perf_counter()
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()
    results = []
    for w in workers:
        results.append(json.loads(w.stdout.readline()))
        w.wait(60)
        w.stdin.close()
        w.stdout.close()
    wall = time.perf_counter() - t0
    polled = sum(r["polled"] for r in results)
    assert polled == args.sources, f"polled {polled} of {args.sources}: a source was missed or polled twice"
    return {"procs": procs, "wall": wall, "sources_per_s": polled / wall, "polled": polled,
            "changed": sum(r["changed"] for r in results), "new_items": sum(r["new_items"] for r in results),
            "failed": sum(r["failed"] for r in results), "split": [r["polled"] for r in results],
            "poller_cpu": sum(r["cpu"] for r in results), "pg_cpu": pg_cpu(pg) - pg0,
            "wal_bytes": wal_lsn(engine) - wal0, "maxrss_mb": max(r["maxrss_mb"] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=int, default=2000)
    ap.add_argument("--changed", type=float, default=0.10)
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--now", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    from sqlalchemy import text

    from bot.storage.db import open_database
    from support.nginxfeeds import NginxFeeds
    from support.pgserver import PgServer

    root = Path(tempfile.mkdtemp(prefix="newsbot-mw-bench-"))
    feeds = NginxFeeds(root / "nginx")
    rngs = {n: random.Random(n) for n in range(args.sources)}
    contents = {n: [item(rngs[n], n, 1)] for n in range(args.sources)}
    for n, items in contents.items():
        feeds.write(n, items)
    feeds.start()
    pg = PgServer().start()
    out: dict = {"sources": args.sources, "changed_fraction": args.changed, "cpus": os.cpu_count(), "cycles": []}
    try:
        db_url = pg.create_database()
        engine = open_database(db_url)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        first = cycle(args, db_url, feeds.port, max(args.procs), now, engine, pg)
        first["kind"] = "first poll (1 item each, backlog)"
        out["cycles"].append(first)
        print(json.dumps(first), file=sys.stderr, flush=True)
        k = 1
        for procs in args.procs:
            for kind in ("unchanged", "changed"):
                now += timedelta(hours=1)
                if kind == "changed":
                    k += 1
                    for n in random.Random(k).sample(range(args.sources), int(args.sources * args.changed)):
                        contents[n] = [item(rngs[n], n, k), *contents[n]][:10]
                        feeds.write(n, contents[n])
                res = cycle(args, db_url, feeds.port, procs, now, engine, pg)
                res["kind"] = kind
                out["cycles"].append(res)
                print(json.dumps(res), file=sys.stderr, flush=True)
        with engine.connect() as conn:
            out["db_bytes"] = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            out["items"] = conn.execute(text("SELECT count(*) FROM items")).scalar()
            out["table_bytes"] = dict(conn.execute(text(
                "SELECT relname, pg_total_relation_size(relid) FROM pg_catalog.pg_statio_user_tables "
                "ORDER BY 2 DESC LIMIT 6")).all())
        engine.dispose()
    finally:
        pg.stop()
        feeds.stop()
    print(json.dumps(out, indent=2))
    print("\nprocs  cycle       wall s  sources/s  poller CPU s  PG CPU s  CPU ms/source  WAL KB/source")
    for c in out["cycles"]:
        cpu = c["poller_cpu"] + c["pg_cpu"]
        print(f"{c['procs']:>5}  {c['kind'][:10]:<10} {c['wall']:>7.1f}  {c['sources_per_s']:>9.0f}  "
              f"{c['poller_cpu']:>12.1f}  {c['pg_cpu']:>8.1f}  {1000 * cpu / c['polled']:>13.1f}  "
              f"{c['wal_bytes'] / 1024 / c['polled']:>13.1f}")


if __name__ == "__main__":
    main()
