"""Wake-ups across processes: PostgreSQL LISTEN/NOTIFY on the outbox.

With split roles (`newsbot run --role poller` and `--role sender` in other processes), a
sender would otherwise notice a queued alert only at its next periodic look (a minute). The
transaction that queues deliveries also runs `pg_notify` (`notify_outbox`), which PostgreSQL
delivers when, and only if, that transaction commits; a sender holds a connection that
LISTENs (`listen_outbox`) and wakes its delivery loop on each notification. Polling stays as
the fallback: a lost connection, or a notification sent while nobody listened, costs at most
one period. SQLite needs none of this (one process per file).

Owns: the channel name and the listening connection. Must not: send, or decide what is due.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHANNEL = "newsbot_outbox"


def notify_outbox(conn: Connection) -> None:
    """Tell the listening senders that deliveries were queued (delivered at commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def listen_outbox(engine: Engine, wake: Callable[[], None], *, retry: float = 5.0) -> None:
    """Call `wake()` on every notification of CHANNEL, until cancelled; reconnects after a
    lost connection (waking once on each connect: something may have been queued meanwhile).
    Returns at once on anything but PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return
    import psycopg

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                log.debug("listening for queued deliveries on %s", CHANNEL)
                wake()
                async for _note in conn.notifies():
                    wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database may be restarting; polling covers it
            log.warning("outbox notifications lost (%s); polling until reconnected", type(exc).__name__)
        await asyncio.sleep(retry)


__all__ = ["CHANNEL", "listen_outbox", "notify_outbox"]
