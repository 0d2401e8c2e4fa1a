"""The figures the operator's endpoint shows (/healthz, /metrics), read in one go: the outbox
by kind and status, the oldest alert still waiting, weekly email sends by status, items, hits
by theme, the configured sources by status and their last successful poll.

Owns: these read-only counts. Must not: change any row, or decide what is healthy or how a
figure is named (bot.runtime.ops_http does). Takes the caller's `Connection`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from bot.storage import repo
from bot.storage.schema import deliveries, email_sends, hits, items, sources

WAITING = ("queued", "sending")    # deliveries not yet delivered


@dataclass(frozen=True)
class Figures:
    deliveries: dict[tuple[str, str], int]     # (kind, status) -> rows
    oldest_waiting_alert: datetime | None      # created_at of the oldest queued or sending alert
    emails: dict[str, int]                     # status -> weekly email sends
    items: int
    hits_by_theme: dict[str, int]
    sources_by_status: dict[str, int]          # sources still in sources.yaml only
    last_successful_poll: datetime | None      # of any source still in sources.yaml


def figures(conn: Connection) -> Figures:
    conn.execute(text("SELECT 1"))   # the database answers at all, before the counts
    by_status = {(k, s): n for k, s, n in conn.execute(
        select(deliveries.c.kind, deliveries.c.status, func.count()).group_by(deliveries.c.kind, deliveries.c.status))}
    # alerts only: a digest entry waits for its chat's digest time by design, so it would
    # make the age climb every day until 08:00 and set off the alert on it
    oldest = conn.execute(select(func.min(deliveries.c.created_at))
                          .where(deliveries.c.status.in_(WAITING), deliveries.c.kind == "alert")).scalar()
    emails = {s: n for s, n in conn.execute(select(email_sends.c.status, func.count()).group_by(email_sends.c.status))}
    n_items = conn.execute(select(func.count()).select_from(items)).scalar_one()
    by_theme = {t: n for t, n in conn.execute(select(hits.c.theme, func.count()).group_by(hits.c.theme))}
    # Sources removed from sources.yaml count nowhere (their rows stay for their items).
    by_source_status = {s: n for s, n in conn.execute(select(sources.c.status, func.count()).where(repo.configured())
                                                       .group_by(sources.c.status))}
    last_ok = conn.execute(select(func.max(sources.c.last_success_at)).where(repo.configured())).scalar()
    return Figures(deliveries=by_status, oldest_waiting_alert=oldest, emails=emails, items=n_items,
                   hits_by_theme=by_theme, sources_by_status=by_source_status, last_successful_poll=last_ok)
