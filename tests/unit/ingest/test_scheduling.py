from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.ingest.scheduling import (MAX_INTERVAL, Hints, adaptive_interval, backoff_delay, hints_from,
                            max_age, next_success_interval, retry_after)

M = timedelta(minutes=1)
H = timedelta(hours=1)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("base,recent,previous,expected", [
    # busy source: 7d / 1000 / 2 is 5.04 min, below the configured 30m: polled faster, down to 5m
    (30 * M, 1000, None, timedelta(seconds=302.4)),
    (30 * M, 100_000, None, 5 * M),
    # 168 a week -> one an hour -> every 30 min
    (1 * H, 168, None, 30 * M),
    # a quiet source is never slowed below its configured interval by default: the NGO that
    # posts twice a week is polled as often as a wire service (the old policy: every 24h)
    (30 * M, 14, None, 30 * M),
    (30 * M, 1, None, 30 * M),
    (30 * M, 0, None, 30 * M),
    (30 * M, 0, 20 * H, 30 * M),          # a slow interval from the old policy is not kept
    # a configured interval out of range is clamped
    (1 * M, 10_000, None, 5 * M),
    (48 * H, 0, None, MAX_INTERVAL),
])
def test_adaptive_interval_never_slower_than_configured(base, recent, previous, expected):
    assert adaptive_interval(base, recent, previous) == expected


@pytest.mark.parametrize("base,recent,previous,min_interval,max_interval,expected", [
    # min_interval bounds how fast a busy source is polled
    (30 * M, 1000, None, 15 * M, None, 15 * M),
    (30 * M, 1000, None, 2 * H, None, 30 * M),         # never above the interval
    # max_interval opts in to slowing quiet sources: the rate-based interval up to it
    (30 * M, 14, None, 5 * M, 24 * H, 6 * H),
    (30 * M, 1, None, 5 * M, 12 * H, 12 * H),
    # silent: slows down by half from the previous interval, up to max_interval
    (30 * M, 0, None, 5 * M, 24 * H, 45 * M),
    (30 * M, 0, 2 * H, 5 * M, 24 * H, 3 * H),
    (30 * M, 0, 20 * H, 5 * M, 24 * H, 24 * H),
    (30 * M, 0, 20 * H, 5 * M, 4 * H, 4 * H),
    # a previous interval below the configured one (config changed) starts from the config
    (1 * H, 0, 10 * M, 5 * M, 24 * H, 90 * M),
    # a max_interval below the interval means the interval (config validation reports it)
    (1 * H, 0, None, 5 * M, 10 * M, 1 * H),
])
def test_adaptive_interval_bounds(base, recent, previous, min_interval, max_interval, expected):
    assert adaptive_interval(base, recent, previous, min_interval=min_interval,
                             max_interval=max_interval) == expected


@pytest.mark.parametrize("header,expected", [
    ("max-age=3600", H),
    ("public, max-age=600, must-revalidate", 10 * M),
    ("s-maxage=7200, max-age=60", 2 * H),
    ('max-age="120"', 2 * M),
    ("no-cache, max-age=600", None),
    ("no-store", None),
    ("private", None),
    ("", None),
    (None, None),
])
def test_max_age(header, expected):
    assert max_age(header) == expected


@pytest.mark.parametrize("header,expected", [
    ("120", 2 * M),
    ("0", timedelta(0)),
    ("Sun, 22 Nov 2026 13:00:00 GMT", H),
    ("Sun, 22 Nov 2026 11:00:00 GMT", timedelta(0)),  # in the past: now
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after(header, expected):
    assert retry_after(header, NOW) == expected


@pytest.mark.parametrize("hints,base,recent,previous,expected", [
    # no hints: adaptive
    (Hints(), 30 * M, 5000, None, 5 * M),
    # <ttl>15</ttl> on a busy feed: at most every 15 min
    (Hints(ttl=15 * M), 30 * M, 1000, None, 15 * M),
    # hints are floors only: a short max-age never speeds a source up
    (Hints(max_age=5 * M), 1 * H, 14, None, 1 * H),
    # the largest hint wins
    (Hints(ttl=10 * M, max_age=20 * M, retry_after=15 * M), 30 * M, 1000, None, 20 * M),
    # <ttl> and max-age never make a source slower than its interval: a CDN's max-age=86400
    # must not make an alert a day late
    (Hints(ttl=H), 30 * M, 1000, None, 30 * M),
    (Hints(max_age=24 * H), 30 * M, 0, None, 30 * M),
    # Retry-After is an explicit request: honoured, up to 24h
    (Hints(retry_after=2 * H), 30 * M, 1000, None, 2 * H),
    (Hints(retry_after=timedelta(days=30)), 30 * M, 1000, None, MAX_INTERVAL),
])
def test_next_success_interval(hints, base, recent, previous, expected):
    assert next_success_interval(base, recent, previous, hints) == expected


def test_hints_from_headers_and_ttl():
    headers = httpx.Headers({"Cache-Control": "max-age=900", "Retry-After": "1800"})
    assert hints_from(headers, 60, NOW) == Hints(ttl=H, max_age=15 * M, retry_after=30 * M)
    assert hints_from(None, None, NOW) == Hints()
    assert hints_from(httpx.Headers({}), 0, NOW) == Hints()


@pytest.mark.parametrize("base,count,rand,hint,expected", [
    # first failure: the configured interval, jitter centred (rand 0.5 -> x1.0)
    (30 * M, 1, 0.5, None, 30 * M),
    # doubling per consecutive failure
    (30 * M, 2, 0.5, None, H),
    (30 * M, 4, 0.5, None, 4 * H),
    # jitter: +-10%
    (30 * M, 2, 0.0, None, 54 * M),
    (30 * M, 2, 1.0, None, 66 * M),
    # capped at 24h, jitter included, however long it fails: never given up
    (30 * M, 7, 0.99, None, MAX_INTERVAL),
    (30 * M, 10_000, 0.0, None, MAX_INTERVAL * 0.9),
    # Retry-After longer than the backoff wins, but within 24h
    (30 * M, 1, 0.5, 3 * H, 3 * H),
    (30 * M, 1, 0.5, timedelta(days=3), MAX_INTERVAL),
    # a short Retry-After never shortens the backoff
    (30 * M, 3, 0.5, M, 2 * H),
    # the delay is never below the 5 min floor
    (1 * M, 1, 0.0, None, 5 * M),
])
def test_backoff_delay(base, count, rand, hint, expected):
    assert backoff_delay(base, count, rand, hint) == expected


def test_backoff_grows_monotonically_until_the_cap():
    delays = [backoff_delay(15 * M, n, 0.5) for n in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[0] == 15 * M and delays[-1] == MAX_INTERVAL


def test_hints_within_max_interval():
    # with max_interval the hints may slow the source down as far as it
    assert next_success_interval(30 * M, 1000, None, Hints(ttl=3 * H), max_interval=2 * H) == 2 * H
    assert next_success_interval(30 * M, 1000, None, Hints(ttl=H), max_interval=2 * H) == H
