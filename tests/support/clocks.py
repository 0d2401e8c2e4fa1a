"""A virtual clock for the sender's tests: `clock()` is the time, `await clock.sleep(s)` moves
it forward at once, so hours of flood-limited sending run in milliseconds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class VirtualClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def ts(self) -> float:
        return self.now.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 0))
        await asyncio.sleep(0)
