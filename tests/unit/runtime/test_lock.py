"""The single-instance lock, on SQLite and PostgreSQL: one holder, renewal, take-over after
expiry or a dead holder."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from bot.runtime.clock import Clock
from bot.runtime.lock import LOCK_KEY, InstanceLock, LockHeld
from bot.storage import kv


class FakeNow:
    def __init__(self):
        self.t = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.t


def test_second_holder_is_refused_until_the_lease_expires(engine):
    now = FakeNow()
    first, second = InstanceLock(engine, ttl=60, now=now), InstanceLock(engine, ttl=60, now=now)
    first.acquire()
    with pytest.raises(LockHeld, match="pid .* lease until"):
        second.acquire()
    now.t += timedelta(seconds=59)
    assert first.renew()
    now.t += timedelta(seconds=59)
    with pytest.raises(LockHeld):
        second.acquire()
    now.t += timedelta(seconds=2)
    second.acquire()
    assert not first.renew(), "the old holder must learn it lost the lock"
    second.release()
    first.acquire()


def test_release_lets_the_next_daemon_in_at_once(engine):
    first, second = InstanceLock(engine), InstanceLock(engine)
    first.acquire()
    first.release()
    second.acquire()
    assert second.held


def test_a_dead_holder_on_this_machine_is_taken_over_without_waiting(engine):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    ghost = InstanceLock(engine, ttl=3600)
    ghost.acquire()
    holder = dict(ghost.holder, pid=pid)
    with engine.begin() as conn:
        assert kv.replace(conn, LOCK_KEY, json.dumps(ghost.holder, sort_keys=True), value=json.dumps(holder, sort_keys=True))
    fresh = InstanceLock(engine, ttl=3600)
    fresh.acquire()
    with engine.connect() as conn:
        record = kv.read(conn, LOCK_KEY)
    assert record is not None and json.loads(record.value or "")["id"] == fresh.holder["id"]


def test_clock_scales_from_a_shared_origin():
    clock = Clock(scale=100, origin=0)
    assert clock.real_seconds(50) == 0.5
    assert clock.timestamp() > 100 * 1_700_000_000
    with pytest.raises(ValueError):
        Clock.from_env({"NEWSBOT_TIME_SCALE": "fast"})
    assert Clock.from_env({}).scale == 1.0
