"""Memory and CPU of an idle `newsbot run` watching 300 unchanged sources for a simulated hour.

The feeds are served by a separate process (a threaded http.server that answers
If-None-Match with 304), so the daemon's CPU is its own. Each feed lists 10 items older
than a week: after the first poll (200, backlog) every poll is a 304. The daemon runs as a
subprocess on a compressed clock (NEWSBOT_TIME_SCALE, default 60: the hour takes a minute)
with no Telegram token (console) and no SMTP. CPU (user+sys) and memory (RSS, peak RSS) are
read from /proc for the daemon's pid: once the first poll cycle is done (start-up cost) and
at the end (the idle hour).

Timers that count real time (the lock heartbeat every 15 s, the config check every few
seconds) fire fewer times in a compressed minute than in a real hour; both cost well under
a millisecond each, which the figures below make visible as a bound, not a blind spot.

Usage: .venv/bin/python bench/idle_daemon.py [--sources 300] [--scale 60] [--minutes 60]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

SERVER = textwrap.dedent('''
    import json, sys, threading
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    n = int(sys.argv[1])
    old = datetime.now(timezone.utc) - timedelta(days=30)
    feeds = {}
    for i in range(n):
        items = "".join(
            f"<item><title>Report {i}-{k} on border monitoring</title><link>https://feeds.example/{i}/{k}</link>"
            f"<guid>{i}-{k}</guid><pubDate>{format_datetime(old - timedelta(days=k), usegmt=True)}</pubDate>"
            f"<description>Monthly summary number {k} of source {i}.</description></item>" for k in range(10))
        feeds[f"/feeds/{i}.xml"] = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
                                    f"<link>https://feeds.example/{i}</link><description>d</description>{items}"
                                    f"</channel></rss>").encode()
    stats = {"200": 0, "304": 0}
    lock = threading.Lock()
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def do_GET(self):
            if self.path == "/stats":
                body = json.dumps(stats).encode()
            else:
                body = feeds.get(self.path)
                if body is None:
                    self.send_error(404); return
                etag = '"' + self.path.split("/")[-1] + '"'
                if self.headers.get("If-None-Match") == etag:
                    with lock: stats["304"] += 1
                    self.send_response(304); self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0"); self.end_headers(); return
                with lock: stats["200"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            if self.path != "/stats":
                self.send_header("ETag", '"' + self.path.split("/")[-1] + '"')
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
''')


def proc_stats(pid: int) -> dict[str, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return {"cpu_s": (int(fields[11]) + int(fields[12])) / tick,
            "rss_mb": kb.get("VmRSS", 0) / 1024, "peak_rss_mb": kb.get("VmHWM", 0) / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=300)
    ap.add_argument("--scale", type=float, default=60.0)
    ap.add_argument("--minutes", type=float, default=60.0, help="simulated minutes to watch")
    args = ap.parse_args()
    newsbot = str(Path(sys.executable).with_name("newsbot"))
    work = Path(tempfile.mkdtemp(prefix="newsbot-idle-"))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.sources)], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    base = f"http://127.0.0.1:{port}"
    (work / "rules").mkdir()
    repo_rules = Path(__file__).resolve().parent.parent / "rules"
    for f in repo_rules.glob("*.yaml"):
        (work / "rules" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    lines = ["defaults:", "  interval: 5m", "  per_host: 8", "sources:"]
    for i in range(args.sources):
        lines += [f"  - id: s{i}", f"    url: {base}/feeds/{i}.xml", "    type: feed"]
    (work / "sources.yaml").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SMTP_"))}
    env.update(NEWSBOT_CONFIG_DIR=str(work), DATABASE_URL=f"sqlite:///{work / 'idle.db'}", NEWSBOT_HTTP="off",
               NEWSBOT_ALLOW_PRIVATE_NETWORKS="1", NEWSBOT_TIME_SCALE=str(args.scale),
               NEWSBOT_TIME_ORIGIN=repr(time.time()))
    log = open(work / "daemon.log", "w")  # noqa: SIM115
    started = time.monotonic()
    daemon = subprocess.Popen([newsbot, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while "poll cycle polled=" not in (work / "daemon.log").read_text():
            if daemon.poll() is not None or time.monotonic() - started > 300:
                raise SystemExit(f"daemon did not complete a first poll; log: {work / 'daemon.log'}")
            time.sleep(0.1)
        first = proc_stats(daemon.pid)
        first_wall = time.monotonic() - started
        with urllib.request.urlopen(f"{base}/stats") as r:
            after_first = json.loads(r.read())
        time.sleep(args.minutes * 60 / args.scale)
        end = proc_stats(daemon.pid)
        with urllib.request.urlopen(f"{base}/stats") as r:
            totals = json.loads(r.read())
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
        server.terminate()
        server.wait(10)
        log.close()
    cycles = (work / "daemon.log").read_text().count("poll cycle polled=")
    idle_cpu = end["cpu_s"] - first["cpu_s"]
    polls = totals["200"] + totals["304"] - after_first["200"] - after_first["304"]
    print(f"sources={args.sources} scale={args.scale:g} simulated_minutes={args.minutes:g} exit={code}")
    print(f"start-up + first poll ({after_first['200']} x 200): wall {first_wall:.1f} s, cpu {first['cpu_s']:.2f} s, "
          f"rss {first['rss_mb']:.0f} MB")
    print(f"idle hour: {polls} conditional polls ({totals['304'] - after_first['304']} x 304, "
          f"{totals['200'] - after_first['200']} x 200) in {cycles} poll cycles; cpu {idle_cpu:.2f} s "
          f"({idle_cpu / max(polls, 1) * 1000:.2f} ms per poll, {idle_cpu / (args.minutes * 60) * 100:.3f}% of one core "
          f"over the simulated hour)")
    print(f"memory at the end: rss {end['rss_mb']:.0f} MB, peak rss {end['peak_rss_mb']:.0f} MB")
    print(f"log: {work / 'daemon.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
