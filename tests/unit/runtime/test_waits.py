"""bot.runtime.waits: when a duty wakes, without a running daemon (the daemon itself is tested end to
end in tests/integration/runtime/test_daemon_e2e.py)."""

from __future__ import annotations

import asyncio

from bot.runtime.clock import Clock
from bot.runtime.waits import COALESCE, Waits, coalesced


def test_a_poll_waits_for_its_neighbours_within_the_coalescing_window():
    for _ in range(200):
        assert 100.0 + COALESCE[0] <= coalesced(100.0) <= 100.0 + COALESCE[1]


async def test_a_long_sleep_ends_when_an_event_is_set_or_the_daemon_stops():
    waits = Waits(Clock())
    waits.deliver.set()
    await asyncio.wait_for(waits.sleep(86400.0, waits.deliver), timeout=30)   # woken, not a day
    waits.stop.set()
    await asyncio.wait_for(waits.sleep(86400.0), timeout=30)
    assert await asyncio.wait_for(waits.until_leader(), timeout=30) is False   # stopping first


async def test_until_leader_is_true_once_leading():
    waits = Waits(Clock())
    waits.leading.set()
    assert await asyncio.wait_for(waits.until_leader(), timeout=30) is True
