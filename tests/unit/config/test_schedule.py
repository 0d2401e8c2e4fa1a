"""The one parser of the digest schedule text (`bot.config.schedule`), and that deliveries.yaml
parses it once, at load."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.config.deliveries import TelegramChat
from bot.config.schedule import Schedule, parse_schedule, read_schedule
from bot.delivery.telegram.digest import last_scheduled
from bot.runtime.due import next_slot


@pytest.mark.parametrize("text,expected", [
    ("daily 08:00", Schedule(None, 8, 0)),
    ("  Daily   8:05 ", Schedule(None, 8, 5)),
    ("weekly monday 09:30", Schedule(0, 9, 30)),
    ("WEEKLY Sunday 23:59", Schedule(6, 23, 59)),
    ("off", None),
    (None, None),
])
def test_parse_schedule(text, expected):
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text,message", [
    ("sometimes", "expected 'daily HH:MM', 'weekly monday HH:MM' or 'off'"),
    ("weekly mon 08:00", "expected 'daily HH:MM', 'weekly monday HH:MM' or 'off'"),
    ("daily 8", "expected 'daily HH:MM', 'weekly monday HH:MM' or 'off'"),
    ("daily 24:00", "expected a time as HH:MM"),
    ("weekly friday 07:60", "expected a time as HH:MM"),
])
def test_unreadable_schedules_say_what_is_expected(text, message):
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)
    assert read_schedule(text) is None  # stored text that does not parse: no digest


def test_schedule_spelling_and_cron_day():
    assert str(Schedule(None, 8, 0)) == "daily 08:00"
    assert str(Schedule(2, 7, 5)) == "weekly wednesday 07:05"
    assert Schedule(None, 8, 0).cron_day == "*"
    assert Schedule(4, 8, 0).cron_day == "fri"


def test_a_chat_schedule_is_parsed_at_load():
    chat = TelegramChat(chat=-100123, digest="Weekly  Friday 7:30")
    assert chat.digest == "weekly friday 7:30"   # the stored and shown spelling, as before
    assert chat.schedule == Schedule(4, 7, 30)
    assert TelegramChat(chat=-100123, digest="off").schedule is None


def test_both_slot_computations_read_the_same_schedule():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)   # a Wednesday
    spec = "weekly friday 07:30"
    nxt = next_slot(spec, "UTC", now)
    assert nxt == datetime(2026, 11, 27, 7, 30, tzinfo=timezone.utc)
    assert last_scheduled(spec, nxt, timezone.utc) == nxt
    assert last_scheduled(spec, now, timezone.utc) == datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc)
