"""The one place that builds newsbot's running parts from the settings and a loaded configuration.

The daemon, the demo and the CLI commands all build through here, so a fetch policy, a poller or
a sender is made the same way wherever it runs: the fetch policy from sources.yaml `defaults:` and
NEWSBOT_ALLOW_PRIVATE_NETWORKS; the poller with the snapshot's sources and compiled rules; the
sender with its transport (Telegram with TELEGRAM_BOT_TOKEN, else the console), the schedule time
zone and `stale_after` of deliveries.yaml, the sources' display names and weights; the weekly email
from the same validated snapshot (it reads no file of its own); and the chats of deliveries.yaml
copied into the destinations table.

Owns: which class is built with which setting or config value. Must not: read configuration files
(callers pass a validated `ConfigSnapshot`), open, run or close what it builds (callers enter and
leave the async context managers), print or exit. Imports the heavy parts where they are built, so
`newsbot --help` does not load them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, TextIO

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config.deliveries import DeliveriesFile
    from bot.config.settings import Settings
    from bot.config.snapshot import ConfigSnapshot
    from bot.config.sources import SourcesConfig
    from bot.delivery.console import ConsoleTransport
    from bot.delivery.email.weekly import WeeklyEmail
    from bot.delivery.telegram.api import TelegramTransport
    from bot.delivery.telegram.sender import Sender
    from bot.ingest.fetch import Fetcher
    from bot.ingest.fetch_policy import FetchPolicy
    from bot.ingest.pipeline import Poller
    from bot.ingest.protocols import PollFetcher

Now = Callable[[], datetime]   # an aware UTC "now" (bot.runtime.clock.Clock is one)


def fetch_policy(settings: Settings, sources: SourcesConfig) -> FetchPolicy:
    """How sources (and pages to explain or probe) are fetched: sources.yaml `defaults:` and
    NEWSBOT_ALLOW_PRIVATE_NETWORKS. Compared on reload: an unchanged policy keeps its fetcher."""
    from bot.ingest.fetch_policy import FetchPolicy

    return FetchPolicy.from_config(sources.defaults, allow_private=settings.allow_private_networks)


def fetcher(settings: Settings, sources: SourcesConfig) -> Fetcher:
    """A fetcher under `fetch_policy`; the caller enters it (`async with`) and closes it."""
    from bot.ingest.fetch import Fetcher

    return Fetcher(fetch_policy(settings, sources))


def poller(engine: Engine, config: ConfigSnapshot, fetcher: PollFetcher, *, clock: Now | None = None,
           lease_owner: str | None = None, lease_ttl: float = 300.0) -> Poller:
    """The conductor of one poll cycle: the snapshot's sources, its rules (compiled), `fetcher`."""
    from bot.ingest.pipeline import Poller

    return Poller(engine, config.sources, config.themes, fetcher, clock=clock, lease_owner=lease_owner,
                  lease_ttl=lease_ttl)


def transport(settings: Settings, stream: TextIO | None = None) -> TelegramTransport | ConsoleTransport:
    """Telegram when TELEGRAM_BOT_TOKEN is set, else the console (`stream`, stdout by default)."""
    if settings.telegram_token:
        from bot.delivery.telegram.api import TelegramTransport, make_bot

        return TelegramTransport(make_bot(settings.telegram_token, settings.telegram_api_url))
    from bot.delivery.console import ConsoleTransport

    return ConsoleTransport(stream)


def sender(engine: Engine, settings: Settings, config: ConfigSnapshot, *, clock: Now | None = None,
           sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, stream: TextIO | None = None,
           lease: timedelta | None = None, alerts: bool = True, digests: bool = True,
           owner: str | None = None) -> Sender:
    """The sender of alerts and digests over `transport(settings, stream)`; the caller enters it.
    `owner` names it in lease columns (the daemon's worker name); `alerts`/`digests` False leave
    that work to other processes (`newsbot run --role`)."""
    from bot.delivery.telegram.sender import Sender, utcnow
    from bot.storage.leases import DEFAULT_LEASE

    built = Sender(engine, transport(settings, stream), themes=config.themes,
                   source_names=config.sources.display_names(), weights=config.sources.weights(),
                   admin_ids=settings.admin_ids, default_tz=settings.schedule_tz(config.deliveries),
                   stale_after=Sender.stale_after_of(config.deliveries), clock=clock or utcnow, sleep=sleep,
                   lease=lease or DEFAULT_LEASE, alerts=alerts, digests=digests)
    if owner is not None:
        built.owner = owner
    return built


def weekly_email(engine: Engine, settings: Settings, config: ConfigSnapshot, clock: Now | None = None) -> WeeklyEmail:
    """The weekly digest email of deliveries.yaml's lists, from the validated snapshot."""
    from bot.delivery.email.weekly import WeeklyEmail

    return WeeklyEmail(engine, config.deliveries, config.themes, settings, clock,
                       source_names=config.sources.display_names(), weights=config.sources.weights())


def sync_destinations(engine: Engine, deliveries: DeliveriesFile, now: datetime) -> dict[str, int]:
    """The chats of deliveries.yaml into the destinations table (added, updated, deactivated),
    so deliveries are queued for them too, not only for self-subscribed chats. One at a time
    across processes: several start at once on PostgreSQL."""
    from bot.delivery.destinations import sync_config_destinations
    from bot.storage.leases import serialize

    with engine.begin() as conn:
        serialize(conn, "destinations")
        return sync_config_destinations(conn, deliveries, now)
