"""The weekly digest email: which week is due, who has had it, and sending it.

Owns: the schedule (`email.weekly` day/time/zone), the `email_sends` rows that make sending
idempotent, and the per-list/per-recipient outcome. What goes in a digest is
`email_digest`, the templates and headers `email_render`, SMTP `email_send`.
Must not: print, exit, read the environment (settings come in), or touch Telegram.

Week. A digest covers one ISO week, Monday 00:00 to Monday 00:00 in the schedule's time
zone (`email.weekly.timezone`, else NEWSBOT_TZ, else `deliveries.yaml` timezone); a hit
belongs to the week in which newsbot found it (`hits.created_at`), so a late-published
item is never lost between weeks. The send at `email.weekly.day`/`time` of week W carries
week W-1, the last complete week; a send missed for longer than `catch_up` is skipped.

Sending. Every recipient of a (list, week) gets an `email_sends` row (queued) before the
first message goes out; a row is claimed by bumping `attempts` (compare-and-set, so two
processes never send the same row), then marked sent or failed. A crash leaves rows queued
and the next run sends exactly those. A row is marked `sent` after the server accepted the
message: a crash in between sends that one message again (at least once, never lost).
Permanent failures (5xx) are `failed` and not retried; temporary ones (4xx, a server down or
unreachable) stay queued and are retried by every later `send_due`, whatever the week, with a
backoff between runs capped at RETRY_CAP: a temporary failure never becomes a permanent one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.config.deliveries import WEEKDAYS, DeliveriesFile, EmailList
from bot.delivery.email.digest import (DigestBuilder, parse_week, score, shift_week,  # noqa: F401 (API)
                                       theme_catalog, week_bounds, week_label)
from bot.delivery.email.render import WeeklyDigest, build_message, render
from bot.config.smtp import parse_smtp_url
from bot.delivery.email.smtp import SendResult, Sleep, SmtpSender, SmtpUnavailable
from bot.errors import NewsbotError
from bot.storage.schema import email_lists, email_sends

if TYPE_CHECKING:
    import ssl

    from bot.config.settings import Settings
    from bot.config.themes import Theme, ThemeSet

log = logging.getLogger(__name__)

RETRY_CAP = timedelta(minutes=10)    # the longest wait between runs retrying queued recipients


# ---- reports -----------------------------------------------------------------------------

@dataclass
class ListReport:
    list_name: str
    week: str
    stories: int = 0
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)      # permanent, not retried
    deferred: dict[str, str] = field(default_factory=dict)    # temporary, next run retries
    skipped: str = ""                                         # why the week was not sent at all

    @property
    def ok(self) -> bool:
        return not self.failed and not self.deferred


@dataclass
class EmailReport:
    lists: list[ListReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.lists)

    @property
    def sent(self) -> int:
        return sum(len(r.sent) for r in self.lists)


# ---- the digest --------------------------------------------------------------------------

class WeeklyEmail:
    """Builds and sends the weekly digest of every list in `deliveries.yaml`."""

    def __init__(self, engine: Engine, deliveries_cfg: DeliveriesFile, themes: ThemeSet | Iterable[Theme] | Mapping[str, tuple[str, str]] | None,
                 settings: Settings,
                 clock: Callable[[], datetime] | None = None, *,
                 source_names: Mapping[str, str] | None = None, tls_context: ssl.SSLContext | None = None,
                 weights: Mapping[str, float] | None = None,
                 sleep: Sleep = asyncio.sleep, max_attempts: int = 4,
                 backoff: float = 2.0, max_per_theme: int = 10,
                 catch_up: timedelta = timedelta(days=2), unsubscribe_url: str | None = None):
        self.engine = engine
        self.cfg = deliveries_cfg
        self.catalog = theme_catalog(themes)
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        # From the caller's validated sources.yaml; without them ids serve as names, weights are 1.
        self.source_names = dict(source_names or {})
        self.weights = dict(weights or {})
        self.tls_context = tls_context
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_per_theme = max_per_theme
        self.catch_up = catch_up
        self.unsubscribe_url = unsubscribe_url
        self._retry_at: datetime | None = None
        self._skipped: dict[tuple[str, str], str] = {}     # (list, week) not sent, and why
        self._retry_wait = timedelta(0)
        weekly = deliveries_cfg.email.weekly
        self.tz = ZoneInfo(weekly.timezone or settings.timezone or deliveries_cfg.timezone)
        self.builder = DigestBuilder(engine, self.catalog, self.tz, self.source_names, max_per_theme,
                                     weights=self.weights)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_url and self.settings.email_from)

    def list_named(self, name: str | None) -> EmailList:
        """The named list; without a name the first one, or an all-themes preview list."""
        lists = self.cfg.email.weekly.lists
        if name is None:
            return lists[0] if lists else EmailList(name="preview", to=("preview@example.org",))
        for lst in lists:
            if lst.name == name:
                return lst
        known = ", ".join(known_list.name for known_list in lists) or "none"
        raise NewsbotError(f"no email list named {name!r} in deliveries.yaml (lists: {known})")

    def current_week(self, now: datetime | None = None) -> str:
        return week_label((now or self.clock()).astimezone(self.tz).date())

    def last_complete_week(self, now: datetime | None = None) -> str:
        return shift_week(self.current_week(now), -1)

    def scheduled_at(self, week: str) -> datetime:
        """When the digest of `week` goes out: the configured day/time of the next week."""
        weekly = self.cfg.email.weekly
        hh, mm = (int(x) for x in weekly.time.split(":"))
        day = parse_week(week) + timedelta(days=7 + WEEKDAYS.index(weekly.day))
        return datetime.combine(day, time(hh, mm), self.tz).astimezone(timezone.utc)

    def due_week(self, now: datetime | None = None) -> str | None:
        """The week whose digest should go out now, or None. A send missed for longer than
        `catch_up` (a server down for days, a fresh install) is skipped, not sent stale."""
        now = now or self.clock()
        week = self.last_complete_week(now)
        at = self.scheduled_at(week)
        if now < at:
            week = shift_week(week, -1)
            at = self.scheduled_at(week)
        return week if at <= now < at + self.catch_up else None

    # -- content --
    def digest(self, lst: EmailList, week: str) -> WeeklyDigest:
        return self.builder.build(lst, week, generated_at=self.clock(), footer=self._footer(lst, week))

    def _footer(self, lst: EmailList, week: str) -> list[str]:
        title = lst.title or lst.name
        contact = self.settings.email_from
        how = (f"reply to this email or write to {_addr(contact)} with the subject “unsubscribe {lst.name}”"
               if contact else "ask your coalition's coordinators")
        return [
            f"You receive this weekly digest as a member of the “{title}” list.",
            f"To change your subscription (themes, regions, languages) or to stop it, {how}; "
            "the coordinators keep the lists in deliveries.yaml.",
            "For alerts as they happen, the coalition's Telegram bot takes /subscribe.",
            f"Week {week} · times in {self.tz} · sent by newsbot",
        ]

    def render(self, lst: EmailList, week: str) -> tuple[WeeklyDigest, str, str]:
        digest = self.digest(lst, week)
        html, text = render(digest)
        return digest, html, text

    # -- sending --

    async def send_due(self) -> EmailReport:
        """Send the due week's digest of every list to every recipient not yet served."""
        if not self.enabled:
            return EmailReport()
        now = self.clock()
        week = self.due_week(now)
        retry = [w for w in self._weeks_with_queued() if w != week]
        if retry and self._retry_at is not None and now < self._retry_at:
            retry = []                     # backing off: the server failed us recently
        report = EmailReport()
        for w in sorted(retry) + ([week] if week else []):
            report.lists.extend((await self.send_week(w, scheduled=True)).lists)
        if report.ok:
            self._retry_at, self._retry_wait = None, timedelta(0)
        elif retry or week:
            self._retry_wait = min(RETRY_CAP, max(timedelta(minutes=1), self._retry_wait * 2))
            self._retry_at = now + self._retry_wait
        return report

    def _weeks_with_queued(self) -> list[str]:
        """Weeks whose digest still waits for a recipient after a temporary failure."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(email_sends.c.week).where(email_sends.c.status == "queued")
                                     .distinct()).scalars())

    async def send_now(self, list_name: str | None = None, week: str | None = None) -> EmailReport:
        """Send the last complete week (or `week`) now, to whoever has not had it."""
        week = week or self.last_complete_week()
        parse_week(week)
        return await self.send_week(week, [self.list_named(list_name)] if list_name else None)

    async def send_week(self, week: str, lists: list[EmailList] | None = None, *,
                        scheduled: bool = False) -> EmailReport:
        """Send `week` to every list (or `lists`). A week nothing matched is not sent (unless
        the list says `send_empty: true`); `scheduled` (the daemon's send) also skips a week
        that ended before the list was first seen (`record_lists`)."""
        smtp_url, email_from = self.settings.smtp_url, self.settings.email_from
        if not (smtp_url and email_from):      # not self.enabled
            raise NewsbotError("email is off: set SMTP_URL and EMAIL_FROM")
        config = parse_smtp_url(smtp_url)
        report = EmailReport()
        todo = list(lists if lists is not None else self.cfg.email.weekly.lists)
        async with SmtpSender(config, tls_context=self.tls_context, sleep=self.sleep,
                              max_attempts=self.max_attempts, backoff=self.backoff) as smtp:
            for i, lst in enumerate(todo):
                lr = ListReport(lst.name, week)
                report.lists.append(lr)
                try:
                    await self._send_list(smtp, lst, week, lr, email_from, scheduled)
                except SmtpUnavailable as exc:
                    log.error("email list=%s week=%s: %s; the rest waits for the next run", lst.name, week, exc)
                    for later in todo[i + 1:]:
                        report.lists.append(ListReport(later.name, week,
                                                       deferred={r: str(exc) for _n, r in later.recipients}))
                    for _n, r in lst.recipients:
                        if r not in lr.sent and r not in lr.already_sent and r not in lr.failed:
                            lr.deferred.setdefault(r, str(exc))
                    break
        log.info("email week=%s lists=%d sent=%d failed=%d deferred=%d", week, len(report.lists), report.sent,
                 sum(len(r.failed) for r in report.lists), sum(len(r.deferred) for r in report.lists))
        return report

    async def _send_list(self, smtp: SmtpSender, lst: EmailList, week: str, lr: ListReport, email_from: str,
                         scheduled: bool = False) -> None:
        now = self.clock()
        started = self._started(lst, week)
        if scheduled and (lst.name, week) in self._skipped and not started:   # decided once for the daemon
            lr.skipped = self._skipped[(lst.name, week)]
            return
        if not started and scheduled and self._before_list(lst, week):
            lr.skipped = self._skipped[(lst.name, week)] = "the week ended before the list was in deliveries.yaml"
            return
        digest = None
        if not started:
            digest, html, text = self.render(lst, week)
            if digest.stories == 0 and not lst.send_empty:
                lr.skipped = "no stories this week (send_empty: true sends it anyway)"
                if scheduled:     # the daemon looks again every hour: decide once
                    self._skipped[(lst.name, week)] = lr.skipped
                log.info("email list=%s week=%s: no stories, not sent", lst.name, week)
                return
        pending = self._queue(lst, week, now, lr)
        if not pending:
            return
        if digest is None:
            digest, html, text = self.render(lst, week)
        lr.stories = digest.stories
        names = {addr.lower(): name for name, addr in lst.recipients}
        for row_id, recipient, attempts in pending:
            if not self._claim(row_id, attempts):
                continue                   # another process took it
            msg = build_message(digest, html, text, email_from=email_from,
                                recipient=recipient, now=self.clock(), unsubscribe_url=self.unsubscribe_url,
                                recipient_name=names.get(recipient.lower(), ""))
            try:
                result = await smtp.send(msg, recipient, sender=_addr(email_from))
            except SmtpUnavailable as exc:
                self._record(row_id, SendResult(recipient, "temporary", 0, str(exc)), None, attempts + 1)
                lr.deferred[recipient] = str(exc)
                raise
            self._record(row_id, result, msg["Message-ID"], attempts + 1)
            if result.status == "sent":
                lr.sent.append(recipient)
            elif result.status == "permanent":
                lr.failed[recipient] = result.error or "failed"
            else:
                lr.deferred[recipient] = result.error or "temporary failure"

    def _queue(self, lst: EmailList, week: str, now: datetime, lr: ListReport) -> list[tuple[int, str, int]]:
        """Rows for every recipient (created once), and the ones still to send."""
        with self.engine.begin() as conn:
            known = {r.recipient: r for r in conn.execute(
                select(email_sends).where(email_sends.c.list_name == lst.name, email_sends.c.week == week))}
        for _name, recipient in lst.recipients:
            if recipient in known:
                continue
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(email_sends).values(list_name=lst.name, week=week, recipient=recipient,
                                                            status="queued", attempts=0, created_at=now))
            except IntegrityError:
                pass                       # queued by a concurrent run
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(email_sends).where(email_sends.c.list_name == lst.name,
                                                               email_sends.c.week == week)))
        pending = []
        for r in rows:
            if r.status == "sent":
                lr.already_sent.append(r.recipient)
            elif r.status == "queued":
                pending.append((r.id, r.recipient, r.attempts))
        return pending

    def _started(self, lst: EmailList, week: str) -> bool:
        """Has a run queued this list's week already (it is then finished, whatever)?"""
        with self.engine.connect() as conn:
            return conn.execute(select(email_sends.c.id).where(
                email_sends.c.list_name == lst.name, email_sends.c.week == week).limit(1)).first() is not None

    def _before_list(self, lst: EmailList, week: str) -> bool:
        """Did `week` end before the list was first seen? (Unknown lists: no.)"""
        with self.engine.connect() as conn:
            seen = conn.execute(select(email_lists.c.first_seen_at).where(email_lists.c.name == lst.name)).scalar()
        return seen is not None and week_bounds(week, self.tz)[1] <= seen

    def _claim(self, row_id: int, attempts: int) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(update(email_sends)
                               .where(and_(email_sends.c.id == row_id, email_sends.c.status == "queued",
                                           email_sends.c.attempts == attempts))
                               .values(attempts=attempts + 1))
            return res.rowcount == 1

    def _record(self, row_id: int, result: SendResult, message_id: str | None, attempts: int) -> None:
        if result.status == "sent":
            values = {"status": "sent", "sent_at": self.clock(), "message_id": message_id, "error": None}
        elif result.status == "permanent":
            values = {"status": "failed", "error": result.error}
        else:
            values = {"status": "queued", "error": result.error}
        with self.engine.begin() as conn:
            conn.execute(update(email_sends).where(email_sends.c.id == row_id).values(**values))


def record_lists(engine: Engine, deliveries_cfg: DeliveriesFile, now: datetime) -> int:
    """Remember when each email list of deliveries.yaml was first seen (the daemon calls this
    at start and on every reload); returns how many are new."""
    new = 0
    with engine.begin() as conn:
        known = set(conn.execute(select(email_lists.c.name)).scalars())
        for lst in deliveries_cfg.email.weekly.lists:
            if lst.name not in known:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(email_lists).values(name=lst.name, first_seen_at=now))
                    new += 1
                except IntegrityError:
                    pass                   # recorded by another process meanwhile
    return new


def _addr(email_from: str | None) -> str:
    from email.utils import parseaddr
    return parseaddr(email_from or "")[1]
