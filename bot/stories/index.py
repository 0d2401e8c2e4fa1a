"""The in-memory index of recent items' lookup keys, one per database engine.

Owns finding an item's candidates without scanning items: near-duplicate keys (URL, title
keys, MinHash LSH bands; bot/stories/similarity.py) -> item ids, and event terms
(bot/stories/terms.py) -> the items found by them, with each term's document frequency for
its IDF weight. It is loaded from the `story_sigs` rows of the last KEEP at first use and
caught up by item_id before every lookup (items stored by another process are found too),
and it drops items dated before KEEP. The cost of a lookup is capped whatever the data: at
most POSTING_SCAN entries of a key are looked at and EVENT_CANDIDATES items scored.

Must not: write to the database or decide what joins a story (bot/stories/grouping.py does,
re-reading each candidate from the database).
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from bot.stories import terms as story_terms
from bot.stories.similarity import _h64
from bot.stories.terms import LOOKUP, META, NUMBER, TERM_MASK, TITLE, EventTerms
from bot.storage.schema import story_sigs

WINDOW = timedelta(hours=72)   # how far apart in time two reports of one story can be
KEEP = 2 * WINDOW              # keys older than this can meet no new item's window
MAX_CANDIDATES = 12            # near-duplicate candidates compared exactly
EVENT_LOOKUPS = 6        # an item's rarest title words and rarest lede words it is found by
EVENT_CANDIDATES = 12    # candidates scored exactly, the most promising first
# IDF needs news around it: with a handful of items every word looks rare, and two reports of
# different shipwrecks would share "migrants boat capsizes". Below this many recent items
# (a new installation's first hours), only the near-duplicate rules group.
EVENT_MIN_ITEMS = 20
POSTING_SCAN = 64        # newest entries of one lookup key looked at: flat cost per item
# In a stored key array, the near-duplicate keys come first, then this, then the event terms.
SEP = -(2 ** 63)

# Statements built once: building a Core statement costs more than running it on SQLite.
_NEW_SIGS = (select(story_sigs.c.item_id, story_sigs.c.ref_at, story_sigs.c.sig)
             .where(story_sigs.c.item_id > bindparam("last_id")))
_RECENT_SIGS = (select(story_sigs.c.item_id, story_sigs.c.ref_at, story_sigs.c.sig)
                .where(story_sigs.c.ref_at >= bindparam("since")))
_MAX_SIG = select(func.max(story_sigs.c.item_id))


class LookupIndex:
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
            cut = all_keys.index(SEP)
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
        cut = all_keys.index(SEP) if SEP in all_keys else len(all_keys)
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


_indexes: "weakref.WeakKeyDictionary[object, LookupIndex]" = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def index_for(conn: Connection) -> LookupIndex:
    with _indexes_lock:
        index = _indexes.get(conn.engine)
        if index is None:
            index = _indexes[conn.engine] = LookupIndex()
        return index
