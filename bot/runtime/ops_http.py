"""The operator's local HTTP endpoint: `/healthz` (JSON) and Prometheus `/metrics`.

A bare asyncio server (HTTP/1.0-style, one request per connection): two read-only pages
need no framework. Metrics live in a registry of their own, not prometheus_client's
global one, so tests and several daemons in one process never collide. Counters are fed
by the daemon after each cycle (`record_poll`, `record_deliveries`); everything that is
state (queue size and age, stored items and hits, last successful poll) is read from the
database at scrape time (bot.storage.health runs the queries), so it stays true across restarts.

Owns: the endpoint and the metric names. Must not: change any state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine

from bot.config.settings import parse_address  # shared with the settings check
from bot.storage import health

if TYPE_CHECKING:
    from bot.ingest.poll_results import PollSummary

log = logging.getLogger(__name__)

CONTENT_TYPE_METRICS = "text/plain; version=0.0.4; charset=utf-8"


class _DatabaseCollector:
    """Gauges read from the database at each scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]):
        self.engine = engine
        self.clock = clock

    def collect(self):  # noqa: ANN201
        try:
            snap = database_snapshot(self.engine, self.clock())
        except Exception as exc:  # noqa: BLE001  (a scrape must not die with the database)
            log.warning("metrics: database unreachable: %s", exc.__class__.__name__)
            up = GaugeMetricFamily("newsbot_database_up", "1 when the database answered the scrape")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("newsbot_database_up", "1 when the database answered the scrape")
        up.add_metric([], 1)
        yield up
        g = GaugeMetricFamily("newsbot_deliveries", "Telegram deliveries in the outbox by kind and status",
                              labels=["kind", "status"])
        for (kind, status), n in sorted(snap["deliveries"].items()):
            g.add_metric([kind, status], n)
        yield g
        g = GaugeMetricFamily("newsbot_deliveries_queued", "Deliveries waiting to be sent")
        g.add_metric([], snap["queue"])
        yield g
        g = GaugeMetricFamily("newsbot_outbox_oldest_queued_age_seconds",
                              "Age of the oldest queued alert (0 when none; digest entries wait for their time)")
        g.add_metric([], snap["oldest_queued_age_seconds"] or 0.0)
        yield g
        g = GaugeMetricFamily("newsbot_emails", "Weekly email sends by status", labels=["status"])
        for status, n in sorted(snap["emails"].items()):
            g.add_metric([status], n)
        yield g
        g = GaugeMetricFamily("newsbot_items_stored", "Items in the database")
        g.add_metric([], snap["items"])
        yield g
        g = GaugeMetricFamily("newsbot_hits_stored", "Hits in the database by theme", labels=["theme"])
        for theme, n in sorted(snap["hits"].items()):
            g.add_metric([theme], n)
        yield g
        g = GaugeMetricFamily("newsbot_sources", "Sources by status", labels=["status"])
        for status, n in sorted(snap["sources"].items()):
            g.add_metric([status], n)
        yield g
        g = GaugeMetricFamily("newsbot_last_successful_poll_timestamp_seconds",
                              "Unix time of the most recent successful poll of any source (0 if never)")
        last = snap["last_successful_poll"]
        g.add_metric([], last.timestamp() if last else 0.0)
        yield g


def database_snapshot(engine: Engine, now: datetime) -> dict[str, Any]:
    with engine.connect() as conn:
        figures = health.figures(conn)
    oldest = figures.oldest_waiting_alert
    return {
        "deliveries": figures.deliveries,
        "queue": sum(n for (_k, s), n in figures.deliveries.items() if s in health.WAITING),
        "oldest_queued_age_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else None,
        "emails": figures.emails,
        "items": figures.items,
        "hits": figures.hits_by_theme,
        "sources": figures.sources_by_status,
        "last_successful_poll": figures.last_successful_poll,
    }


class OpsMetrics:
    """The daemon's registry: counters it feeds, plus the database gauges."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]):
        self.registry = CollectorRegistry()
        r = self.registry
        self.poll_cycles = Counter("newsbot_poll_cycles", "Poll cycles run", registry=r)
        self.polls = Counter("newsbot_polls", "Sources polled", registry=r)
        self.failures = Counter("newsbot_poll_failures", "Failed source polls by kind", ["kind"], registry=r)
        self.items = Counter("newsbot_items_new", "New items stored", registry=r)
        self.hits = Counter("newsbot_hits_new", "New hits stored", registry=r)
        self.sent = Counter("newsbot_deliveries_sent", "Telegram messages sent by this process", registry=r)
        self.send_failures = Counter("newsbot_deliveries_failed", "Telegram sends that failed in this process",
                                     registry=r)
        self.reloads = Counter("newsbot_config_reloads", "Configuration reloads by result", ["result"], registry=r)
        r.register(_DatabaseCollector(engine, clock))

    def record_poll(self, summary: PollSummary) -> None:
        self.poll_cycles.inc()
        self.polls.inc(_int(summary.polled))
        self.items.inc(_int(summary.new_items))
        self.hits.inc(_int(summary.hits))
        for kind, n in summary.failures.items():
            self.failures.labels(kind=kind).inc(_int(n))

    def record_deliveries(self, sent: int = 0, failed: int = 0) -> None:
        self.sent.inc(max(0, sent))
        self.send_failures.inc(max(0, failed))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _int(value: Any) -> int:
    if isinstance(value, (list, tuple, set, dict)):
        return len(value)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class OpsServer:
    """`async with OpsServer(...)`: serves until the block ends."""

    def __init__(self, address: str, engine: Engine, clock: Callable[[], datetime], metrics: OpsMetrics,
                 status: Callable[[], dict[str, Any]] | None = None,
                 problem: Callable[[], str | None] | None = None):
        self.host, self.port = parse_address(address)
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.status = status or (lambda: {})
        self.problem = problem or (lambda: None)   # e.g. the database file was deleted: unhealthy
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("ops http listening on http://%s:%d (/healthz, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "OpsServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def health(self) -> tuple[int, dict[str, Any]]:
        doc: dict[str, Any] = {"status": "ok"}
        if (why := self.problem()) is not None:
            doc.update(status="error", db=f"error: {why}")
            doc.update(self.status())
            return 503, doc
        try:
            snap = database_snapshot(self.engine, self.clock())
        except Exception as exc:  # noqa: BLE001
            doc.update(status="error", db=f"error: {exc.__class__.__name__}")
            doc.update(self.status())
            return 503, doc
        last = snap["last_successful_poll"]
        doc.update(db="ok", last_successful_poll=last.isoformat().replace("+00:00", "Z") if last else None,
                   queue=snap["queue"], oldest_queued_age_seconds=snap["oldest_queued_age_seconds"],
                   items=snap["items"])
        doc.update(self.status())
        return 200, doc

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain", b"method not allowed\n"
            elif path == "/healthz":
                code, doc = await asyncio.to_thread(self.health)
                status, ctype, body = code, "application/json", json.dumps(doc, default=str).encode() + b"\n"
            elif path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE_METRICS, await asyncio.to_thread(self.metrics.render)
            else:
                status, ctype, body = 404, "text/plain", b"not found: try /healthz or /metrics\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
