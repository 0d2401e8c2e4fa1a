"""The offline demo: bundled sample feeds served on loopback, one poll into a throwaway database,
the Telegram digest it would send and the weekly email preview.

The feeds under `demo_data/feeds/` were written for the project: invented organisations and
items in English, French, Spanish, Italian, German and Greek about pushbacks, sea rescue,
detention, asylum court rulings and regularisation, plus a few items that must not match.
Dates are placeholders (`@AGO(3h)@`, `@NOW@`) filled in at serve time, so the items are
always fresh and fall inside the digest and email windows.

Owns: serving the sample feeds and running the demo pipeline. Must not: print (it returns
text for the CLI), touch the user's database or config files.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from bot.config.durations import parse_duration

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "demo_data"
FEEDS = DATA / "feeds"
_TOKEN = re.compile(r"@AGO\(([0-9smhdw.]+)\)@|@NOW@")


def render_feed(path: Path, now: datetime) -> bytes:
    """The feed with its date placeholders replaced, in RFC 822 (RSS) or RFC 3339 (Atom)."""
    atom = ".atom" in path.name

    def fmt(when: datetime) -> str:
        return when.isoformat(timespec="seconds").replace("+00:00", "Z") if atom else format_datetime(when, usegmt=True)

    def sub(m: re.Match[str]) -> str:
        return fmt(now if m.group(1) is None else now - parse_duration(m.group(1)))

    return _TOKEN.sub(sub, path.read_text(encoding="utf-8")).encode("utf-8")


class DemoFeedServer:
    """The sample feeds on http://127.0.0.1:PORT/feeds/NAME, served from a thread."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.clock = clock
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet)
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append(self.path)
                name = self.path.split("?", 1)[0].removeprefix("/feeds/")
                path = FEEDS / name
                if "/" in name or not name or not path.is_file():
                    self.send_error(404)
                    return
                body = render_feed(path, server.clock())
                self.send_response(200)
                ctype = "application/atom+xml" if ".atom" in name else "application/rss+xml"
                self.send_header("Content-Type", f"{ctype}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> "DemoFeedServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-feeds", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "DemoFeedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def shipped_rules_dir(config_dir: Path) -> Path:
    """The rules/ the user runs with (config dir), else the ones beside the package source."""
    for candidate in (config_dir / "rules", Path(__file__).resolve().parents[2] / "rules"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return config_dir / "rules"


def write_demo_config(target: Path, base_url: str, rules_dir: Path) -> Path:
    """A config dir with the demo sources.yaml/deliveries.yaml and a copy of the shipped rules."""
    target.mkdir(parents=True, exist_ok=True)
    text = (DATA / "sources.yaml").read_text(encoding="utf-8").replace("@BASE@", base_url)
    (target / "sources.yaml").write_text(text, encoding="utf-8")
    shutil.copyfile(DATA / "deliveries.yaml", target / "deliveries.yaml")
    if rules_dir.is_dir():
        shutil.copytree(rules_dir, target / "rules", dirs_exist_ok=True)
    else:
        (target / "rules").mkdir(exist_ok=True)
    return target


@dataclass
class DemoResult:
    config_dir: Path
    database: Path
    sources: int = 0
    items: int = 0
    hits: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    hits_by_theme: dict[str, int] = field(default_factory=dict)
    email_preview: Path | None = None
    digest_text: str = ""                              # as the console shows it


async def run_demo(work: Path, rules_dir: Path, email_path: Path,
                   clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> DemoResult:
    """Serve the feeds, poll them once into `work`/demo.db (as established sources, so their
    hits are delivered rather than kept as backlog), render the digest and the email. The parts
    are built by bot.runtime.wiring, as the daemon builds them."""
    import io

    from bot.config.settings import Settings
    from bot.delivery.destinations import find_destination
    from bot.runtime import wiring
    from bot.runtime.reload import load_config
    from bot.storage import repo
    from bot.storage.db import open_database

    db = work / "demo.db"
    with DemoFeedServer(clock) as server:
        config_dir = write_demo_config(work / "config", server.base_url, rules_dir)
        # The demo's own settings: loopback sources allowed, no token (console), no SMTP.
        settings = Settings.load(config_dir, {"DATABASE_URL": f"sqlite:///{db}",
                                              "NEWSBOT_ALLOW_PRIVATE_NETWORKS": "1", "NEWSBOT_HTTP": "off"})
        config = load_config(config_dir, clock())
        engine = open_database(settings.database_url)
        try:
            now = clock()
            with engine.begin() as conn:
                repo.ensure_sources(conn, [(s.id, s.url) for s in config.sources.sources], now)
                for s in config.sources.sources:
                    # Established sources: a first poll would otherwise be kept as backlog.
                    repo.update_source(conn, s.id, backlog_done=True)
            wiring.sync_destinations(engine, config.deliveries, now)
            async with wiring.fetcher(settings, config.sources) as fetcher:
                summary = await wiring.poller(engine, config, fetcher, clock=clock).poll(due_only=False)
            result = DemoResult(config_dir=config_dir, database=db, sources=summary.polled,
                                items=summary.new_items, hits=summary.hits, failures=dict(summary.failures))
            with engine.connect() as conn:
                result.hits_by_theme = repo.hit_counts_by_theme(conn)
                chat = config.deliveries.telegram.chats[0]
                dest = find_destination(conn, chat.chat, chat.thread)
            assert dest is not None, "wiring.sync_destinations wrote the demo's chat"
            out = io.StringIO()
            async with wiring.sender(engine, settings, config, clock=clock, stream=out) as sender:
                await sender.send_digest(dest.id)
            weekly = wiring.weekly_email(engine, settings, config, clock)
            lst = weekly.list_named(None)
            _digest, html, text = weekly.render(lst, weekly.current_week())
            email_path.parent.mkdir(parents=True, exist_ok=True)
            email_path.write_text(html, encoding="utf-8")
            email_path.with_suffix(".txt").write_text(text, encoding="utf-8")
            result.email_preview = email_path
            result.digest_text = out.getvalue()
            return result
        finally:
            engine.dispose()
