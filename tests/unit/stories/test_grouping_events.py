"""Event-level grouping on real coverage (tests/fixtures/stories_events.jsonl, origin in its
MANIFEST): independently written reports of one event group; different events of one topic
(Biden's week, the stock market on one day) do not; an outlet's edited repost is an update."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.stories.terms import event_terms, words
from support.story_store import LEDE, T0, Store, background
from support.paths import FIXTURES

FIXTURE = FIXTURES / "stories_events.jsonl"


@pytest.fixture
def grouped(engine):
    """item id -> story id, every fixture item stored in published order as the pipeline does."""
    store = Store(engine)
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    out = {}
    for r in sorted(rows, key=lambda r: r["published"]):
        at = datetime.fromisoformat(r["published"])
        out[r["id"]] = store.add(r["source"], r["title"], summary=r["summary"], at=at, url=r["url"])
    return out, {r["id"]: r for r in rows}


@pytest.mark.parametrize("event,ids", [
    ("Armenian genocide recognised", ["a6104c", "a6104l", "a6104r"]),
    ("CDC panel on J&J vaccine", ["a6105l", "a6105r"]),
    ("Caitlyn Jenner runs for governor", ["a6106r", "a6106l"]),
    ("second doses skipped", ["a6095l", "a6095r"]),
])
def test_independent_reports_of_one_event_group(grouped, event, ids):
    story, rows = grouped
    present = [i for i in ids if i in rows]
    assert len(present) >= 2, f"fixture lacks {event}"
    assert len({story[i] for i in present}) == 1, [rows[i]["title"] for i in present]


@pytest.mark.parametrize("a,b", [
    ("a6104c", "a6107c"),   # Biden on the Armenian genocide / Biden's first trip abroad
    ("a6104c", "a6112c"),   # ... / Biden's climate summit
    ("a6105c", "a6095l"),   # CDC panel on J&J / second doses skipped
    ("u57", "u461"),        # eBay and Icahn / stocks slip on news from Asia
    ("u585", "u461"),       # LNG stocks and Ukraine / ...
    ("u189", "u463"),       # the 10 best stocks of the bull market / stocks down on news from Asia
])
def test_other_events_of_one_topic_stay_apart(grouped, a, b):
    story, rows = grouped
    assert a in rows and b in rows
    assert story[a] != story[b], (rows[a]["title"], rows[b]["title"])


def test_numbers_units_abbreviations_demonyms():
    assert "568000000000" in words("GOP unveils $568B package", "en")
    assert words("$568 billion", "en") == words("$568bn", "en") == ["568000000000"]
    assert words("1,000 migrants", "en") == words("1000 migrants", "en")
    assert words("The prime minister", "en") == words("The PM", "en")
    assert words("Libyan coast guard", "en")[0] == words("Libya coast guard", "en")[0] == "libya"


def test_short_titles_give_no_title_terms():
    assert event_terms("Daily briefing", "", "en").terms == {}


def test_paraphrased_event_groups_and_conflicting_numbers_do_not(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", "41 missing after boat capsizes off Lampedusa, survivors say", summary=LEDE)
    s2 = store.add("outlet-b", "Dozens feared dead as Libyan migrant boat sinks near Italian island",
                   summary="Forty-one people are missing after a boat from Libya capsized near the Italian "
                           "island of Lampedusa, the coast guard said; it had left Sfax.",
                   at=T0 + timedelta(hours=2))
    s3 = store.add("outlet-c", "14 missing after boat capsizes off Lampedusa, survivors say",
                   summary=LEDE.replace("41", "14"), at=T0 + timedelta(hours=3))
    assert s1 == s2
    assert s3 != s1


def test_edited_repost_by_the_same_outlet_is_an_update(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", "41 missing after boat capsizes off Lampedusa", summary=LEDE,
                   url="https://a.example/1")
    s2 = store.add("outlet-a", "Lampedusa shipwreck: 41 missing, survivors say", summary=LEDE,
                   url="https://a.example/2-updated", at=T0 + timedelta(hours=20))
    assert s1 == s2


def test_recurring_title_of_one_outlet_does_not_group_on_the_title(engine):
    store = Store(engine)
    background(store)
    title = "Migration news roundup from the Mediterranean and the Balkans"
    s1 = store.add("outlet-a", title, summary="Greek police detain smugglers in Evros.")
    s2 = store.add("outlet-a", title, summary="Court frees rescue ship in Sicily.", at=T0 + timedelta(hours=13))
    s3 = store.add("outlet-a", title, summary="Spain opens a reception centre in Ceuta.", at=T0 + timedelta(hours=26))
    assert len({s1, s2, s3}) == 3
