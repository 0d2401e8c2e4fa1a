"""Digest schedules and the database side of messages: when a destination's digest is due,
turning outbox rows into `format.Entry` values (with "also reported by" from the story's
members), and ranking them with bot.stories.ranking (DIGEST_HALF_LIFE).

Must not send anything or decide what matches; reads hits, items, stories and votes only.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from bot.stories import ranking
from bot.delivery.format import Entry
from bot.delivery.outbox import delayed_notes
from bot.stories.feedback import hit_votes, rule_votes
from bot.storage.schema import hits, items
from bot.stories.grouping import story_members

log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPEC = re.compile(r"^(?:daily|weekly (\w+)) (\d{1,2}):(\d{2})$")


def resolve_tz(name: str | None, default: str | None = None) -> tzinfo:
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown time zone %r, using UTC", candidate)
    return timezone.utc


def last_scheduled(spec: str | None, now: datetime, tz: tzinfo) -> datetime | None:
    """The most recent scheduled digest time at or before `now` (aware UTC), or None for
    'off' or an unreadable spec. Wall-clock times are taken in `tz`, so '08:00' stays 08:00
    across daylight-saving changes."""
    m = _SPEC.match(" ".join((spec or "off").lower().split()))
    if not m:
        return None
    day, hh, mm = m.group(1), int(m.group(2)), int(m.group(3))
    local = now.astimezone(tz)
    for back in range(0, 8):
        d = (local - timedelta(days=back)).date()
        if day is not None and WEEKDAYS[d.weekday()] != day:
            continue
        candidate = datetime(d.year, d.month, d.day, hh, mm, tzinfo=tz).astimezone(timezone.utc)
        if candidate <= now:
            return candidate
    return None


def is_due(dest: Any, now: datetime, default_tz: str | None = None) -> bool:
    """Due when a scheduled time has passed since the last digest (or since the destination
    was created, so a new chat does not get yesterday's digest at once)."""
    slot = last_scheduled(dest.digest, now, resolve_tz(dest.timezone, default_tz))
    if slot is None:
        return False
    since = dest.last_digest_at or dest.created_at
    return since is None or since < slot


def _country_names(codes: Sequence[str]) -> list[str]:
    try:
        from bot.tagging.countries import country_name
    except ImportError:  # the countries module is another part; codes are still readable
        return list(codes)
    names = []
    for code in codes:
        try:
            names.append(country_name(code, "en") or code)
        except Exception:  # noqa: BLE001 - a missing name must not stop a delivery
            names.append(code)
    return names


def load_entries(conn: Connection, rows: Sequence[tuple[int, int]],
                 source_names: Mapping[str, str] | None = None) -> list[Entry]:
    """(delivery_id, hit_id) pairs -> entries, each carrying its delivery ids."""
    source_names = source_names or {}
    by_hit: dict[int, list[int]] = {}
    for delivery_id, hit_id in rows:
        by_hit.setdefault(hit_id, []).append(delivery_id)
    if not by_hit:
        return []
    found = conn.execute(
        select(hits.c.id, hits.c.theme, hits.c.priority, hits.c.rules, hits.c.explanations,
               items.c.id.label("item_id"), items.c.story_id, items.c.title, items.c.url,
               items.c.source_id, items.c.published_at, items.c.first_seen_at, items.c.countries,
               items.c.summary)
        .join(items, items.c.id == hits.c.item_id).where(hits.c.id.in_(list(by_hit)))).all()
    story_sources = story_members(conn, (r.story_id for r in found))
    notes = delayed_notes(conn, [d for ids in by_hit.values() for d in ids if d])
    entries = []
    for r in found:
        also: list[str] = []
        ids = [r.source_id]
        for iid, src in story_sources.get(r.story_id, []):
            name = source_names.get(src, src)
            if iid != r.item_id and src != r.source_id and name not in also:
                also.append(name)
            if src not in ids:
                ids.append(src)
        entries.append(Entry(
            hit_id=r.id, item_id=r.item_id, story_id=r.story_id, theme=r.theme,
            priority=r.priority or "normal", title=r.title, url=r.url,
            source=source_names.get(r.source_id, r.source_id),
            published=r.published_at or r.first_seen_at,
            countries=_country_names(r.countries or []), summary=r.summary or "",
            explanations=r.explanations or [], rules=r.rules or [], also=also,
            delivery_ids=by_hit[r.id], source_ids=ids,
            note=next((notes[d] for d in by_hit[r.id] if d in notes), "")))
    entries.sort(key=lambda e: e.hit_id)
    return entries


def rank_entries(conn: Connection, entries: Sequence[Entry], now: datetime, *,
                 weights: Mapping[str, float] | None = None,
                 half_life: timedelta = ranking.DIGEST_HALF_LIFE,
                 rule_feedback: Mapping[str, tuple[int, int]] | None = None) -> None:
    """Set each entry's `score` by bot.stories.ranking (the formula of the README's "Stories, ranking
    and search"): theme priority, distinct sources of the story, the heaviest source's
    weight, recency (`half_life`) and members' votes on the hit and on its best rule.
    `rule_feedback` (rule -> (up, down)) may be passed in when ranking many digests."""
    if not entries:
        return
    weights = weights or {}
    votes = hit_votes(conn, [e.hit_id for e in entries])
    if rule_feedback is None:
        rule_feedback = rule_votes(conn, now - ranking.RULE_VOTES_WINDOW)
    for e in entries:
        up, down = votes.get(e.hit_id, (0, 0))
        rule_up, rule_down = ranking.best_rule_votes(list(e.rules), dict(rule_feedback))
        sources = list(e.source_ids) or [e.source]
        e.score = ranking.score(ranking.Rankable(
            key=e.hit_id, priority=e.priority, sources=len(sources),
            when=e.published or now, weight=max(weights.get(s, 1.0) for s in sources),
            votes_up=up, votes_down=down, rule_up=rule_up, rule_down=rule_down), now, half_life)


def theme_titles(themes: Any) -> dict[str, str]:
    """slug -> title from a ThemeSet (or anything with `.themes`); empty when none is loaded."""
    out: dict[str, str] = {}
    for theme in getattr(themes, "themes", None) or (themes if isinstance(themes, list) else []):
        slug = getattr(theme, "slug", None)
        if slug:
            out[slug] = getattr(theme, "title", None) or slug
    return out


def preview_messages(conn: Connection, *, dest: Any = None, since: datetime | None = None,
                     titles: Mapping[str, str] | None = None, source_names: Mapping[str, str] | None = None,
                     per_theme: int = 8, default_tz: str | None = None,
                     now: datetime | None = None, weights: Mapping[str, float] | None = None) -> list:
    """The digest a destination would get now (its queued rows), or, with no destination,
    a digest of every alertable hit stored since `since`. Reads only."""
    from bot.delivery import outbox
    from bot.delivery.format import render_digest

    now = now or datetime.now(timezone.utc)
    if dest is not None:
        pairs = [(r.id, r.hit_id) for r in outbox.queued_digest_rows(conn, dest.id, since)]
        tz = resolve_tz(dest.timezone, default_tz)
    else:
        q = select(hits.c.id).join(items, items.c.id == hits.c.item_id).where(items.c.is_backlog.is_(False))
        if since is not None:
            q = q.where(hits.c.created_at >= since)
        pairs = [(0, hid) for hid in conn.execute(q.order_by(hits.c.id)).scalars()]
        tz = resolve_tz(None, default_tz)
    entries = load_entries(conn, pairs, source_names)
    rank_entries(conn, entries, now, weights=weights)
    for e in entries:
        e.delivery_ids = [i for i in e.delivery_ids if i]
    return render_digest(entries, titles or {}, per_theme=per_theme, tz=tz,
                         heading=f"Digest · {now.astimezone(tz):%d %b %Y}")
