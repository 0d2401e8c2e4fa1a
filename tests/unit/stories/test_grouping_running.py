"""Running stories (README "Stories, ranking and search"): when a later report joins a story and
when it starts a new one. Real-looking pairs: a death toll that rises the next day, a court
ruling after the hearing of the same case, another shipwreck or another case of one topic."""

from __future__ import annotations

from datetime import timedelta

from bot.stories.grouping import STORY_SPAN
from support.story_store import LEDE, T0, Store, background

HEARING = ("Court hears challenge to Rwanda deportation flights",
           "Judges at the High Court in London heard a challenge by asylum seekers and charities "
           "against the government's plan to fly them to Rwanda; the Home Office defended the policy.")
RULING = ("High Court rules Rwanda deportation plan is lawful",
          "The High Court in London ruled that the government's plan to send asylum seekers to Rwanda "
          "is lawful, rejecting a challenge brought by charities and a union.")
OTHER_CASE = ("Court rules against deportation of Eritrean asylum seeker",
              "A court in Rome ruled that an Eritrean man who sought asylum cannot be deported to "
              "Libya, where he says he was held in a detention camp.")


def test_next_days_toll_that_restates_the_first_figure_joins(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", "41 missing after boat capsizes off Lampedusa, survivors say", summary=LEDE)
    s2 = store.add("outlet-b", "Lampedusa shipwreck: death toll rises to 60, up from 41 missing",
                   summary="The number of people missing after a migrant boat from Libya capsized near "
                           "Lampedusa rose to 60, the Italian coast guard said; survivors said it left Sfax.",
                   at=T0 + timedelta(hours=30))
    assert s2 == s1


def test_another_shipwreck_days_later_starts_a_new_story(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", "41 missing after boat capsizes off Lampedusa, survivors say", summary=LEDE)
    s2 = store.add("outlet-b", "14 missing after migrant boat sinks near Lampedusa",
                   summary=LEDE.replace("41", "14").replace("two days", "a day"), at=T0 + timedelta(hours=40))
    assert s2 != s1


def test_ruling_after_the_hearing_of_the_same_case_joins(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", HEARING[0], summary=HEARING[1])
    s2 = store.add("outlet-b", RULING[0], summary=RULING[1], at=T0 + timedelta(hours=50))
    assert s2 == s1


def test_ruling_in_another_case_days_later_starts_a_new_story(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", HEARING[0], summary=HEARING[1])
    s2 = store.add("outlet-b", OTHER_CASE[0], summary=OTHER_CASE[1], at=T0 + timedelta(hours=50))
    assert s2 != s1


def test_ruling_after_the_window_starts_a_new_story(engine):
    store = Store(engine)
    background(store)
    s1 = store.add("outlet-a", HEARING[0], summary=HEARING[1])
    s2 = store.add("outlet-b", RULING[0], summary=RULING[1], at=T0 + timedelta(days=4))
    assert s2 != s1


def test_a_story_stops_growing_after_its_span(engine):
    """Daily reports of one long-running case chain from member to member; after STORY_SPAN
    from the story's first report, the next one starts a new story."""
    store = Store(engine)
    first = None
    day = timedelta(days=1)
    stories = []
    for d in range(STORY_SPAN.days + 2):
        _background_day = T0 + d * day
        for i in range(25):  # each day's other news, so word rarities mean something
            store.add(f"bg-{i}", f"Storm closes port number {i} in the north on day {d}",
                      summary="Ferries were cancelled.", at=_background_day - timedelta(hours=1))
        stories.append(store.add(f"outlet-{d}", RULING[0] if d % 2 else HEARING[0],
                                 summary=(RULING if d % 2 else HEARING)[1], at=_background_day))
        first = first or stories[0]
    assert stories[1] == first
    assert stories[STORY_SPAN.days - 1] == first
    assert stories[-1] != first
