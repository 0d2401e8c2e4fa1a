"""Digest schedules and the database side of messages: when a destination's digest is due,
turning outbox rows into `format.Entry` values (with "also reported by" from the story's
members), and ranking them with bot.stories.ranking (DIGEST_HALF_LIFE).

Must not send anything or decide what matches; reads hits, items, stories and votes only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from bot.config.schedule import read_schedule
from bot.stories import ranking
from bot.delivery.telegram.format import Entry
from bot.delivery.outbox import delayed_notes
from bot.stories.feedback import hit_votes, rule_votes
from bot.storage.schema import deliveries, hits, items
from bot.stories.grouping import story_members

if TYPE_CHECKING:
    from bot.config.themes import ThemeSet
    from bot.delivery.destinations import Destination
    from bot.delivery.telegram.format import Message

log = logging.getLogger(__name__)



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
    schedule = read_schedule(spec)
    if schedule is None:
        return None
    local = now.astimezone(tz)
    for back in range(0, 8):
        d = (local - timedelta(days=back)).date()
        if schedule.weekday is not None and d.weekday() != schedule.weekday:
            continue
        candidate = datetime(d.year, d.month, d.day, schedule.hour, schedule.minute, tzinfo=tz).astimezone(timezone.utc)
        if candidate <= now:
            return candidate
    return None


def is_due(dest: Destination, now: datetime, default_tz: str | None = None) -> bool:
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
                 source_names: Mapping[str, str] | None = None, *,
                 destination_id: int | None = None) -> list[Entry]:
    """(delivery_id, hit_id) pairs -> entries, each carrying its delivery ids. With a
    destination, an entry whose story was already alerted there is marked as an update."""
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
    updates = (_updates(conn, destination_id, {r.story_id for r in found if r.story_id is not None})
               if destination_id is not None else {})
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
            delivery_ids=by_hit[r.id], source_ids=ids, update=updates.get(r.story_id),
            note=next((notes[d] for d in by_hit[r.id] if d in notes), "")))
    entries.sort(key=lambda e: e.hit_id)
    return entries


def _updates(conn: Connection, destination_id: int, story_ids: set[int]) -> dict[int, str]:
    """story id -> what is new since its alert to this destination ("+2 outlets": outlets
    whose first report of it was stored after the alerted one; "" when none), for the
    stories alerted there that have a later report. Item order, not clocks: an alert names what it showed."""
    if not story_ids:
        return {}
    keys = {f"alert:story:{s}": s for s in story_ids}
    alerted = {keys[k]: item_id for k, item_id in conn.execute(
        select(deliveries.c.dedupe_key, hits.c.item_id).join(hits, hits.c.id == deliveries.c.hit_id)
        .where(deliveries.c.destination_id == destination_id, deliveries.c.kind == "alert",
               deliveries.c.status == "sent", deliveries.c.dedupe_key.in_(list(keys))))}
    if not alerted:
        return {}
    before: dict[int, set[str]] = {s: set() for s in alerted}
    after: dict[int, list[str]] = {}
    for story_id, item_id, source_id in conn.execute(
            select(items.c.story_id, items.c.id, items.c.source_id)
            .where(items.c.story_id.in_(list(alerted))).order_by(items.c.id)):
        if item_id <= alerted[story_id]:
            before[story_id].add(source_id)
        elif source_id not in after.setdefault(story_id, []):
            after[story_id].append(source_id)
    out = {}
    for s in after:  # a story with nothing after its alert (alerts: both) is no update
        new = [src for src in after[s] if src not in before[s]]
        out[s] = f"+{len(new)} outlet{'s' if len(new) > 1 else ''}" if new else ""
    return out


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


def theme_titles(themes: ThemeSet | None) -> dict[str, str]:
    """slug -> title (the slug when a theme has none) of the loaded themes; empty when none is."""
    if themes is None:
        return {}
    return {t.slug: t.title or t.slug for t in themes.themes}


def preview_messages(conn: Connection, *, dest: Destination | None = None, since: datetime | None = None,
                     titles: Mapping[str, str] | None = None, source_names: Mapping[str, str] | None = None,
                     per_theme: int = 8, default_tz: str | None = None,
                     now: datetime | None = None, weights: Mapping[str, float] | None = None) -> list[Message]:
    """The digest a destination would get now (its queued rows), or, with no destination,
    a digest of every alertable hit stored since `since`. Reads only."""
    from bot.delivery import outbox
    from bot.delivery.telegram.format import render_digest

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
    entries = load_entries(conn, pairs, source_names,
                           destination_id=dest.id if dest is not None else None)
    rank_entries(conn, entries, now, weights=weights)
    for e in entries:
        e.delivery_ids = [i for i in e.delivery_ids if i]
    return render_digest(entries, titles or {}, per_theme=per_theme, tz=tz,
                         heading=f"Digest · {now.astimezone(tz):%d %b %Y}")
