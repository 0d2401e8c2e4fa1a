"""The single-instance lock: one `newsbot run` per database, so nothing is sent twice.

A row in the `kv` table holds the holder (a JSON description: random id, host, pid, boot
id) and a lease expiry. The holder renews the lease with a heartbeat; another daemon may
take the row over only after the lease expired, or at once when the holder ran on the
same machine (same boot) and its pid is gone (a `kill -9` followed by a restart must not
wait a whole lease). Every change is a compare-and-set on the old value, so it works the
same on SQLite and PostgreSQL without advisory locks (the SQL is bot.storage.kv's).

Leases use real wall-clock time, not the simulated clock: they guard against real
processes. Owns: the `daemon:lock` kv row. Must not: print or exit (the CLI does).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from bot.errors import NewsbotError
from bot.storage import kv

log = logging.getLogger(__name__)

LOCK_KEY = "daemon:lock"


class LockHeld(NewsbotError):
    """Another daemon holds the database lock."""

    hint = ("only one `newsbot run` may use a database; stop the other one, "
            "or wait for its lease to expire if it died")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class InstanceLock:
    def __init__(self, engine: Engine, *, ttl: float = 60.0,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.engine = engine
        self.ttl = timedelta(seconds=ttl)
        self._now = now
        self.holder = {
            "id": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "boot": _boot_id(),
            "pid": os.getpid(),
            "since": now().isoformat(timespec="seconds"),
        }
        self._value = json.dumps(self.holder, sort_keys=True)
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise LockHeld naming the current holder."""
        for _attempt in range(5):
            now = self._now()
            with self.engine.begin() as conn:
                row = kv.read(conn, LOCK_KEY)
                if row is None:
                    if not kv.insert_new(conn, LOCK_KEY, self._value, now + self.ttl):
                        continue  # another daemon inserted first: look again
                    self.held = True
                    return
                other = _parse(row.value)
                reason = self._takeover_reason(other, row.expires_at, now)
                if reason is None:
                    raise LockHeld(_describe(other, row.expires_at))
                if kv.replace(conn, LOCK_KEY, row.value, value=self._value, expires_at=now + self.ttl):
                    log.warning("took over the daemon lock (%s) from pid %s on %s", reason,
                                other.get("pid", "?"), other.get("host", "?"))
                    self.held = True
                    return
        raise LockHeld("the daemon lock kept changing hands; another daemon is starting")

    def _takeover_reason(self, other: dict, expires_at: datetime | None, now: datetime) -> str | None:
        if expires_at is None or expires_at <= now:
            return "lease expired"
        if (other.get("host") == self.holder["host"] and other.get("boot") == self.holder["boot"]
                and isinstance(other.get("pid"), int) and other["pid"] != os.getpid()
                and not _pid_alive(other["pid"])):
            return "holder process is gone"
        return None

    def renew(self) -> bool:
        """Extend the lease; False when the lock was lost (taken over after an expiry)."""
        with self.engine.begin() as conn:
            renewed = kv.replace(conn, LOCK_KEY, self._value, expires_at=self._now() + self.ttl)
        self.held = renewed
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        with self.engine.begin() as conn:
            kv.delete_if(conn, LOCK_KEY, self._value)
        self.held = False


def _parse(value: str | None) -> dict:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict, expires_at: datetime | None) -> str:
    until = expires_at.isoformat(timespec="seconds") if expires_at else "?"
    return (f"another newsbot daemon holds the database lock "
            f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')}, lease until {until})")
