"""The in-memory index of recent items' lookup keys: event candidates are found through an
item's rarest words, within the window, best first, and a pruned item's slot, reused by a
later item, never brings the pruned item (or its words) back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from bot.stories.index import SEP, WINDOW, LookupIndex
from bot.stories.similarity import fingerprint
from bot.stories.terms import event_terms

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
FILLER = ["Parliament debates the budget for schools", "Storm closes airports in the north",
          "Football club sacks its coach after defeat", "Central bank keeps interest rates",
          "Wildfire forces villages to evacuate"]


def add(index: LookupIndex, item_id: int, title: str, summary: str, at: datetime) -> list[int]:
    """Index an item as assign_story does; return its packed event terms."""
    fp = fingerprint(title, summary, "en", f"https://x.example/{item_id}")
    terms = index.packed_terms(event_terms(title, summary, "en"), 8 | (item_id << 4))
    index.add(item_id, at, np.fromiter([*fp.keys, SEP, *terms], dtype="<i8"))
    return terms


def query(index: LookupIndex, title: str, summary: str) -> list[int]:
    return index.packed_terms(event_terms(title, summary, "en"), 8)


def background(index: LookupIndex, at: datetime) -> None:
    for n in range(30):
        add(index, 1000 + n, f"{FILLER[n % 5]} number {n}", f"Report {n} on {FILLER[(n + 2) % 5].lower()}.", at)


def test_candidates_share_rare_words_and_come_best_first():
    index = LookupIndex()
    background(index, T0)
    add(index, 1, "Boat capsizes off Lampedusa, dozens missing", "Coast guard searches for migrants.", T0)
    add(index, 2, "Lampedusa shipwreck: coast guard searches for missing migrants",
        "A boat capsized off Lampedusa.", T0 + timedelta(hours=1))
    add(index, 3, "Court rules on asylum appeals", "Judges decided on appeals of migrants.", T0)
    terms = query(index, "Migrant boat capsizes near Lampedusa", "Dozens missing, coast guard says.")
    found = index.event_candidates(terms, 99, T0 + timedelta(hours=2))
    ids = [i for _, i in found]
    assert set(ids[:2]) == {1, 2} and 3 not in ids[:2]
    assert [s for s, _ in found] == sorted((s for s, _ in found), reverse=True)
    late = index.event_candidates(terms, 99, T0 + WINDOW + timedelta(minutes=30))
    assert 1 not in [i for _, i in late] and 2 in [i for _, i in late]


def test_a_pruned_items_slot_reused_by_another_item_does_not_bring_it_back():
    index = LookupIndex()
    background(index, T0 + timedelta(days=4))
    add(index, 1, "Boat capsizes off Lampedusa, dozens missing", "Coast guard searches for migrants.", T0)
    slot = index.slot[1]
    index.drop_before(T0 + timedelta(days=1))
    assert 1 not in index.slot and all(slot not in posted for posted in index.postings.values())
    add(index, 2, "Court rules on asylum appeals", "Judges decided on appeals of migrants.", T0 + timedelta(days=4))
    assert index.slot[2] == slot
    at = T0 + timedelta(days=4, hours=1)
    lampedusa = index.event_candidates(query(index, "Boat capsizes off Lampedusa", "Dozens missing."), 99, at)
    assert all(i != 1 for _, i in lampedusa)
    court = index.event_candidates(query(index, "Court rules on asylum appeals today", "Judges decided."), 99, at)
    assert court and court[0][1] == 2
