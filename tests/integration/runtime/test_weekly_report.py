"""The weekly coordinator report: due Monday 08:00 in the deliveries time zone, sent to the
admins through the real Sender and python-telegram-bot against the fake Bot API, once per ISO
week (recorded in `kv`, so a restart does not resend), on a real SQLite database."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.runtime import due, weekly_report
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage.db import open_database
from support.fakebotapi import TOKEN
from support.seed_hits import add_source

UTC = timezone.utc
BRUSSELS = "Europe/Brussels"
ADMINS = {7, 8}


@pytest.mark.parametrize("now,expected", [
    (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), datetime(2026, 11, 16, 7, 0, tzinfo=UTC)),
    (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
    (datetime(2026, 3, 30, 6, 30, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),   # summer time
])
def test_previous_slot(now, expected):
    assert due.previous_slot("weekly monday 08:00", BRUSSELS, now) == expected
    assert due.previous_slot("off", BRUSSELS, now) is None


@pytest.fixture
def engine(tmp_path):
    eng = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    with eng.begin() as conn:
        add_source(conn, "broken", datetime(2026, 10, 1, tzinfo=UTC), status="failing",
                   last_error_kind="dns", failing_since=datetime(2026, 11, 20, tzinfo=UTC), error_count=3)
    yield eng
    eng.dispose()


async def test_sent_once_per_week_across_restarts(engine, tmp_path, fake_bot_api):
    def admin_texts() -> list[str]:
        return [s.text for a in ADMINS for s in fake_bot_api.messages_to(a)]

    async def tick(now: datetime, eng=None) -> str | None:
        # a fresh Sender each time: what a restarted daemon has
        sender = Sender(eng or engine, TelegramTransport(make_bot(TOKEN, fake_bot_api.url)), admin_ids=ADMINS)
        async with sender:
            return await weekly_report.send_due(eng or engine, sender.notify_admins, now, BRUSSELS,
                                                ["broken", "quiet"])

    assert await tick(datetime(2026, 11, 23, 6, 59, tzinfo=UTC)) is None     # Monday 07:59 Brussels
    assert admin_texts() == []
    assert await tick(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) == "2026-W48"
    texts = admin_texts()
    assert len(texts) == 2 and all(t.startswith("Coordinator report, 2026-11-23T07:00:00Z") for t in texts)
    assert "broken: dns since 2026-11-20T00:00:00Z (3 errors)" in texts[0]
    assert await tick(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) is None
    restarted = open_database(str(engine.url))                                 # a new process
    try:
        assert await tick(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), restarted) is None
    finally:
        restarted.dispose()
    assert len(admin_texts()) == 2
    # Next week, on time; the week after, found three days late: skipped, not sent stale.
    assert await tick(datetime(2026, 11, 30, 7, 5, tzinfo=UTC)) == "2026-W49"
    assert await tick(datetime(2026, 12, 10, 7, 0, tzinfo=UTC)) is None
    assert len(admin_texts()) == 4
    assert weekly_report.seconds_to_next(BRUSSELS, datetime(2026, 12, 10, 7, 0, tzinfo=UTC), 1e9) \
        == pytest.approx(4 * 86400 + 1)


def test_claim_is_once_per_week(engine):
    assert weekly_report.claim(engine, "2026-W48") is True
    assert weekly_report.claim(engine, "2026-W48") is False
    assert weekly_report.claim(engine, "2026-W49") is True
    assert weekly_report.due_week(engine, BRUSSELS, datetime(2026, 11, 30, 8, 0, tzinfo=UTC)) is None
    assert weekly_report.due_week(engine, BRUSSELS, datetime(2026, 12, 7, 8, 0, tzinfo=UTC)) == "2026-W50"


async def test_long_report_is_split_within_the_limit(engine, fake_bot_api):
    with engine.begin() as conn:
        for i in range(300):
            add_source(conn, f"source-with-a-rather-long-identifier-number-{i:03d}", datetime(2026, 10, 1, tzinfo=UTC))
    sender = Sender(engine, TelegramTransport(make_bot(TOKEN, fake_bot_api.url)), admin_ids={7})
    async with sender:
        assert await weekly_report.send_due(engine, sender.notify_admins, datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
                                            BRUSSELS, None) == "2026-W48"
    parts = fake_bot_api.messages_to(7)
    assert len(parts) >= 2 and all(len(p.text.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    joined = "\n".join(p.text for p in parts)
    assert all(f"number-{i:03d}" in joined for i in range(300))   # wrapped between ids, none cut


async def test_a_report_that_reached_no_admin_is_tried_again(engine, fake_bot_api):
    """Every admin blocked the bot (403) on Monday: the week is not recorded as sent, so the
    next check tries again, and once an admin is reachable the report goes out once."""
    def admin_texts() -> list[str]:
        return [s.text for a in ADMINS for s in fake_bot_api.messages_to(a)]

    async def tick(now: datetime) -> str | None:
        sender = Sender(engine, TelegramTransport(make_bot(TOKEN, fake_bot_api.url)), admin_ids=ADMINS)
        async with sender:
            return await weekly_report.send_due(engine, sender.notify_admins, now, BRUSSELS, ["broken"])

    fake_bot_api.blocked.update(str(a) for a in ADMINS)
    assert await tick(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) is None
    assert admin_texts() == []
    assert weekly_report.due_week(engine, BRUSSELS, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) == "2026-W48"
    fake_bot_api.blocked.discard("8")                                          # one admin is back
    assert await tick(datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) == "2026-W48"
    assert len(fake_bot_api.messages_to(8)) == 1 and fake_bot_api.messages_to(7) == []
    assert await tick(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) is None          # once
    # the previous week's record is restored by a release, not lost
    weekly_report.release(engine, "2026-W48", "2026-W47")
    assert weekly_report.due_week(engine, BRUSSELS, datetime(2026, 11, 23, 10, 0, tzinfo=UTC)) == "2026-W48"
