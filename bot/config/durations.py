"""Durations with units, as coordinators write them: `90s`, `30m`, `1h`, `7d`, `2w`."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
# Longer than any interval, timeout, retention or --since anyone means, and far inside what
# timedelta holds (`.inf` or `10e23h` must be a "too long", not an OverflowError).
MAX_DURATION = timedelta(days=100 * 365)


def parse_duration(text: str | int | float) -> timedelta:
    """`1h30m` -> 5400 s. A bare number means seconds. Raises ValueError with the reason."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30m, 1h or 7d")
    if isinstance(text, (int, float)):
        return _bounded(text, text)
    s = str(text).strip().lower().replace(" ", "")
    if not s:
        raise ValueError("empty duration")
    pos = 0
    total = 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"expected a duration such as 30m, 1h or 7d (got {text!r})")
    return _bounded(total, text)


def _bounded(seconds: int | float, text: object) -> timedelta:
    """`seconds` as a timedelta, refused when it is not a finite, non-negative number up to
    MAX_DURATION (ints are compared before any float conversion: 10**400 must not overflow)."""
    if isinstance(seconds, float) and math.isnan(seconds):
        raise ValueError(f"expected a duration such as 30m, 1h or 7d (got {text!r})")
    if seconds < 0:
        raise ValueError(f"must not be negative (got {text!r})")
    if seconds > MAX_DURATION.total_seconds():  # inf too
        raise ValueError(f"too long: at most {MAX_DURATION.days // 365} years (got {text!r})")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    secs = int(td.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"
