"""Thousands of small RSS feeds served by nginx in its own process, with a request log.

For the multi-worker test and bench/multiworker_bench.py: a feed server in the test's own
process would compete with it for the GIL, and Python servers are slow under thousands of
requests; Debian's nginx answers If-None-Match with 304 out of the box (its ETag is the
file's mtime and size). Every request is logged as "<uri> <status>" so callers can count
how often each feed was fetched.

    feeds = NginxFeeds(tmp_path).start()
    feeds.write(7, items=[("7-1", "Title")])    # /f/7.xml
    feeds.url(7)                                 # http://127.0.0.1:PORT/f/7.xml
    feeds.counts()                               # Counter({7: 2, ...}): requests per feed (200 and 304)
    feeds.stop()
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

_LINE = re.compile(r"^/f/(\d+)\.xml (\d{3})$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        raise RuntimeError("nginx not found: install Debian's nginx-light (`make system-deps` does)")
    return found


class NginxFeeds:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.docs = self.root / "docs"
        (self.docs / "f").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self.log = self.root / "requests.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/f/{n}.xml"

    def write(self, n: int, items: list[tuple[str, str, str]], *, now: datetime | None = None) -> None:
        """items: (guid, title, description), newest first, an hour apart. The file's mtime is
        moved forward so nginx's ETag changes even within one second."""
        now = now or datetime.now(timezone.utc)
        body = "".join(
            f"<item><title>{escape(title)}</title><link>https://feed{n}.example/news/{escape(guid)}</link>"
            f"<guid isPermaLink=\"false\">{escape(guid)}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(hours=k + 1), usegmt=True)}</pubDate>"
            f"<description>{escape(desc)}</description></item>"
            for k, (guid, title, desc) in enumerate(items))
        path = self.docs / "f" / f"{n}.xml"
        old = path.stat().st_mtime if path.exists() else 0.0
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                       f"<title>Feed {n}</title><link>https://feed{n}.example/</link><language>en</language>"
                       f"<description>test feed</description>{body}</channel></rss>", encoding="utf-8")
        mtime = max(time.time(), old + 2)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)   # atomic: a request sees the old file or the new one

    def start(self, tries: int = 5) -> "NginxFeeds":
        nginx = nginx_binary()
        for _ in range(tries):
            self.port = free_port()
            conf = self.root / "nginx.conf"
            temp = self.root / "tmp"
            conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  log_format counts '$uri $status';
  access_log {self.log} counts;
  client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
  uwsgi_temp_path {temp}; scgi_temp_path {temp};
  types {{ application/rss+xml xml; }}
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{ listen 127.0.0.1:{self.port}; root {self.docs}; }}
}}
""")
            self.proc = subprocess.Popen([nginx, "-p", str(self.root), "-c", str(conf)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()   # the port was taken meanwhile, or nginx failed: try another
        raise RuntimeError(f"nginx did not start; see {self.root / 'error.log'}")

    def counts(self, statuses: tuple[str, ...] = ("200", "304")) -> Counter:
        """Requests per feed number so far (nginx writes its log line as each request ends)."""
        out: Counter = Counter()
        if not self.log.exists():
            return out
        for line in self.log.read_text().splitlines():
            m = _LINE.match(line.strip())
            if m and m.group(2) in statuses:
                out[int(m.group(1))] += 1
        return out

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None
