"""bot.runtime.wiring: every part is built from the settings and one loaded configuration, the
same way for the daemon, the demo and the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.config.settings import Settings
from bot.delivery.console import ConsoleTransport
from bot.delivery.telegram.api import TelegramTransport
from bot.runtime import wiring
from bot.runtime.reload import load_config

SOURCES = """\
defaults:
  timeout: 7s
  per_host: 3
  user_agent: "wiring-test/1"
sources:
  - id: one
    name: The First One
    url: https://one.example.org/feed
    weight: 2
  - id: two
    url: https://two.example.org/feed
"""
DELIVERIES = """\
timezone: Europe/Brussels
telegram:
  stale_after: 6h
  chats:
    - chat: 5001
      name: Ana
email:
  weekly:
    lists:
      - name: members
        to: [members@example.org]
"""
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "deliveries.yaml").write_text(DELIVERIES, encoding="utf-8")
    return tmp_path


def settings(config_dir: Path, **env: str) -> Settings:
    return Settings.load(config_dir, {"DATABASE_URL": f"sqlite:///{config_dir / 'w.db'}", **env})


def test_the_fetch_policy_follows_sources_defaults_and_the_private_network_setting(config_dir):
    config = load_config(config_dir)
    policy = wiring.fetch_policy(settings(config_dir), config.sources)
    assert (policy.timeout, policy.per_host, policy.user_agent, policy.allow_private) == (7.0, 3, "wiring-test/1", False)
    opened = wiring.fetch_policy(settings(config_dir, NEWSBOT_ALLOW_PRIVATE_NETWORKS="1"), config.sources)
    assert opened.allow_private is True
    assert wiring.fetcher(settings(config_dir), config.sources).policy == policy


def test_the_transport_is_telegram_with_a_token_and_the_console_without(config_dir, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")   # make_bot's opt-in, kept out of other tests
    assert isinstance(wiring.transport(settings(config_dir)), ConsoleTransport)
    with_token = wiring.transport(settings(config_dir, TELEGRAM_BOT_TOKEN="123456:wiring-test"))
    assert isinstance(with_token, TelegramTransport)


def test_the_sender_takes_its_schedule_zone_staleness_names_and_weights_from_the_snapshot(config_dir):
    config = load_config(config_dir)
    engine = create_engine("sqlite://")
    sender = wiring.sender(engine, settings(config_dir, TELEGRAM_ADMIN_IDS="42"), config, owner="w:1",
                           digests=False)
    assert sender.default_tz == "Europe/Brussels"           # deliveries.yaml, no NEWSBOT_TZ
    assert sender.stale_after == timedelta(hours=6)
    assert sender.source_names == {"one": "The First One", "two": "two"}
    assert sender.weights["one"] == 2
    assert sender.admin_ids == frozenset({42})
    assert (sender.owner, sender.alerts, sender.digests) == ("w:1", True, False)
    assert sender.transport.kind == "console"
    # NEWSBOT_TZ wins over deliveries.yaml, as everywhere else
    assert wiring.sender(engine, settings(config_dir, NEWSBOT_TZ="Europe/Athens"), config).default_tz == "Europe/Athens"


def test_the_weekly_email_and_the_poller_come_from_the_same_snapshot(config_dir):
    config = load_config(config_dir)
    engine = create_engine("sqlite://")
    weekly = wiring.weekly_email(engine, settings(config_dir), config, lambda: NOW)
    assert weekly.source_names["one"] == "The First One" and weekly.weights["one"] == 2
    assert weekly.list_named(None).name == "members"
    fetcher = wiring.fetcher(settings(config_dir), config.sources)
    poller = wiring.poller(engine, config, fetcher, clock=lambda: NOW, lease_owner="p:1", lease_ttl=60.0)
    assert poller.sources_cfg is config.sources and poller.fetcher is fetcher
    assert (poller.lease_owner, poller.lease_ttl, poller.clock()) == ("p:1", 60.0, NOW)
