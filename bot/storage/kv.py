"""The `kv` table: small named records (a key, a text value, an optional expiry), changed only
by compare-and-set so two processes never both win, the same on SQLite and PostgreSQL without
advisory locks.

Owns: the SQL over `kv`. Must not: know what a key means; its user does (bot.runtime.lock owns
'daemon:lock', bot.runtime.weekly_report owns 'report:weekly'). Every function takes the
caller's `Connection` and leaves the transaction to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.storage.schema import kv


class Record(NamedTuple):
    value: str | None
    expires_at: datetime | None


def read(conn: Connection, key: str) -> Record | None:
    """The record under `key`, or None when there is none."""
    row = conn.execute(select(kv.c.value, kv.c.expires_at).where(kv.c.key == key)).first()
    return None if row is None else Record(row.value, row.expires_at)


def insert_new(conn: Connection, key: str, value: str, expires_at: datetime | None = None) -> bool:
    """Create the record; False when `key` already exists (another process inserted it first).
    ON CONFLICT DO NOTHING rather than catching the violation, so the caller's transaction
    stays usable on PostgreSQL."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(kv).values(key=key, value=value, expires_at=expires_at).on_conflict_do_nothing()
    # RETURNING, not rowcount: SQLAlchemy does not report an INSERT's rowcount on every driver
    return conn.execute(stmt.returning(kv.c.key)).first() is not None


_KEEP: Any = object()


def replace(conn: Connection, key: str, expected: str | None, value: str | None = _KEEP,
            expires_at: datetime | None = _KEEP) -> bool:
    """Compare-and-set: give the record `value` and/or `expires_at` (what is left out stays)
    only if its value is still `expected`; False when it changed (or is gone) meanwhile."""
    values: dict[str, Any] = {}
    if value is not _KEEP:
        values["value"] = value
    if expires_at is not _KEEP:
        values["expires_at"] = expires_at
    if not values:
        raise ValueError("kv.replace needs a value or an expiry to set")
    return conn.execute(update(kv).where(kv.c.key == key, kv.c.value == expected).values(**values)).rowcount == 1


def delete_if(conn: Connection, key: str, expected: str | None) -> bool:
    """Remove the record only if its value is still `expected`; False otherwise."""
    return conn.execute(delete(kv).where(kv.c.key == key, kv.c.value == expected)).rowcount == 1
