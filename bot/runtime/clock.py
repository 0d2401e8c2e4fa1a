"""The daemon's clock: real time, or real time sped up for end-to-end tests and benchmarks.

`NEWSBOT_TIME_SCALE=360` makes one real second count as six simulated minutes, so an hour
of polling and a daily digest run in seconds. Simulated time is a pure function of real
time, `origin + (real - origin) * scale`, with `origin` from `NEWSBOT_TIME_ORIGIN` (Unix
seconds): a daemon killed and restarted with the same origin resumes at the same
simulated instant, which is what makes crash-and-restart tests meaningful. Without an
origin the process start is used.

Owns: now() and sleep() in simulated time. Must not: read configuration files or touch
the database. Leases held against other processes (the single-instance lock) use real
time on purpose, see bot/runtime/lock.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Mapping


class Clock:
    """Aware-UTC `now()` and an asyncio `sleep()` measured in the same (simulated) seconds."""

    def __init__(self, scale: float = 1.0, origin: float | None = None):
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = float(scale)
        self.origin = time.time() if origin is None else float(origin)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Clock":
        raw = env.get("NEWSBOT_TIME_SCALE", "").strip()
        try:
            scale = float(raw) if raw else 1.0
        except ValueError:
            raise ValueError(f"NEWSBOT_TIME_SCALE must be a number (got {raw!r})") from None
        origin_raw = env.get("NEWSBOT_TIME_ORIGIN", "").strip()
        try:
            origin = float(origin_raw) if origin_raw else None
        except ValueError:
            raise ValueError(f"NEWSBOT_TIME_ORIGIN must be Unix seconds (got {origin_raw!r})") from None
        return cls(scale, origin)

    @property
    def compressed(self) -> bool:
        return self.scale != 1.0

    def timestamp(self) -> float:
        real = time.time()
        if self.scale == 1.0:
            return real
        return self.origin + (real - self.origin) * self.scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), timezone.utc)

    def __call__(self) -> datetime:
        # Components take `clock: Callable[[], datetime]`; the clock itself fits.
        return self.now()

    def real_seconds(self, simulated: float) -> float:
        return max(0.0, simulated) / self.scale

    async def sleep(self, simulated: float) -> None:
        await asyncio.sleep(self.real_seconds(simulated))

    def __repr__(self) -> str:
        return f"Clock(scale={self.scale:g})"
