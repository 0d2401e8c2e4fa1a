"""When to poll a source next: the adaptive interval and the backoff of failing sources.

Pure functions of what the caller passes in (the configured intervals, what the last poll saw,
response headers, a random number for jitter). No clock, no database, no I/O, so every rule
below is a row in a table-driven test.

The policy, in order:
- The configured `interval` is the slowest a healthy source is polled: an alert from a quiet
  NGO that posts twice a week must be as instant as one from a wire service. Adaptivity only
  polls a busy source faster: if it published N items in the last 7 days, the interval is
  7d / N / 2 (twice per expected item), never below `min_interval` (default 5m).
- Slowing quiet sources down is opt-in: with a `max_interval` (>= interval) the rate-based
  interval may grow up to it, and a source that published nothing in the window slows down by
  half again at each poll (x1.5) up to it. Silence is not proof of death: never dropped.
- The server's own hints are lower bounds, never upper: `<ttl>` minutes (RSS 2.0) and the
  Cache-Control max-age may slow a source down only as far as its slowest allowed interval
  (`max_interval`, else `interval`), so a CDN's `max-age=86400` cannot make an alert a day
  late; Retry-After, an explicit request, is honoured up to 24h.
  Each hint is capped where it is read (`hint`): a hostile
  `Retry-After: 99999999999999999999` cannot overflow the date of the next poll.
- A failing source backs off exponentially from its configured interval (x2 per consecutive
  failure) with +-10% jitter so that many sources failing together (one host down) do not
  come back in lockstep, capped at 24h. It is retried forever: failures are reported in
  `sources health`, not silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
                      *, window: timedelta = RATE_WINDOW, min_interval: timedelta = MIN_INTERVAL,
                      max_interval: timedelta | None = None) -> timedelta:
    """The interval of a healthy source from its publishing rate.

    `recent_items`: items it published (or we first saw) within `window`.
    `previous`: the interval used last time, so a silent source keeps slowing down (only when
    a `max_interval` allows slowing at all).
    `min_interval`/`max_interval`: the fastest and slowest allowed; without `max_interval`
    the configured `base` is the slowest."""
    base = _clamp(base, MIN_INTERVAL, MAX_INTERVAL)
    fastest = _clamp(min_interval, MIN_INTERVAL, base)
    slowest = ceiling(base, max_interval)
    if recent_items > 0:
        return _clamp(window / recent_items / 2, fastest, slowest)
    if slowest == base:
        return base
    start = max(previous or base, base)
    return _clamp(start * SILENT_GROWTH, base, slowest)


def ceiling(base: timedelta, max_interval: timedelta | None) -> timedelta:
    """The slowest a healthy source may be polled: its `max_interval`, else its `interval`."""
    base = _clamp(base, MIN_INTERVAL, MAX_INTERVAL)
    if max_interval is None:
        return base
    return _clamp(max_interval, base, MAX_INTERVAL)


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

    def floor_within(self, slowest: timedelta) -> timedelta | None:
        """The delay the hints ask for: <ttl> and max-age capped at `slowest` (the source's
        slowest allowed interval), Retry-After at 24h."""
        given = [min(h, slowest) for h in (self.ttl, self.max_age) if h is not None and h > timedelta(0)]
        if self.retry_after is not None and self.retry_after > timedelta(0):
            given.append(self.retry_after)
        return min(max(given), MAX_INTERVAL) if given else None

    @property
    def floor(self) -> timedelta | None:
        return self.floor_within(MAX_INTERVAL)


def hints_from(headers: Mapping[str, str] | None, ttl_minutes: int | None, now: datetime) -> Hints:
    """Hints from response headers (a mapping with lower-case names, or httpx.Headers, which
    is case-insensitive) and the feed's `<ttl>`."""
    cc = headers.get("cache-control") if headers is not None else None
    ra = headers.get("retry-after") if headers is not None else None
    ttl = hint(ttl_minutes * 60) if ttl_minutes and ttl_minutes > 0 else None
    return Hints(ttl=ttl, max_age=max_age(cc), retry_after=retry_after(ra, now))


def next_success_interval(base: timedelta, recent_items: int, previous: timedelta | None,
                          hints: Hints = Hints(), *, min_interval: timedelta = MIN_INTERVAL,
                          max_interval: timedelta | None = None) -> timedelta:
    """The interval after a successful poll (changed or not): adaptive, then server hints as
    floors within the source's bounds."""
    interval = adaptive_interval(base, recent_items, previous, min_interval=min_interval,
                                 max_interval=max_interval)
    floor = hints.floor_within(ceiling(base, max_interval))
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
