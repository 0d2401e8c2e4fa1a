"""When to poll a source next: the adaptive interval and the backoff of failing sources.

Pure functions of what the caller passes in (the configured interval, what the last poll saw,
response headers, a random number for jitter). No clock, no database, no I/O, so every rule
below is a row in a table-driven test.

The policy, in order:
- A healthy source is polled at a rate derived from how often it publishes, as Miniflux's
  "entry frequency" scheduler does: if it published N items in the last 7 days, the interval is
  7d / N / 2 (twice per expected item, so an alert is at most half a gap late), clamped to
  [configured interval, 24h]. A source that published nothing in the window slows down by half
  again at each poll (x1.5) up to 24h: silence is not proof of death, so it is never dropped.
- The server's own hints are lower bounds, never upper: `<ttl>` minutes (RSS 2.0), the
  Cache-Control max-age, and Retry-After. Each is capped at 24h where it is read (`hint`) so
  a typo in a feed cannot put a source to sleep for a month, nor a hostile
  `Retry-After: 99999999999999999999` overflow the date of the next poll.
- A failing source backs off exponentially from its configured interval (x2 per consecutive
  failure) with +-10% jitter so that many sources failing together (one host down) do not
  come back in lockstep, capped at 24h. It is retried forever: failures are reported in
  `sources health`, not silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)
RATE_WINDOW = timedelta(days=7)
SILENT_GROWTH = 1.5
BACKOFF_FACTOR = 2.0
JITTER = 0.10

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def _clamp(value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    return max(low, min(high, value))


def adaptive_interval(base: timedelta, recent_items: int, previous: timedelta | None = None,
                      *, window: timedelta = RATE_WINDOW) -> timedelta:
    """The interval of a healthy source from its publishing rate.

    `recent_items`: items it published (or we first saw) within `window`.
    `previous`: the interval used last time, so a silent source keeps slowing down."""
    base = _clamp(base, MIN_INTERVAL, MAX_INTERVAL)
    if recent_items > 0:
        return _clamp(window / recent_items / 2, base, MAX_INTERVAL)
    start = max(previous or base, base)
    return _clamp(start * SILENT_GROWTH, base, MAX_INTERVAL)


def max_age(cache_control: str | None) -> timedelta | None:
    """The max-age (or s-maxage) of a Cache-Control header; None when absent or no-cache."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return None
    ages = [int(m.group(1)) for m in _MAX_AGE.finditer(cache_control)]
    return hint(max(ages)) if ages else None


def hint(seconds: int | float) -> timedelta:
    """A server's hint (max-age, Retry-After, <ttl>) as a delay, capped at MAX_INTERVAL
    before it becomes a timedelta: `Retry-After: 99999999999999999999` must not overflow."""
    return timedelta(seconds=min(seconds, MAX_INTERVAL.total_seconds()))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date (RFC 9110 10.2.3); None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return hint(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delay = when - now
    return min(delay, MAX_INTERVAL) if delay > timedelta(0) else timedelta(0)


@dataclass(frozen=True)
class Hints:
    """What the server asked for; each a minimum delay before the next request."""

    ttl: timedelta | None = None            # RSS <ttl>
    max_age: timedelta | None = None        # Cache-Control
    retry_after: timedelta | None = None    # Retry-After

    @property
    def floor(self) -> timedelta | None:
        given = [h for h in (self.ttl, self.max_age, self.retry_after) if h is not None and h > timedelta(0)]
        return min(max(given), MAX_INTERVAL) if given else None


def hints_from(headers: object | None, ttl_minutes: int | None, now: datetime) -> Hints:
    """Hints from response headers (any mapping with .get, case-insensitive as httpx.Headers)
    and the feed's `<ttl>`."""
    get = getattr(headers, "get", None)
    cc = get("cache-control") if get else None
    ra = get("retry-after") if get else None
    ttl = hint(ttl_minutes * 60) if ttl_minutes and ttl_minutes > 0 else None
    return Hints(ttl=ttl, max_age=max_age(cc), retry_after=retry_after(ra, now))


def next_success_interval(base: timedelta, recent_items: int, previous: timedelta | None,
                          hints: Hints = Hints()) -> timedelta:
    """The interval after a successful poll (changed or not): adaptive, then server hints as floors."""
    interval = adaptive_interval(base, recent_items, previous)
    floor = hints.floor
    if floor is not None and floor > interval:
        interval = floor
    return interval


def backoff_delay(base: timedelta, error_count: int, rand: float,
                  retry_after_hint: timedelta | None = None) -> timedelta:
    """The delay before retrying a source that failed `error_count` times in a row (>= 1).

    `rand` in [0, 1) drives the jitter (pass random.random() in; tests pass fixed values)."""
    base = _clamp(base, MIN_INTERVAL, MAX_INTERVAL)
    exponent = max(0, min(error_count - 1, 16))  # 2**16 x 5m is far past the cap already
    delay = min(base * (BACKOFF_FACTOR ** exponent), MAX_INTERVAL)
    delay = delay * (1 - JITTER + 2 * JITTER * rand)
    if retry_after_hint is not None and retry_after_hint > delay:
        delay = retry_after_hint
    return _clamp(delay, MIN_INTERVAL, MAX_INTERVAL)
