"""A group Telegram upgrades to a supergroup keeps its alerts: the sender follows
`migrate_to_chat_id`, the migration is recorded, every later deliveries.yaml sync keeps the
followed destination active, and `newsbot check` and /health name the entry to update."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.config.deliveries import DeliveriesFile, Telegram, TelegramChat
from bot.delivery.destinations import sync_config_destinations
from bot.delivery.outbox import NewHit, queue_for_hits
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, stories
from support.fakebotapi import TOKEN, FakeBotAPI
from support.telegram_support import ADMIN, running_bot, say
from support.clocks import VirtualClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
OLD, NEW = "-4001", -1004001
CONFIG = DeliveriesFile(telegram=Telegram(chats=(
    TelegramChat(chat=int(OLD), name="Coalition group", alerts="instant", digest="off"),)))



def queue_alert(engine, n: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(stories.insert().values(id=n, created_at=now, updated_at=now))
        conn.execute(items.insert().values(
            id=n, source_id="alarmphone", guid=f"g{n}", url=f"https://news.example/{n}",
            title=f"Boat in distress N{n:03d}", first_seen_at=now, published_at=now, language="en",
            story_id=n, is_backlog=False))
        hid = conn.execute(hits.insert().values(item_id=n, theme="pushbacks", priority="high", rules=["r"],
                                                explanations=[], created_at=now)).inserted_primary_key[0]
        queue_for_hits(conn, [NewHit(hid, n, n, "pushbacks", "high", "en")], now)


def sync(engine, now: datetime) -> dict[str, int]:
    with engine.begin() as conn:
        return sync_config_destinations(conn, CONFIG, now)


def write_config(config_dir) -> None:
    (config_dir / "sources.yaml").write_text("sources:\n  - id: a\n    url: https://example.org/feed\n")
    (config_dir / "deliveries.yaml").write_text(
        f"telegram:\n  chats:\n    - chat: {OLD}\n      name: Coalition group\n      alerts: instant\n"
        "      digest: 'off'\n")


async def test_a_migrated_group_keeps_its_alerts_across_syncs(db_url, tmp_path) -> None:
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.now.timestamp).start()
    server.migrated[OLD] = NEW
    engine = open_database(db_url)
    try:
        sync(engine, START)
        queue_alert(engine, 1, START)
        sender = Sender(engine, TelegramTransport(make_bot(TOKEN, server.url)), clock=clock, sleep=clock.sleep)
        async with sender:
            first = await sender.run_once(wait_retries=True, max_wait=60)
            assert first.migrated == [(OLD, str(NEW))] and first.sent == 1
            for n in (2, 3):
                # the daemon syncs deliveries.yaml at every start and reload; the file still says OLD
                assert sync(engine, clock.now) == {"added": 0, "updated": 1, "deactivated": 0}
                queue_alert(engine, n, clock.now)
                report = await sender.run_once(wait_retries=True, max_wait=60)
                assert report.sent == 1 and report.failed == 0 and report.retrying == 0
        got = sorted(re.search(r"N(\d{3})", s.text).group(1) for s in server.messages_to(NEW))
        assert got == ["001", "002", "003"]
        with engine.connect() as conn:
            rows = conn.execute(select(destinations)).all()
            left = conn.execute(select(deliveries.c.status)).scalars().all()
        assert [(r.chat_id, r.migrated_from, r.active) for r in rows] == [(str(NEW), OLD, True)]
        assert left == ["sent"] * 3

        # `newsbot check` names the entry to update
        write_config(tmp_path)
        result = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "check"], env={
            "DATABASE_URL": str(engine.url.render_as_string(hide_password=False)).replace("+psycopg", ""),
            "TELEGRAM_BOT_TOKEN": "", "SMTP_URL": "", "EMAIL_FROM": "", "NEWSBOT_CONFIG_DIR": ""})
        assert result.exit_code == 0, result.output
        assert (f"telegram chat {OLD} (Coalition group) was upgraded by Telegram to the supergroup {NEW}"
                in result.stderr)
        assert f"change `chat: {OLD}` to `chat: {NEW}`" in result.stderr
    finally:
        await server.stop()
        engine.dispose()


async def test_sync_heals_a_migration_recorded_before_it_was_remembered(db_url) -> None:
    """The state the old code left: the followed row marked removed, the old id re-added
    and left behind as 'migrated to'; its alerts were stuck on the inactive row."""
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            new_id = conn.execute(destinations.insert().values(
                chat_id=str(NEW), name="Coalition group", origin="config", alerts="instant", digest="off",
                active=False, inactive_reason="removed from deliveries.yaml", created_at=START)).inserted_primary_key[0]
            conn.execute(destinations.insert().values(
                chat_id=OLD, name="Coalition group", origin="config", alerts="instant", digest="off",
                active=False, inactive_reason=f"migrated to {NEW}", created_at=START))
        assert sync(engine, START) == {"added": 0, "updated": 1, "deactivated": 0}
        with engine.connect() as conn:
            row = conn.execute(select(destinations).where(destinations.c.id == new_id)).one()
        assert row.active and row.inactive_reason is None
    finally:
        engine.dispose()


async def test_health_names_the_entry_to_update(tmp_path, fake_bot_api) -> None:
    async with running_bot(tmp_path, fake_bot_api, "sources: []\n", {}) as w:
        w.bot.reload(dataclasses.replace(w.bot.state.config, deliveries=CONFIG))
        with w.engine.begin() as conn:
            conn.execute(destinations.insert().values(
                chat_id=str(NEW), migrated_from=OLD, name="Coalition group", origin="config",
                alerts="instant", digest="off", active=True, created_at=START))
        text = await say(w, "/health", user=ADMIN)
    assert f"telegram chat {OLD} (Coalition group) was upgraded by Telegram to the supergroup {NEW}" in text


@pytest.fixture(autouse=True)
def _quiet_ptb(caplog):
    caplog.set_level("WARNING", logger="httpx")
