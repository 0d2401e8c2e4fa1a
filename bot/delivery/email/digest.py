"""What goes into a weekly digest: the hits of one list and week, grouped by theme and story,
ranked, and the summary table. Reads `items`/`hits` rows; writes nothing.

Owns: ISO weeks in a time zone, the list filters.
Must not: send, render templates or decide when a digest is due (`bot.delivery.email.weekly`).

Ranking within a theme, one entry per story (the earliest item found): `bot.stories.ranking`, the
same formula as the Telegram digests (README "Stories, ranking and search") with the email's
longer half-life, EMAIL_HALF_LIFE (72 h), measured from the end of the week; the story's
sources are those found before the week ended (a digest of a past week does not change);
the votes are those on the story's hits in this theme, and on the best of their rules.
Ties: newer first, then the higher item id. Themes: high priority first, then normal, low.
The summary compares this week's hits per theme with the mean of the previous
SUMMARY_WEEKS weeks, counting only weeks after the first hit ever stored (a young
database does not drag the average down).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, RowMapping, func, select

from bot.stories import ranking
from bot.config.deliveries import EmailList
from bot.stories.feedback import hit_votes, rule_votes
from bot.storage.batches import in_slices
from bot.delivery.email.render import DigestEntry, SummaryRow, ThemeSection, WeeklyDigest
from bot.storage.schema import hits, items

from bot.config.themes import ThemeSet

if TYPE_CHECKING:
    from bot.config.themes import Theme

PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}
SUMMARY_WEEKS = 4
SNIPPET_CHARS = 280
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# A story, or an item that belongs to none: what a digest shows once.
StoryKey = int | tuple[str, int]

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


def theme_catalog(themes: ThemeSet | Iterable[Theme] | Mapping[str, tuple[str, str]] | None
                  ) -> dict[str, tuple[str, str]]:
    """A ThemeSet (or any iterable of objects with slug/title/priority), or a mapping
    slug -> (title, priority), as one mapping."""
    if themes is None:
        return {}
    if isinstance(themes, Mapping):
        return {slug: (str(v[0]), str(v[1])) for slug, v in themes.items()}
    found = themes.themes if isinstance(themes, ThemeSet) else themes
    return {t.slug: (t.title or t.slug, t.priority) for t in found}


def score(n_sources: int, when: datetime | None, week_end: datetime, priority: str, *,
          weight: float = 1.0, votes: tuple[int, int] = (0, 0),
          rule_votes: tuple[int, int] = (0, 0)) -> float:
    """A story's score in the email: bot.stories.ranking.score at the end of the week."""
    return ranking.score(ranking.Rankable(
        key=0, priority=priority, sources=max(n_sources, 1), when=when or week_end, weight=weight,
        votes_up=votes[0], votes_down=votes[1], rule_up=rule_votes[0], rule_down=rule_votes[1]),
        week_end, ranking.EMAIL_HALF_LIFE)


def _country_name(code: str) -> str:
    try:
        from bot.tagging.countries import country_name
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


def _why(explanations: Sequence[object] | None, rules: Sequence[str] | None) -> list[str]:
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


def _story_key(r: RowMapping) -> StoryKey:
    return r["story_id"] if r["story_id"] is not None else ("item", r["item_id"])


class DigestBuilder:
    """Builds WeeklyDigest values from the database for any list and week."""

    def __init__(self, engine: Engine, catalog: Mapping[str, tuple[str, str]], tz: ZoneInfo,
                 source_names: Mapping[str, str], max_per_theme: int = 10,
                 weights: Mapping[str, float] | None = None):
        self.engine = engine
        self.catalog = dict(catalog)
        self.tz = tz
        self.source_names = dict(source_names)
        self.max_per_theme = max_per_theme
        self.weights = dict(weights or {})       # sources.yaml `weight`

    def build(self, lst: EmailList, week: str, *, generated_at: datetime, footer: list[str]) -> WeeklyDigest:
        start, end = week_bounds(week, self.tz)
        with self.engine.connect() as conn:
            rows = [r for r in conn.execute(_hit_query(lst, start, end)).mappings()
                    if _in_list(lst, r["theme"], r["language"], r["regions"])]
            story_ids = {r["story_id"] for r in rows if r["story_id"] is not None}
            story_sources = _story_sources(conn, story_ids, end)
            summary, weeks_averaged = self._summary(conn, lst, week, rows)
            votes = hit_votes(conn, [r["hit_id"] for r in rows])
            rules = rule_votes(conn, end - ranking.RULE_VOTES_WINDOW)
        sections = self._sections(rows, story_sources, end, votes, rules)
        return WeeklyDigest(
            list_name=lst.name, list_title=lst.title or lst.name, week=week,
            first_day=parse_week(week), last_day=parse_week(week) + timedelta(days=6),
            timezone=str(self.tz), sections=sections, summary=summary,
            weeks_averaged=weeks_averaged, generated_at=generated_at, footer=footer,
        )

    def _theme(self, slug: str, fallback_priority: str) -> tuple[str, str]:
        return self.catalog.get(slug, (slug, fallback_priority))

    def _sections(self, rows: Sequence[RowMapping], story_sources: dict[int, list[str]], week_end: datetime,
                  votes: Mapping[int, tuple[int, int]], rules: dict[str, tuple[int, int]]) -> list[ThemeSection]:
        # A story appears once: under its first theme (in section order), naming the others.
        def order(slug: str, priority: str) -> tuple:
            title, prio = self._theme(slug, priority)
            return (PRIORITY_ORDER.get(prio, 1), title.casefold(), slug)

        themes_of: dict[StoryKey, dict[str, str]] = defaultdict(dict)
        for r in rows:
            themes_of[_story_key(r)].setdefault(r["theme"], r["priority"])
        first = {key: min(th, key=lambda t: order(t, th[t])) for key, th in themes_of.items()}
        by_theme: dict[str, dict[StoryKey, list[RowMapping]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            key = _story_key(r)
            if r["theme"] == first[key]:
                by_theme[r["theme"]][key].append(r)
        sections = []
        for slug, stories in by_theme.items():
            title, priority = self._theme(slug, stories[next(iter(stories))][0]["priority"])
            entries = []
            for key, group in stories.items():
                entry = self._entry(group, story_sources, week_end, votes, rules)
                others = sorted((t for t in themes_of[key] if t != slug), key=lambda t: order(t, themes_of[key][t]))
                entry.also_in = [self._theme(t, themes_of[key][t])[0] for t in others]
                entries.append(entry)
            entries.sort(key=lambda e: (-e.score, -(e.published.timestamp() if e.published else 0), -e.item_id))
            sections.append(ThemeSection(slug=slug, title=title, priority=priority,
                                         entries=entries[: self.max_per_theme], stories=len(entries),
                                         hits=sum(len(g) for g in stories.values())))
        sections.sort(key=lambda s: (PRIORITY_ORDER.get(s.priority, 1), s.title.casefold(), s.slug))
        return sections

    def _entry(self, group: Sequence[RowMapping], story_sources: dict[int, list[str]], week_end: datetime,
               votes: Mapping[int, tuple[int, int]], rules: dict[str, tuple[int, int]]) -> DigestEntry:
        lead = min(group, key=lambda r: (r["first_seen_at"], r["item_id"]))
        source_ids = story_sources.get(lead["story_id"]) if lead["story_id"] is not None else None
        source_ids = source_ids or [lead["source_id"]]
        for r in group:                      # the group's own items count even if not yet linked
            if r["source_id"] not in source_ids:
                source_ids = [*source_ids, r["source_id"]]
        when = lead["published_at"] or lead["first_seen_at"]
        up = sum(votes.get(r["hit_id"], (0, 0))[0] for r in group)
        down = sum(votes.get(r["hit_id"], (0, 0))[1] for r in group)
        best_rule = ranking.best_rule_votes(sorted({x for r in group for x in r["rules"] or []}), rules)
        return DigestEntry(
            item_id=lead["item_id"], title=lead["title"], url=lead["url"],
            source=self.source_names.get(lead["source_id"], lead["source_id"]),
            published=when.astimezone(self.tz) if when else None,
            countries=[_country_name(c) for c in lead["countries"] or []],
            snippet=_snippet(lead["summary"], lead["text"]),
            why=_why(lead["explanations"], lead["rules"]),
            sources=[self.source_names.get(s, s) for s in source_ids],
            score=score(len(source_ids), when, week_end, lead["priority"],
                        weight=max(self.weights.get(s, 1.0) for s in source_ids),
                        votes=(up, down), rule_votes=best_rule),
        )

    def _summary(self, conn: Connection, lst: EmailList, week: str, rows: Sequence[RowMapping]) -> tuple[list[SummaryRow], int]:
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


def _story_sources(conn: Connection, story_ids: set[int], end: datetime) -> dict[int, list[str]]:
    """story id -> source ids of its items found before `end`, first reporter first."""
    out: dict[int, list[str]] = defaultdict(list)
    for batch in in_slices(sorted(story_ids)):
        q = (select(items.c.story_id, items.c.source_id)
             .where(items.c.story_id.in_(batch), items.c.first_seen_at < end)
             .order_by(items.c.first_seen_at, items.c.id))
        for sid, source in conn.execute(q):
            if source not in out[sid]:
                out[sid].append(source)
    return out
