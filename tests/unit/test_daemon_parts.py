"""The daemon's wake-up timing (bot.runtime.waits) and what it reports (bot.runtime.status), without
a running daemon; the daemon itself is tested end to end in tests/integration/test_daemon_e2e.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.errors import ConfigError, Problem
from bot.ingest.poll_results import SourceResult
from bot.runtime import status
from bot.runtime.clock import Clock
from bot.runtime.waits import COALESCE, Waits, coalesced

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


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


def test_health_reports_role_lock_and_channel():
    counters = status.Counters(poll_cycles=3)
    got = status.health(counters, role="all", leader=True, lock_held=False, config_error=None, telegram=False, now=NOW)
    assert got["poll_cycles"] == 3 and got["role"] == "all" and got["leader"] is True
    assert (got["lock"], got["telegram"], got["now"]) == ("lost", "console", "2026-11-23T09:00:00+00:00")


def test_a_rejected_configuration_names_ten_problems_and_counts_the_rest():
    problems = [Problem("sources.yaml", i, 1, f"problem {i}") for i in range(1, 13)]
    text = status.config_rejected(ConfigError(problems))
    assert "problem 10" in text and "problem 11" not in text
    assert "… and 2 more" in text and text.endswith("Fix it and run `newsbot check`.")


def test_failing_sources_are_one_warning_line(caplog):
    results = [SourceResult(f"s{i}", "failed", error_kind="timeout") for i in range(12)]
    results.append(SourceResult("fine", "changed"))
    with caplog.at_level("WARNING", logger="bot.runtime.daemon"):
        status.log_failing_sources(results)
    [line] = [r.getMessage() for r in caplog.records]
    assert "s0 (timeout)" in line and "s9 (timeout)" in line and "s10" not in line and "and 2 more" in line
    assert "fine" not in line
