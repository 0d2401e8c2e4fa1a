"""Stories: grouping items from different sources that report the same event.

Owns the `stories` rows, `items.story_id` and the `story_sigs` rows. A new item joins the
story of another source's item with the same canonical URL first (each source stores its own
item of a link, bot.storage.repo; one story of them alerts a chat once); otherwise the
story of an earlier item that `bot.stories.similarity.same_story` calls the same story (same loose
URL, same normalised title, near-identical title or high text overlap; same language; numbers
and dates agreeing), or whose title and lede are similar enough (bot/stories/terms.py), and
that is dated within WINDOW of it. An outlet's own recurring titles ("Daily briefing") join
each other only within SAME_SOURCE_WINDOW, and a story holds one item per outlet otherwise.
The lead item is the earliest report, or, when source weights are given, the heaviest
source's. Also the read side: a story's members and "also reported by".

Cost per new item, without scanning items: the item's lookup keys are looked up in the
in-memory index (bot/stories/index.py), the few candidates are read by primary key and
compared exactly, and one `story_sigs` row (the packed keys) is written. Candidates are always
re-read from the database, so keys of a rolled-back transaction can only cost a wasted read.

Must not: know of Telegram, email or rules; commit (it runs in the pipeline's transaction).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Iterable, Mapping

import numpy as np
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from bot.model import Item
from bot.stories.index import KEEP, SEP, WINDOW, index_for
from bot.stories.similarity import MIN_KEY_TOKENS, Fingerprint, _h64, fingerprint, same_story, title_key
from bot.stories.terms import META, TERM_MASK, event_terms
from bot.storage.batches import in_slices
from bot.storage.schema import items, stories, story_sigs

log = logging.getLogger(__name__)

# An outlet posting the same title twice is usually a recurring item ("Daily briefing"),
# not a repost; it joins its own earlier item only when the two are this close.
SAME_SOURCE_WINDOW = timedelta(hours=12)
PRUNE_EVERY = timedelta(hours=1)
# Event-level grouping (bot/stories/terms.py): an item joins the story of an earlier item of
# another outlet whose title and lede are this similar (IDF-weighted cosine), or of its own
# outlet's earlier item when it is an edited repost (new GUID, URL and title).
EVENT_MIN = 0.25
SAME_SOURCE_EVENT = 0.60
# Running stories: a report more than a news cycle after the member it resembles (a ruling
# after the hearing, the next day's toll) joins on a paraphrase only when it is this similar
# (it names the same case, place and people), as a topic's next event grows likelier with time.
LATER_GAP = timedelta(hours=24)
LATER_EVENT_MIN = 0.32
# A story takes no new member dated this long after its first report: daily coverage of a
# long-running topic must not chain into one story for ever.
STORY_SPAN = timedelta(days=7)
_STRENGTH = {"url": 0, "title": 1, "near-title": 2, "text": 3, "update": 4, "event": 5}


# Statements built once: building a Core statement costs more than running it on SQLite.
_BY_URL = (select(items.c.story_id)
           .where(items.c.url == bindparam("url"), items.c.source_id != bindparam("source_id"),
                  items.c.id != bindparam("item_id"), items.c.story_id.is_not(None))
           .order_by(items.c.id).limit(1))
_CANDIDATES = (select(items.c.id, items.c.story_id, items.c.source_id, items.c.title,
                      items.c.summary, items.c.url, items.c.language, items.c.published_at,
                      items.c.first_seen_at)
               .where(items.c.id.in_(bindparam("ids", expanding=True)),
                      items.c.story_id.is_not(None)))
_FIRST_REF = (select(items.c.published_at, items.c.first_seen_at)
              .where(items.c.story_id == bindparam("story_id")).order_by(items.c.id).limit(1))
_HAS_SOURCE = (select(items.c.id)
               .where(items.c.story_id == bindparam("story_id"),
                      items.c.source_id == bindparam("source_id")).limit(1))
_LEAD = (select(items.c.source_id, items.c.published_at, items.c.first_seen_at)
         .select_from(stories.join(items, items.c.id == stories.c.lead_item_id))
         .where(stories.c.id == bindparam("story_id")))
_TOUCH_STORY = (update(stories).where(stories.c.id == bindparam("story_id"))
                .values(updated_at=bindparam("now")))
_NEW_LEAD = (update(stories).where(stories.c.id == bindparam("story_id"))
             .values(updated_at=bindparam("now"), lead_item_id=bindparam("lead"),
                     title_key=bindparam("key")))
_NEW_STORY = insert(stories)
_SET_STORY = (update(items).where(items.c.id == bindparam("item_id"))
              .values(story_id=bindparam("story_id")))
_ADD_SIG = insert(story_sigs)


def _ref_time(published: datetime | None, now: datetime) -> datetime:
    """When the item happened, as far as we know: its date, never later than now."""
    if published is None or published > now:
        return now
    return published


def _find(conn: Connection, candidates: list[int], events: list[tuple[float, int]], item: Item,
          fp: Fingerprint, ref: datetime) -> tuple[int, str] | None:
    """The best (story_id, reason) among the candidate items, or None: near-duplicates first
    (most precise reason, then closest in time), then the most similar event report."""
    scores = {other: score for score, other in events}
    ids = list(dict.fromkeys(candidates + list(scores)))
    if not ids:
        return None
    rows = conn.execute(_CANDIDATES, {"ids": ids}).all()
    found = []
    for r in rows:
        their_ref = _ref_time(r.published_at, r.first_seen_at)
        gap = abs(their_ref - ref)
        if gap > WINDOW:
            continue
        reason = None
        if r.id in candidates:
            reason = same_story(fp, fingerprint(r.title, r.summary, r.language, r.url, with_keys=False))
            if reason is not None and r.source_id == item.source_id and not (
                    reason in ("url", "title") and gap <= SAME_SOURCE_WINDOW):
                reason = None
        if reason is not None:
            found.append((_STRENGTH[reason], gap.total_seconds(), r.story_id, reason, r.source_id))
            continue
        score = scores.get(r.id, 0.0)
        if r.source_id == item.source_id:
            needed = SAME_SOURCE_EVENT
        else:
            needed = LATER_EVENT_MIN if gap > LATER_GAP else EVENT_MIN
        if score >= needed:
            # An outlet's own edited repost is an update of its story; another outlet's
            # similar report is the same event.
            reason = "update" if r.source_id == item.source_id else "event"
            found.append((_STRENGTH[reason], -score, r.story_id, reason, r.source_id))
    for _strength, _order, story_id, reason, source_id in sorted(found):
        # One item per outlet in a story, except its own quick reposts (checked above).
        if ((source_id == item.source_id or not _story_has_source(conn, story_id, item.source_id))
                and _story_open(conn, story_id, ref)):
            return story_id, reason
    return None


def _same_url(conn: Connection, item_id: int, item: Item) -> tuple[int, str] | None:
    """The story of another source's item with this canonical URL: each source stores its own
    item of a shared link (an aggregator's relay and the original), and they are one story
    whatever their dates or texts."""
    if not item.url:
        return None
    story_id = conn.execute(_BY_URL, {"url": item.url, "source_id": item.source_id, "item_id": item_id}).scalar()
    return (story_id, "url") if story_id is not None else None


def _story_open(conn: Connection, story_id: int, ref: datetime) -> bool:
    """False once `ref` is STORY_SPAN after the story's first report."""
    first = conn.execute(_FIRST_REF, {"story_id": story_id}).first()
    return first is None or ref - _ref_time(first.published_at, first.first_seen_at) < STORY_SPAN


def _story_has_source(conn: Connection, story_id: int, source_id: str) -> bool:
    return conn.execute(_HAS_SOURCE, {"story_id": story_id, "source_id": source_id}).first() is not None


def _maybe_lead(conn: Connection, story_id: int, item_id: int, item: Item, ref: datetime,
                now: datetime, weights: Mapping[str, float] | None) -> None:
    lead = conn.execute(_LEAD, {"story_id": story_id}).first()
    if lead is not None:
        lead_ref = _ref_time(lead.published_at, lead.first_seen_at)
        w = weights or {}
        mine, theirs = w.get(item.source_id, 1.0), w.get(lead.source_id, 1.0)
    # The heaviest source leads; among equals, the earliest report.
    if lead is None or (-mine, ref) < (-theirs, lead_ref):
        key = title_key(item.title)
        conn.execute(_NEW_LEAD, {"story_id": story_id, "now": now, "lead": item_id,
                                 "key": key if len(key.split()) >= MIN_KEY_TOKENS else None})
    else:
        conn.execute(_TOUCH_STORY, {"story_id": story_id, "now": now})


def prune(conn: Connection, now: datetime) -> int:
    """Drop lookup keys of items dated before any window a new item could still reach."""
    return conn.execute(delete(story_sigs).where(story_sigs.c.ref_at < now - KEEP)).rowcount


def assign_story(conn: Connection, item_id: int, item: Item, now: datetime, *,
                 weights: Mapping[str, float] | None = None) -> int:
    """Put the stored item `item_id` in a story (an existing one or a new one); return its id.

    Runs inside the caller's transaction; sets `items.story_id` and stores the item's lookup
    keys. `weights` (source id -> sources.yaml weight) makes the heaviest source lead."""
    ref = _ref_time(item.published, now)
    fp = fingerprint(item.title, item.summary, item.language, item.url)
    et = event_terms(item.title, item.summary, fp.lang)
    # An outlet's recurring title ("Daily briefing") says nothing of the event: such an item
    # is compared on its lede alone.
    meta = (_h64("st", fp.lang, item.source_id, et.title_key) & TERM_MASK) | META
    index = index_for(conn)
    with index.lock:
        index.sync(conn, now)
        if index.meta.get(meta):
            et = event_terms(item.title, item.summary, fp.lang, with_title=False)
        terms = index.packed_terms(et, meta)
        candidates = index.candidates(list(fp.keys), item_id, ref)
        events = index.event_candidates(terms, item_id, ref)
    keys = np.fromiter([*fp.keys, SEP, *terms], dtype="<i8", count=len(fp.keys) + 1 + len(terms))
    match = _same_url(conn, item_id, item) or _find(conn, candidates, events, item, fp, ref)
    if match is None:
        key = title_key(item.title)
        story_id = conn.execute(_NEW_STORY, {
            "lead_item_id": item_id, "language": fp.lang,
            "title_key": key if len(key.split()) >= MIN_KEY_TOKENS else None,
            "created_at": now, "updated_at": now}).inserted_primary_key[0]  # type: ignore[index]  # an INSERT has one
        log.debug("item %s starts story %s", item_id, story_id)
    else:
        story_id, reason = match
        _maybe_lead(conn, story_id, item_id, item, ref, now, weights)
        log.debug("item %s joins story %s (%s)", item_id, story_id, reason)
    conn.execute(_SET_STORY, {"item_id": item_id, "story_id": story_id})
    conn.execute(_ADD_SIG, {"item_id": item_id, "ref_at": ref, "sig": keys.tobytes()})
    with index.lock:
        index.add(item_id, ref, keys)
        if index.pruned_at is None or not (timedelta(0) <= now - index.pruned_at < PRUNE_EVERY):
            index.pruned_at = now
            index.drop_before(now - KEEP)
            removed = prune(conn, now)
            if removed:
                log.debug("pruned the lookup keys of %s items", removed)
    return story_id


def story_members(conn: Connection, story_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """(item_id, source_id) of every item of each story, oldest first: what digests, the email
    and `hits` need for "also reported by"."""
    ids = sorted({s for s in story_ids if s is not None})
    out: dict[int, list[tuple[int, str]]] = {}
    for batch in in_slices(ids):
        rows = conn.execute(
            select(items.c.story_id, items.c.id, items.c.source_id)
            .where(items.c.story_id.in_(batch)).order_by(items.c.id))
        for story_id, item_id, source_id in rows:
            out.setdefault(story_id, []).append((item_id, source_id))
    return out


def also_reported_by(members: dict[int, list[tuple[int, str]]], story_id: int | None,
                     item_id: int, source_id: str) -> list[str]:
    """Source ids of the story's other items, once each, in order of arrival."""
    seen: list[str] = []
    for other_id, other_source in members.get(story_id, []) if story_id is not None else []:
        if other_id != item_id and other_source != source_id and other_source not in seen:
            seen.append(other_source)
    return seen
