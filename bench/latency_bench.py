"""Item-to-alert latency of `newsbot run` for sources that publish at different rates.

Sources in five rate classes (1 a week, 3 a week, 1 a day, 5 a day, 50 a day) publish at
random times (a Poisson process per source, seeded) on a loopback feed server that answers
If-None-Match with 304. Each source also has a week of history, so the daemon knows its
publishing rate from the first poll. Every item matches a high-priority theme of its class,
and each class alerts its own private chat on the fake Bot API (tests/support/fakebotapi.py), so one
class's alerts never wait behind another's in Telegram's 1-message-a-second-per-chat limit.

The daemon runs as a subprocess on the compressed clock (NEWSBOT_TIME_SCALE; the bench shares
its origin, so both read the same simulated time). Latency is publication (simulated) to the
sendMessage that carries the item (its real arrival converted to simulated time). Real
processing time is magnified by the scale: at --scale 720 each 100 ms the daemon spends
shows as 1.2 simulated minutes, so a lower scale measures closer to reality.

Reported per class: items published, alerted, latency p50 / p95 / max (simulated minutes),
and the requests spent (200s and 304s) per source per simulated day.

Usage: .venv/bin/python bench/latency_bench.py [--days 3] [--scale 720] [--interval 30m] [--seed 1]
       [--max-interval 24h]   (adds max_interval under defaults: the opt-in slow-down)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bot.runtime.clock import Clock  # noqa: E402
from support.fakebotapi import TOKEN, FakeBotAPI  # noqa: E402

# (name, items per day, sources in the class): enough sources that each class publishes a few
# dozen items in three simulated days.
CLASSES = [("1/week", 1 / 7, 60), ("3/week", 3 / 7, 20), ("1/day", 1.0, 10), ("5/day", 5.0, 3),
           ("50/day", 50.0, 1)]
FEED_ITEMS = 20          # a feed shows its latest 20 items, as most do
HISTORY = timedelta(days=7)


@dataclass
class Source:
    sid: str
    klass: int
    times: list[datetime]                      # publication times, oldest first
    requests: dict[str, int] = field(default_factory=lambda: {"200": 0, "304": 0})

    def title(self, k: int) -> str:
        # Random words, so that no two items look like one story (an alert goes once per story).
        return f"Pushback rateclass{self.klass} {_words(self.sid, k, 6)} ref{self.sid}n{k}"

    def feed(self, now: datetime) -> tuple[bytes, str]:
        visible = [k for k, t in enumerate(self.times) if t <= now][-FEED_ITEMS:]
        etag = f'"{self.sid}-{visible[-1] if visible else "empty"}"'
        body = "".join(
            f"<item><title>{self.title(k)}</title><link>https://latency.example/{self.sid}/{k}</link>"
            f"<guid isPermaLink=\"false\">{self.sid}-{k}</guid>"
            f"<pubDate>{format_datetime(self.times[k], usegmt=True)}</pubDate>"
            f"<description>{_words(self.sid, -k - 1, 12)}.</description></item>"
            for k in reversed(visible))
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.sid}</title>'
                f"<link>https://latency.example/{self.sid}</link><description>d</description>{body}"
                f"</channel></rss>").encode(), etag


def _words(sid: str, k: int, n: int) -> str:
    rng = random.Random(f"{sid}/{k}")
    return " ".join("".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
                    for _ in range(n))


def make_sources(start: datetime, days: float, seed: int) -> list[Source]:
    rng = random.Random(seed)
    out = []
    for klass, (_name, per_day, count) in enumerate(CLASSES):
        for i in range(count):
            times, t = [], start - HISTORY
            end = start + timedelta(days=days)
            while True:
                t += timedelta(days=rng.expovariate(per_day))
                if t > end:
                    break
                times.append(t)
            out.append(Source(f"c{klass}s{i}", klass, times))
    return out


def serve_feeds(sources: dict[str, Source], clock: Clock) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            source = sources.get(self.path.strip("/").removesuffix(".xml"))
            if source is None:
                self.send_error(404)
                return
            body, etag = source.feed(clock.now())
            if self.headers.get("If-None-Match") == etag:
                with lock:
                    source.requests["304"] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:
                source.requests["200"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_config(work: Path, base: str, sources: list[Source], interval: str, max_interval: str | None) -> None:
    rules = work / "rules"
    rules.mkdir()
    for klass, (name, _rate, _n) in enumerate(CLASSES):
        (rules / f"rate{klass}.yaml").write_text(
            f"theme: rate{klass}\ntitle: Rate class {name}\ndescription: Items of the {name} sources.\n"
            f"priority: high\nrules:\n  - id: rate{klass}\n    query: 'rateclass{klass}'\n")
    lines = ["defaults:", f"  interval: {interval}", "  per_host: 16"]
    if max_interval:
        lines.append(f"  max_interval: {max_interval}")
    lines.append("sources:")
    for s in sources:
        lines += [f"  - id: {s.sid}", f"    url: {base}/{s.sid}.xml", "    type: feed"]
    (work / "sources.yaml").write_text("\n".join(lines) + "\n")
    chats = "".join(f"    - chat: {1000 + k}\n      name: class {k}\n      themes: [rate{k}]\n"
                    f"      alerts: instant\n      digest: 'off'\n" for k in range(len(CLASSES)))
    (work / "deliveries.yaml").write_text(f"timezone: UTC\ntelegram:\n  chats:\n{chats}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def run(args: argparse.Namespace) -> int:
    clock = Clock(args.scale, time.time())
    start = clock.now()
    sources = make_sources(start, args.days + 1, args.seed)   # a day's margin for the start-up
    by_id = {s.sid: s for s in sources}
    feeds = serve_feeds(by_id, clock)
    base = f"http://127.0.0.1:{feeds.server_address[1]}"
    bot_api = await FakeBotAPI(clock=clock.timestamp).start()
    work = Path(tempfile.mkdtemp(prefix="newsbot-latency-"))
    write_config(work, base, sources, args.interval, args.max_interval)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SMTP_"))}
    env.update(NEWSBOT_CONFIG_DIR=str(work), DATABASE_URL=f"sqlite:///{work / 'latency.db'}", NEWSBOT_HTTP="off",
               NEWSBOT_ALLOW_PRIVATE_NETWORKS="1", NEWSBOT_TIME_SCALE=str(args.scale),
               NEWSBOT_TIME_ORIGIN=repr(clock.origin), TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.url)
    newsbot = str(Path(sys.executable).with_name("newsbot"))
    log = open(work / "daemon.log", "wb")  # noqa: SIM115
    daemon = await asyncio.create_subprocess_exec(newsbot, "run", env=env, stdout=log, stderr=log)
    cpu_before = os.times()
    try:
        # Start-up (imports, migrations) takes simulated hours on a compressed clock: items
        # published before the first poll are the sources' backlog, so measuring starts there.
        while b"poll cycle polled=" not in (work / "daemon.log").read_bytes():
            if daemon.returncode is not None:
                raise SystemExit(f"the daemon exited; log: {work / 'daemon.log'}")
            await asyncio.sleep(0.05)
        start = clock.now()
        await asyncio.sleep(clock.real_seconds(args.days * 86400))
        # Items published in the last simulated hour may not be alerted yet: give them an hour.
        await asyncio.sleep(clock.real_seconds(3600))
    finally:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.wait_for(daemon.wait(), 60)
        log.close()
        await bot_api.stop()
        feeds.shutdown()
    cpu = _child_cpu(cpu_before)

    alerted: dict[tuple[str, int], float] = {}
    for sent in bot_api.sent:
        for s in sources:
            if s.sid not in sent.text:
                continue
            for k in _numbers_in(sent.text, s.sid):
                alerted.setdefault((s.sid, k), sent.ts)
    end = start + timedelta(days=args.days)
    print(f"latency_bench: interval {args.interval}, max_interval {args.max_interval or '-'}, "
          f"{args.days:g} simulated days at scale {args.scale:g}, seed {args.seed}, {len(sources)} sources")
    print(f"{'class':>8} {'sources':>7} {'items':>6} {'alerted':>7} {'p50 min':>8} {'p95 min':>8} {'max min':>8}"
          f" {'req/src/day':>11} {'200s':>6} {'304s':>6}")
    total_requests = 0
    for klass, (name, _rate, count) in enumerate(CLASSES):
        members = [s for s in sources if s.klass == klass]
        published = [(s.sid, k, t) for s in members for k, t in enumerate(s.times) if start < t <= end]
        latencies = [(alerted[(sid, k)] - t.timestamp()) / 60 for sid, k, t in published if (sid, k) in alerted]
        ok = sum(s.requests["200"] for s in members)
        nm = sum(s.requests["304"] for s in members)
        total_requests += ok + nm
        stats = (f"{statistics.median(latencies):8.1f} {pct(latencies, 0.95):8.1f} {max(latencies):8.1f}"
                 if latencies else f"{'-':>8} {'-':>8} {'-':>8}")
        print(f"{name:>8} {count:>7} {len(published):>6} {len(latencies):>7} {stats}"
              f" {(ok + nm) / count / args.days:11.1f} {ok:>6} {nm:>6}")
    print(f"requests: {total_requests} in {args.days:g} simulated days "
          f"({total_requests / len(sources) / args.days:.1f} per source per day); "
          f"daemon cpu {cpu:.1f} s; log {work / 'daemon.log'}")
    return 0


def _numbers_in(text: str, sid: str) -> list[int]:
    """The item numbers of `sid` an alert names ("refc0s3n7")."""
    import re

    return [int(m) for m in re.findall(rf"ref{re.escape(sid)}n(\d+)\b", text)]


def _child_cpu(before: os.times_result) -> float:
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=3.0, help="simulated days of publishing")
    ap.add_argument("--scale", type=float, default=720.0, help="NEWSBOT_TIME_SCALE")
    ap.add_argument("--interval", default="30m")
    ap.add_argument("--max-interval", default=None)
    ap.add_argument("--seed", type=int, default=1)
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
