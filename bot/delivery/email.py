"""The weekly digest email: which week is due, what goes in it, who has had it.

Owns: the choice of hits for a list and week (from the `items`/`hits`/`stories` rows),
their grouping and ranking, the summary table, and the `email_sends` rows that make
sending idempotent. Rendering is in `email_render`, SMTP in `email_send`.
Must not: print, exit, read the environment (settings come in), or touch Telegram.

Week. A digest covers one ISO week, Monday 00:00 to Monday 00:00 in the schedule's time
zone (`email.weekly.timezone`, else NEWSBOT_TZ, else `deliveries.yaml` timezone); a hit
belongs to the week in which newsbot found it (`hits.created_at`), so a late-published
item is never lost between weeks. The send at `email.weekly.day`/`time` of week W carries
week W-1, the last complete week. Backlog items (a new source's old posts) stay out.

Ranking within a theme, one entry per story (the earliest item found):
    score = min(sources - 1, 5) + recency + priority
  sources  distinct sources reporting the story (each extra one outweighs a week of age)
  recency  1 at the end of the week down to 0 seven days earlier (published, else found)
  priority 1 high, 0.5 normal, 0 low (a theme's priority may change mid-week)
ties: newer first, then item id. Themes: high priority first, then normal, then low.

Sending. Every recipient of a (list, week) gets an `email_sends` row (queued) before the
first message goes out; a row is claimed by bumping `attempts` (compare-and-set, so two
processes never send the same row), then marked sent or failed. A crash leaves rows queued
and the next run sends exactly those. A row is marked `sent` after the server accepted the
message: a crash in between sends that one message again (at least once, never lost).
Permanent failures (5xx) are `failed` and not retried; temporary ones stay queued for the
next run, up to MAX_RUNS runs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.config.deliveries import WEEKDAYS, DeliveriesFile, EmailList
from bot.delivery.email_render import (DigestEntry, SummaryRow, ThemeSection, WeeklyDigest,
                                       build_message, render)
from bot.delivery.email_send import SendResult, SmtpSender, SmtpUnavailable, parse_smtp_url
from bot.errors import NewsbotError
from bot.storage.schema import email_sends, hits, items

log = logging.getLogger(__name__)

PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}
PRIORITY_WEIGHT = {"high": 1.0, "normal": 0.5, "low": 0.0}
MAX_RUNS = 5                 # runs that may try one recipient before it is marked failed
SUMMARY_WEEKS = 4
SNIPPET_CHARS = 280
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

ThemeCatalog = Mapping[str, tuple[str, str]]      # slug -> (title, priority)


# ---- weeks -------------------------------------------------------------------------------

def parse_week(label: str) -> date:
    """'2026-W47' -> the Monday of that ISO week."""
    m = _WEEK.match(label.strip())
    if not m:
        raise ValueError(f"not an ISO week: {label!r} (expected e.g. 2026-W47)")
    try:
        return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"no such ISO week: {label!r}") from None


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def shift_week(label: str, weeks: int) -> str:
    return week_label(parse_week(label) + timedelta(weeks=weeks))


def week_bounds(label: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the week in aware UTC, from local midnights (DST-safe)."""
    monday = parse_week(label)
    start = datetime.combine(monday, time(0), tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def theme_catalog(themes: Any) -> dict[str, tuple[str, str]]:
    """A ThemeSet (or any iterable of objects with slug/title/priority), or a mapping
    slug -> (title, priority), as one mapping."""
    if themes is None:
        return {}
    if isinstance(themes, Mapping):
        return {slug: (str(v[0]), str(v[1])) for slug, v in themes.items()}
    found = getattr(themes, "themes", themes)
    return {t.slug: (t.title or t.slug, t.priority) for t in found}


def score(n_sources: int, when: datetime | None, week_end: datetime, priority: str) -> float:
    """The ranking formula of the module docstring."""
    recency = 0.0
    if when is not None:
        age_days = (week_end - when).total_seconds() / 86400
        recency = min(1.0, max(0.0, 1.0 - age_days / 7))
    return min(max(n_sources - 1, 0), 5) + recency + PRIORITY_WEIGHT.get(priority, 0.5)


def _country_name(code: str) -> str:
    try:
        from bot.countries import country_name
        return country_name(code, "en")
    except (ImportError, LookupError, ValueError):
        from babel import Locale
        return Locale("en").territories.get(code.upper(), code)


def _snippet(summary: str, text: str) -> str:
    body = " ".join((summary or text or "").split())
    if len(body) <= SNIPPET_CHARS:
        return body
    cut = body[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def _why(explanations: Any, rules: Any) -> list[str]:
    lines: list[str] = []
    for exp in explanations or []:
        if isinstance(exp, Mapping):
            line = exp.get("description") or ", ".join(exp.get("terms") or []) or exp.get("rule")
            if line and line not in lines:
                lines.append(str(line))
    if not lines:
        lines = [f"rule {r}" for r in rules or []]
    return lines[:3]


def _in_list(lst: EmailList, theme: str, language: str | None, regions: Iterable[str]) -> bool:
    if lst.themes != "all" and theme not in lst.themes:
        return False
    if lst.languages != "all" and language not in lst.languages:
        return False
    if lst.regions != "all" and not set(regions or ()) & set(lst.regions):
        return False
    return True


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

    def __init__(self, engine: Engine, deliveries_cfg: DeliveriesFile, themes: Any, settings: Any,
                 clock: Callable[[], datetime] | None = None, *,
                 source_names: Mapping[str, str] | None = None, tls_context: Any = None,
                 sleep: Callable[[float], Any] = asyncio.sleep, max_attempts: int = 4,
                 backoff: float = 2.0, max_per_theme: int = 10,
                 catch_up: timedelta = timedelta(days=2), unsubscribe_url: str | None = None):
        self.engine = engine
        self.cfg = deliveries_cfg
        self.catalog = theme_catalog(themes)
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.source_names = dict(source_names) if source_names is not None else _load_source_names(settings)
        self.tls_context = tls_context
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_per_theme = max_per_theme
        self.catch_up = catch_up
        self.unsubscribe_url = unsubscribe_url
        weekly = deliveries_cfg.email.weekly
        self.tz = ZoneInfo(weekly.timezone or getattr(settings, "timezone", None) or deliveries_cfg.timezone)

    @property
    def enabled(self) -> bool:
        return bool(getattr(self.settings, "smtp_url", None) and getattr(self.settings, "email_from", None))

    def list_named(self, name: str | None) -> EmailList:
        """The named list; without a name the first one, or an all-themes preview list."""
        lists = self.cfg.email.weekly.lists
        if name is None:
            return lists[0] if lists else EmailList(name="preview", to=("preview@example.org",))
        for lst in lists:
            if lst.name == name:
                return lst
        known = ", ".join(l.name for l in lists) or "none"
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
        start, end = week_bounds(week, self.tz)
        with self.engine.connect() as conn:
            rows = [r for r in conn.execute(_hit_query(lst, start, end)).mappings()
                    if _in_list(lst, r["theme"], r["language"], r["regions"])]
            story_ids = {r["story_id"] for r in rows if r["story_id"] is not None}
            story_sources = _story_sources(conn, story_ids, end)
            summary, weeks_averaged = self._summary(conn, lst, week, rows)
        sections = self._sections(rows, story_sources, end)
        return WeeklyDigest(
            list_name=lst.name, list_title=lst.title or lst.name, week=week,
            first_day=parse_week(week), last_day=parse_week(week) + timedelta(days=6),
            timezone=str(self.tz), sections=sections, summary=summary,
            weeks_averaged=weeks_averaged, generated_at=self.clock(), footer=self._footer(lst, week),
        )

    def _theme(self, slug: str, fallback_priority: str) -> tuple[str, str]:
        return self.catalog.get(slug, (slug, fallback_priority))

    def _sections(self, rows: list[Mapping], story_sources: dict[int, list[str]],
                  week_end: datetime) -> list[ThemeSection]:
        by_theme: dict[str, dict[Any, list[Mapping]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            key = r["story_id"] if r["story_id"] is not None else ("item", r["item_id"])
            by_theme[r["theme"]][key].append(r)
        sections = []
        for slug, stories in by_theme.items():
            title, priority = self._theme(slug, stories[next(iter(stories))][0]["priority"])
            entries = [self._entry(group, story_sources, week_end) for group in stories.values()]
            entries.sort(key=lambda e: (-e.score, -(e.published.timestamp() if e.published else 0), e.item_id))
            sections.append(ThemeSection(slug=slug, title=title, priority=priority,
                                         entries=entries[: self.max_per_theme], stories=len(entries),
                                         hits=sum(len(g) for g in stories.values())))
        sections.sort(key=lambda s: (PRIORITY_ORDER.get(s.priority, 1), s.title.casefold(), s.slug))
        return sections

    def _entry(self, group: list[Mapping], story_sources: dict[int, list[str]], week_end: datetime) -> DigestEntry:
        lead = min(group, key=lambda r: (r["first_seen_at"], r["item_id"]))
        source_ids = story_sources.get(lead["story_id"]) if lead["story_id"] is not None else None
        source_ids = source_ids or [lead["source_id"]]
        for r in group:                      # the group's own items count even if not yet linked
            if r["source_id"] not in source_ids:
                source_ids = [*source_ids, r["source_id"]]
        when = lead["published_at"] or lead["first_seen_at"]
        return DigestEntry(
            item_id=lead["item_id"], title=lead["title"], url=lead["url"],
            source=self.source_names.get(lead["source_id"], lead["source_id"]),
            published=when.astimezone(self.tz) if when else None,
            countries=[_country_name(c) for c in lead["countries"] or []],
            snippet=_snippet(lead["summary"], lead["text"]),
            why=_why(lead["explanations"], lead["rules"]),
            sources=[self.source_names.get(s, s) for s in source_ids],
            score=score(len(source_ids), when, week_end, lead["priority"]),
        )

    def _summary(self, conn: Any, lst: EmailList, week: str, rows: list[Mapping]) -> tuple[list[SummaryRow], int]:
        """Hits per theme this week against the mean of the previous weeks that have data."""
        this_week: dict[str, int] = defaultdict(int)
        for r in rows:
            this_week[r["theme"]] += 1
        start, _ = week_bounds(week, self.tz)
        earliest = conn.execute(select(func.min(hits.c.created_at))).scalar()
        if earliest is not None and earliest.tzinfo is None:
            earliest = earliest.replace(tzinfo=timezone.utc)
        weeks = [w for w in (shift_week(week, -k) for k in range(1, SUMMARY_WEEKS + 1))
                 if earliest is not None and week_bounds(w, self.tz)[1] > earliest]
        before: dict[str, int] = defaultdict(int)
        if weeks:
            since = week_bounds(weeks[-1], self.tz)[0]
            for r in conn.execute(_count_query(lst, since, start)).mappings():
                if _in_list(lst, r["theme"], r["language"], r["regions"]):
                    before[r["theme"]] += 1
        slugs = set(this_week) | set(before)
        if lst.themes == "all":
            slugs |= set(self.catalog)
        else:
            slugs |= set(lst.themes) & set(self.catalog)
        data = []
        for slug in slugs:
            avg = before[slug] / len(weeks) if weeks else None
            if this_week[slug] or avg:
                title, priority = self._theme(slug, "normal")
                data.append((slug, title, priority, this_week[slug], avg))
        scale = max([max(t, a or 0) for *_, t, a in data] or [0])
        data.sort(key=lambda d: (PRIORITY_ORDER.get(d[2], 1), d[1].casefold(), d[0]))
        return [SummaryRow(slug, title, t, a, math.ceil(scale)) for slug, title, _, t, a in data], len(weeks)

    def _footer(self, lst: EmailList, week: str) -> list[str]:
        title = lst.title or lst.name
        contact = getattr(self.settings, "email_from", None)
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
        week = self.due_week()
        if week is None or not self.enabled:
            return EmailReport()
        return await self.send_week(week)

    async def send_now(self, list_name: str | None = None, week: str | None = None) -> EmailReport:
        """Send the last complete week (or `week`) now, to whoever has not had it."""
        week = week or self.last_complete_week()
        parse_week(week)
        return await self.send_week(week, [self.list_named(list_name)] if list_name else None)

    async def send_week(self, week: str, lists: list[EmailList] | None = None) -> EmailReport:
        if not self.enabled:
            raise NewsbotError("email is off: set SMTP_URL and EMAIL_FROM")
        config = parse_smtp_url(self.settings.smtp_url)
        report = EmailReport()
        todo = list(lists if lists is not None else self.cfg.email.weekly.lists)
        async with SmtpSender(config, tls_context=self.tls_context, sleep=self.sleep,
                              max_attempts=self.max_attempts, backoff=self.backoff) as smtp:
            for i, lst in enumerate(todo):
                lr = ListReport(lst.name, week)
                report.lists.append(lr)
                try:
                    await self._send_list(smtp, lst, week, lr)
                except SmtpUnavailable as exc:
                    log.error("email list=%s week=%s: %s; the rest waits for the next run", lst.name, week, exc)
                    for later in todo[i + 1:]:
                        report.lists.append(ListReport(later.name, week,
                                                       deferred={r: str(exc) for r in later.to}))
                    for r in lst.to:
                        if r not in lr.sent and r not in lr.already_sent and r not in lr.failed:
                            lr.deferred.setdefault(r, str(exc))
                    break
        log.info("email week=%s lists=%d sent=%d failed=%d deferred=%d", week, len(report.lists), report.sent,
                 sum(len(r.failed) for r in report.lists), sum(len(r.deferred) for r in report.lists))
        return report

    async def _send_list(self, smtp: SmtpSender, lst: EmailList, week: str, lr: ListReport) -> None:
        now = self.clock()
        pending = self._queue(lst, week, now, lr)
        if not pending:
            return
        digest, html, text = self.render(lst, week)
        lr.stories = digest.stories
        for row_id, recipient, attempts in pending:
            if not self._claim(row_id, attempts):
                continue                   # another process took it
            msg = build_message(digest, html, text, email_from=self.settings.email_from,
                                recipient=recipient, now=self.clock(), unsubscribe_url=self.unsubscribe_url)
            try:
                result = await smtp.send(msg, recipient, sender=_addr(self.settings.email_from))
            except SmtpUnavailable as exc:
                self._record(row_id, SendResult(recipient, "temporary", 0, str(exc)), None, attempts + 1)
                lr.deferred[recipient] = str(exc)
                raise
            self._record(row_id, result, msg["Message-ID"], attempts + 1)
            if result.status == "sent":
                lr.sent.append(recipient)
            elif result.status == "permanent" or attempts + 1 >= MAX_RUNS:
                lr.failed[recipient] = result.error or "failed"
            else:
                lr.deferred[recipient] = result.error or "temporary failure"

    def _queue(self, lst: EmailList, week: str, now: datetime, lr: ListReport) -> list[tuple[int, str, int]]:
        """Rows for every recipient (created once), and the ones still to send."""
        with self.engine.begin() as conn:
            known = {r.recipient: r for r in conn.execute(
                select(email_sends).where(email_sends.c.list_name == lst.name, email_sends.c.week == week))}
        for recipient in lst.to:
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
            elif r.status == "queued" and r.attempts < MAX_RUNS:
                pending.append((r.id, r.recipient, r.attempts))
        return pending

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
        elif result.status == "permanent" or attempts >= MAX_RUNS:
            values = {"status": "failed", "error": result.error}
        else:
            values = {"status": "queued", "error": result.error}
        with self.engine.begin() as conn:
            conn.execute(update(email_sends).where(email_sends.c.id == row_id).values(**values))


def _addr(email_from: str | None) -> str:
    from email.utils import parseaddr
    return parseaddr(email_from or "")[1]


def _hit_query(lst: EmailList, start: datetime, end: datetime):  # noqa: ANN202
    q = (select(hits.c.id.label("hit_id"), hits.c.theme, hits.c.priority, hits.c.rules, hits.c.explanations,
                hits.c.created_at, items.c.id.label("item_id"), items.c.source_id, items.c.title, items.c.url,
                items.c.summary, items.c.text, items.c.language, items.c.published_at, items.c.first_seen_at,
                items.c.countries, items.c.regions, items.c.story_id)
         .join(items, items.c.id == hits.c.item_id)
         .where(hits.c.created_at >= start, hits.c.created_at < end, items.c.is_backlog.is_(False)))
    if lst.themes != "all":
        q = q.where(hits.c.theme.in_(lst.themes))
    return q.order_by(hits.c.id)


def _count_query(lst: EmailList, start: datetime, end: datetime):  # noqa: ANN202
    q = (select(hits.c.theme, hits.c.created_at, items.c.language, items.c.regions)
         .join(items, items.c.id == hits.c.item_id)
         .where(hits.c.created_at >= start, hits.c.created_at < end, items.c.is_backlog.is_(False)))
    if lst.themes != "all":
        q = q.where(hits.c.theme.in_(lst.themes))
    return q


def _story_sources(conn: Any, story_ids: set[int], end: datetime) -> dict[int, list[str]]:
    """story id -> source ids of its items found before `end`, first reporter first."""
    out: dict[int, list[str]] = defaultdict(list)
    ids = sorted(story_ids)
    for i in range(0, len(ids), 500):      # stay under SQLite's bound-parameter limit
        q = (select(items.c.story_id, items.c.source_id)
             .where(items.c.story_id.in_(ids[i:i + 500]), items.c.first_seen_at < end)
             .order_by(items.c.first_seen_at, items.c.id))
        for sid, source in conn.execute(q):
            if source not in out[sid]:
                out[sid].append(source)
    return out


def _load_source_names(settings: Any) -> dict[str, str]:
    """Display names from sources.yaml when the caller passed none; ids serve otherwise."""
    config_dir = getattr(settings, "config_dir", None)
    if config_dir is None:
        return {}
    try:
        from bot.config.sources import load_sources
        cfg = load_sources(config_dir)
    except Exception as exc:  # noqa: BLE001  (names are cosmetic; a broken file is reported by `check`)
        log.debug("email: source names unavailable: %s", exc)
        return {}
    return {s.id: (s.name or s.id) for s in getattr(cfg, "sources", ())}
