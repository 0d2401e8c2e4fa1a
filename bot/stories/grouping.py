"""Stories: grouping items from different sources that report the same event.

Owns the `stories` rows, `items.story_id` and the `story_sigs` rows. A new item joins the
story of another source's item with the same canonical URL first (each source stores its own
item of a link, bot.storage.repo; one story of them alerts a chat once); otherwise the
story of an earlier item that `bot.stories.similarity.same_story` calls the same story (same loose
URL, same normalised title, near-identical title or high text overlap; same language; numbers
and dates agreeing) and that is dated within WINDOW of it. An outlet's own recurring titles
("Daily briefing") join each other only within SAME_SOURCE_WINDOW, and a story holds one item
per outlet otherwise. The lead item is the earliest report, or, when source weights are
given, the heaviest source's.

Cost per new item, without scanning items: the item's lookup keys (URL, title keys, MinHash
LSH bands; bot/stories/similarity.py) are looked up in an in-memory index, the few candidates are
read by primary key and compared exactly, and one `story_sigs` row (the packed keys) is
written. The index of each engine is loaded from `story_sigs` rows of the last 2 x WINDOW at
first use and caught up by item_id before every lookup, so items stored by another process
(`poll --once` beside the daemon) are found too. Candidates are always re-read from the
database, so keys of a rolled-back transaction can only cost a wasted read.

Must not: know of Telegram, email or rules; commit (it runs in the pipeline's transaction).
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import weakref
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping

import numpy as np
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.model import Item
from bot.stories import terms as story_terms
from bot.stories.similarity import (MIN_KEY_TOKENS, Fingerprint, _h64, fingerprint, same_story,  # noqa: F401
                            title_key)
from bot.stories.terms import LOOKUP, META, NUMBER, TERM_MASK, TITLE, EventTerms, event_terms
from bot.storage.schema import items, stories, story_sigs

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=72)
# An outlet posting the same title twice is usually a recurring item ("Daily briefing"),
# not a repost; it joins its own earlier item only when the two are this close.
SAME_SOURCE_WINDOW = timedelta(hours=12)
KEEP = 2 * WINDOW           # keys older than this can meet no new item's window
PRUNE_EVERY = timedelta(hours=1)
MAX_CANDIDATES = 12
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
EVENT_LOOKUPS = 6        # an item's rarest title words and rarest lede words it is found by
EVENT_CANDIDATES = 12    # candidates scored exactly, the most promising first
# IDF needs news around it: with a handful of items every word looks rare, and two reports of
# different shipwrecks would share "migrants boat capsizes". Below this many recent items
# (a new installation's first hours), only the near-duplicate rules group.
EVENT_MIN_ITEMS = 20
POSTING_SCAN = 64        # newest entries of one lookup key looked at: flat cost per item
# In a stored key array, the near-duplicate keys come first, then this, then the event terms.
_SEP = -(2 ** 63)
_STRENGTH = {"url": 0, "title": 1, "near-title": 2, "text": 3, "update": 4, "event": 5}


# Statements built once: building a Core statement costs more than running it on SQLite.
_NEW_SIGS = (select(story_sigs.c.item_id, story_sigs.c.ref_at, story_sigs.c.sig)
             .where(story_sigs.c.item_id > bindparam("last_id")))
_RECENT_SIGS = (select(story_sigs.c.item_id, story_sigs.c.ref_at, story_sigs.c.sig)
                .where(story_sigs.c.ref_at >= bindparam("since")))
_BY_URL = (select(items.c.story_id)
           .where(items.c.url == bindparam("url"), items.c.source_id != bindparam("source_id"),
                  items.c.id != bindparam("item_id"), items.c.story_id.is_not(None))
           .order_by(items.c.id).limit(1))
_MAX_SIG = select(func.max(story_sigs.c.item_id))
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


class _Index:
    """Lookup key -> item ids of recent items, with each item's date and event terms, and the
    document frequency of each event term among them; one per engine.

    Event lookup keys post an item's slot, a small int, rather than its id: the slots' dates
    and ids sit in arrays, so the hottest loop of grouping (summing the weights of the keys
    each candidate shares with a new item) runs in numpy instead of a dict update per entry."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_key: dict[int, list[int]] = {}   # near-duplicate key -> item ids
        self.postings: dict[int, list[int]] = {}  # event lookup term -> slots
        self.slot: dict[int, int] = {}           # item with event terms -> its slot
        self.slot_item = np.zeros(1024, dtype=np.int64)
        self.slot_ref = np.zeros(1024, dtype=np.int64)
        self.free_slots: list[int] = []
        self.ref: dict[int, int] = {}            # item -> date in microseconds: cheap to compare
        self.keys: dict[int, np.ndarray] = {}
        self.terms: dict[int, list[int]] = {}   # item -> packed event term keys
        self.prepared: dict[int, story_terms.Prepared] = {}  # of items once scored
        self.df: dict[int, int] = {}            # term (flags masked) -> items holding it
        self.rarity = story_terms.Rarity(self.df)  # term -> log of its df, while df holds
        self.meta: dict[int, int] = {}          # (source, title) key -> items
        self.last_id = 0
        self.loaded = False
        self.pruned_at: datetime | None = None

    def add(self, item_id: int, ref: datetime, keys: np.ndarray) -> None:
        if item_id in self.ref:
            # A rolled-back transaction's id, reused: its old keys must not linger.
            self._remove(item_id)
        self.ref[item_id] = _micros(ref)
        self.keys[item_id] = keys
        all_keys = keys.tolist()
        try:
            cut = all_keys.index(_SEP)
        except ValueError:
            cut = len(all_keys)
        by_key = self.by_key
        for k in all_keys[:cut]:
            posted = by_key.get(k)
            if posted is None:
                by_key[k] = [item_id]
            else:
                posted.append(item_id)
        terms = all_keys[cut + 1:]
        if terms:
            self.terms[item_id] = terms
            slot = self._new_slot(item_id, self.ref[item_id])
            postings, df, meta, rarity = self.postings, self.df, self.meta, self.rarity
            for k in terms:
                if k & META:
                    meta[k] = meta.get(k, 0) + 1
                    continue
                t = k & TERM_MASK
                df[t] = df.get(t, 0) + 1
                rarity.pop(t, None)
                if k & LOOKUP:
                    posted = postings.get(t)
                    if posted is None:
                        postings[t] = [slot]
                    else:
                        posted.append(slot)
        self.last_id = max(self.last_id, item_id)

    def _new_slot(self, item_id: int, ref: int) -> int:
        if self.free_slots:
            slot = self.free_slots.pop()
        else:
            slot = len(self.slot)
            if slot == len(self.slot_item):
                self.slot_item = np.concatenate([self.slot_item, np.zeros_like(self.slot_item)])
                self.slot_ref = np.concatenate([self.slot_ref, np.zeros_like(self.slot_ref)])
        self.slot[item_id] = slot
        self.slot_item[slot], self.slot_ref[slot] = item_id, ref
        return slot

    def drop_before(self, cutoff: datetime) -> None:
        at = _micros(cutoff)
        for item_id in [i for i, r in self.ref.items() if r < at]:
            self._remove(item_id)

    @staticmethod
    def _unpost(table: dict[int, list[int]], k: int, entry: int) -> None:
        ids = table.get(k)
        if ids is not None and entry in ids:
            ids.remove(entry)
            if not ids:
                del table[k]

    def _remove(self, item_id: int) -> None:
        all_keys = self.keys.pop(item_id).tolist()
        cut = all_keys.index(_SEP) if _SEP in all_keys else len(all_keys)
        for k in all_keys[:cut]:
            self._unpost(self.by_key, k, item_id)
        self.prepared.pop(item_id, None)
        slot = self.slot.pop(item_id, None)
        for k in self.terms.pop(item_id, ()):
            table, t = (self.meta, k) if k & META else (self.df, k & TERM_MASK)
            self.rarity.pop(t, None)
            left = table.get(t, 0) - 1
            if left > 0:
                table[t] = left
            else:
                table.pop(t, None)
            if k & LOOKUP and not k & META and slot is not None:
                self._unpost(self.postings, t, slot)
        if slot is not None:
            self.free_slots.append(slot)
        del self.ref[item_id]

    def _near(self, k: int, item_id: int, at: int) -> list[int]:
        """The newest POSTING_SCAN items under key k within the window: a key that thousands
        of items share (one outlet's template) costs the same as a rare one."""
        ids = self.by_key.get(k)
        if not ids:
            return []
        ref = self.ref
        return [o for o in ids[-POSTING_SCAN:] if o != item_id and abs(ref[o] - at) <= _WINDOW_US]

    def candidates(self, keys: list[int], item_id: int, ref: datetime) -> list[int]:
        shared: dict[int, int] = {}
        at = _micros(ref)
        for k in keys:
            for other in self._near(k, item_id, at):
                shared[other] = shared.get(other, 0) + 1
        # Most keys in common first (the share of equal bands estimates the similarity), then
        # closest in time: a long-running topic's newest story is the likeliest match.
        return sorted(shared, key=lambda i: (-shared[i], abs(self.ref[i] - at)))[:MAX_CANDIDATES]

    def event_candidates(self, terms: list[int], item_id: int, ref: datetime) -> list[tuple[float, int]]:
        """(similarity, item id) of the items most similar to `terms`, best first."""
        if len(self.terms) < EVENT_MIN_ITEMS:
            return []
        rarity, log_n, postings = self.rarity, story_terms.log_n(len(self.terms)), self.postings
        scanned: list[list[int]] = []
        weights: list[float] = []
        for k in terms:
            if k & LOOKUP and not k & META:
                posted = postings.get(k & TERM_MASK)
                if posted:
                    # The newest POSTING_SCAN items under the key: a word thousands of items
                    # share costs the same as a rare one.
                    scanned.append(posted[-POSTING_SCAN:])
                    weights.append(log_n - rarity[k & TERM_MASK])
        if not scanned:
            return []
        entries = np.fromiter(itertools.chain.from_iterable(scanned), dtype=np.int64)
        # Each candidate's shared weight, summed in scan order; ties keep the order in which
        # candidates were first met.
        slots, first, which = np.unique(entries, return_index=True, return_inverse=True)
        shared = np.bincount(which, weights=np.repeat(weights, [len(x) for x in scanned]))
        at = _micros(ref)
        dates = self.slot_ref[slots]
        keep = (dates >= at - _WINDOW_US) & (dates <= at + _WINDOW_US) & (self.slot_item[slots] != item_id)
        order = np.lexsort((first[keep], -shared[keep]))[:EVENT_CANDIDATES]
        best: list[int] = self.slot_item[slots[keep][order]].tolist()
        query = story_terms.Query(story_terms.prepare(terms), rarity, log_n)
        scored = [(query.score(self._prepared(o)), o) for o in best]
        return sorted((s for s in scored if s[0] > 0), reverse=True)

    def _prepared(self, item_id: int) -> story_terms.Prepared:
        p = self.prepared.get(item_id)
        if p is None:
            p = self.prepared[item_id] = story_terms.prepare(self.terms[item_id])
        return p

    def packed_terms(self, et: EventTerms, meta: int) -> list[int]:
        """The event term keys of a new item, its rarest title and lede words as lookup keys."""
        keyed = {term: _term_key(et.lang, term) | flags for term, flags in et.terms.items()}
        for flag in (TITLE, 0):
            words = [t for t, k in keyed.items() if k & TITLE == flag and not k & NUMBER]
            words.sort(key=lambda t: self.df.get(keyed[t] & TERM_MASK, 0))
            for t in words[:EVENT_LOOKUPS]:
                keyed[t] |= LOOKUP
        return list(keyed.values()) + [meta]

    def sync(self, conn: Connection, now: datetime) -> None:
        """Load what other transactions committed since the last look (all of it at first)."""
        if self.loaded:
            rows = conn.execute(_NEW_SIGS, {"last_id": self.last_id})
        else:
            self.last_id = conn.execute(_MAX_SIG).scalar() or 0
            self.loaded = True
            rows = conn.execute(_RECENT_SIGS, {"since": now - KEEP})
        for row in rows:
            self.add(row.item_id, row.ref_at, np.frombuffer(row.sig, dtype="<i8"))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_WINDOW_US = WINDOW // _US


def _micros(at: datetime) -> int:
    """Exact microseconds since 1970: comparing ints costs a fraction of datetime arithmetic."""
    if at.tzinfo is None:  # stored naive means UTC
        at = at.replace(tzinfo=timezone.utc)
    return (at - _EPOCH) // _US


@functools.lru_cache(maxsize=200_000)
def _term_key(lang: str, term: str) -> int:
    # News vocabulary repeats: a cache hit costs a tenth of the hash.
    return _h64("e", lang, term) & TERM_MASK


_indexes: "weakref.WeakKeyDictionary[object, _Index]" = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _index_for(conn: Connection) -> _Index:
    with _indexes_lock:
        index = _indexes.get(conn.engine)
        if index is None:
            index = _indexes[conn.engine] = _Index()
        return index


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
    index = _index_for(conn)
    with index.lock:
        index.sync(conn, now)
        if index.meta.get(meta):
            et = event_terms(item.title, item.summary, fp.lang, with_title=False)
        terms = index.packed_terms(et, meta)
        candidates = index.candidates(list(fp.keys), item_id, ref)
        events = index.event_candidates(terms, item_id, ref)
    keys = np.fromiter([*fp.keys, _SEP, *terms], dtype="<i8", count=len(fp.keys) + 1 + len(terms))
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
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(items.c.story_id, items.c.id, items.c.source_id)
            .where(items.c.story_id.in_(ids[start:start + 500])).order_by(items.c.id))
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
