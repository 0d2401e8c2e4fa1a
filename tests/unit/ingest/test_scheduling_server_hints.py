"""Server hints from others' servers are capped where they are read: a hostile or mistyped
Retry-After, max-age, <ttl> or Telegram retry_after is a long wait, never an OverflowError."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.delivery.telegram.flood import MAX_FLOOD_WAIT, flood_wait_seconds
from bot.ingest.fetch_policy import retry_after_seconds
from bot.ingest.scheduling import MAX_INTERVAL, backoff_delay, hints_from, next_success_interval

NOW = datetime(2026, 11, 22, 8, 30, tzinfo=timezone.utc)
DAY = MAX_INTERVAL.total_seconds()


@pytest.mark.parametrize("value,seconds", [
    ("120", 120.0),
    ("99999999999999999999", DAY),
    ("1000000000000", DAY),
    ("Fri, 31 Dec 9999 23:59:59 GMT", DAY),
])
def test_http_retry_after_is_capped_at_the_longest_interval(value, seconds):
    assert retry_after_seconds(value, NOW) == seconds


def test_huge_cache_and_ttl_hints_are_capped_and_schedule_normally():
    hints = hints_from({"cache-control": "max-age=99999999999999999999999",
                        "retry-after": "99999999999999999999"}, 10**30, NOW)
    assert hints.ttl == hints.max_age == hints.retry_after == MAX_INTERVAL
    assert next_success_interval(timedelta(minutes=30), 3, None, hints) == MAX_INTERVAL
    assert backoff_delay(timedelta(minutes=30), 1, 0.5, hints.retry_after) == MAX_INTERVAL


@pytest.mark.parametrize("value,seconds", [
    (3, 3.0), (timedelta(seconds=40), 40.0), (10**12, MAX_FLOOD_WAIT), (10**400, MAX_FLOOD_WAIT),
    (float("inf"), MAX_FLOOD_WAIT), (float("nan"), MAX_FLOOD_WAIT), ("soon", MAX_FLOOD_WAIT),
    (None, MAX_FLOOD_WAIT), (-5, 0.0),
])
def test_telegram_retry_after_is_capped_at_an_hour(value, seconds):
    assert flood_wait_seconds(value) == seconds
    assert NOW + timedelta(seconds=flood_wait_seconds(value)) >= NOW  # the requeue date exists
