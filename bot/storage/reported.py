"""Reported misses: the articles members say the bot should have caught (Telegram `/missed URL
THEME`). This module owns the `reported_misses` rows and all SQL over them: storing a report,
counting a member's reports of the last day (the daily limit), the open reports and the
recent decisions for the coordinator report, and an admin's decision (accepted | dismissed).

Must not fetch, match, or queue deliveries: turning an accepted report into an item, a hit and
queued deliveries is bot.chat.missed's, in one transaction that calls `decide` here. Every
function takes the caller's `Connection` and leaves the transaction to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import Connection, func, select, update

from bot.storage.schema import reported_misses

DAILY_LIMIT = 20       # reports a member may make in any 24 hours
DAY = timedelta(days=1)
STATUSES = ("reported", "accepted", "dismissed")


@dataclass(frozen=True)
class Report:
    id: int
    url: str
    title: str
    summary: str
    language: str | None
    theme: str
    matched: tuple[str, ...]
    chat_id: str
    user_id: str
    reported_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    item_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "title": self.title, "language": self.language,
                "theme": self.theme, "rules_matched": list(self.matched), "user_id": self.user_id,
                "chat_id": self.chat_id, "reported_at": self.reported_at, "status": self.status,
                "decided_by": self.decided_by, "decided_at": self.decided_at, "item_id": self.item_id}


def _report(row: Any) -> Report:
    return Report(row.id, row.url, row.title or "", row.summary or "", row.language, row.theme,
                  tuple(row.matched or ()), row.chat_id, row.user_id, row.reported_at, row.status,
                  row.decided_by, row.decided_at, row.item_id)


def add_report(conn: Connection, *, url: str, title: str, summary: str, language: str | None, theme: str,
               matched: Sequence[str], chat_id: int | str, user_id: int | str, now: datetime) -> int:
    """Store a member's report; its id."""
    return int(conn.execute(reported_misses.insert().values(
        url=url, title=title, summary=summary, language=language, theme=theme, matched=list(matched),
        chat_id=str(chat_id), user_id=str(user_id), reported_at=now, status="reported",
    ).returning(reported_misses.c.id)).scalar_one())


def reports_today(conn: Connection, user_id: int | str, now: datetime) -> int:
    """How many reports the member made in the 24 hours before `now`."""
    return int(conn.execute(select(func.count()).select_from(reported_misses).where(
        reported_misses.c.user_id == str(user_id), reported_misses.c.reported_at > now - DAY)).scalar_one())


def get_report(conn: Connection, report_id: int) -> Report | None:
    row = conn.execute(select(reported_misses).where(reported_misses.c.id == report_id)).first()
    return None if row is None else _report(row)


def open_reports(conn: Connection, limit: int | None = None) -> list[Report]:
    """Reports waiting for a decision, oldest first."""
    q = (select(reported_misses).where(reported_misses.c.status == "reported")
         .order_by(reported_misses.c.reported_at, reported_misses.c.id))
    if limit is not None:
        q = q.limit(limit)
    return [_report(r) for r in conn.execute(q)]


def decided_since(conn: Connection, since: datetime | None, status: str | None = None) -> list[Report]:
    """Reports decided at or after `since` (all decided ones when None), in decision order;
    only those of `status` when given."""
    q = select(reported_misses).where(reported_misses.c.status != "reported")
    if status is not None:
        q = q.where(reported_misses.c.status == status)
    if since is not None:
        q = q.where(reported_misses.c.decided_at >= since)
    return [_report(r) for r in conn.execute(q.order_by(reported_misses.c.decided_at, reported_misses.c.id))]


def decide(conn: Connection, report_id: int, status: str, by: int | str, now: datetime,
           item_id: int | None = None) -> bool:
    """Record an admin's decision on an open report; False when it was decided already (by
    another admin, or a second tap) and nothing changed."""
    if status not in ("accepted", "dismissed"):
        raise ValueError(f"a decision is accepted or dismissed, not {status!r}")
    done = conn.execute(update(reported_misses).where(
        reported_misses.c.id == report_id, reported_misses.c.status == "reported").values(
        status=status, decided_by=str(by), decided_at=now, item_id=item_id))
    return done.rowcount == 1


def counts(conn: Connection, since: datetime) -> dict[str, int]:
    """Reports made since `since`, by status (every status present, 0 when none)."""
    out = dict.fromkeys(STATUSES, 0)
    q = (select(reported_misses.c.status, func.count()).where(reported_misses.c.reported_at >= since)
         .group_by(reported_misses.c.status))
    out.update({status: int(n) for status, n in conn.execute(q)})
    return out
