"""Grouping items into stories against a real SQLite file: true duplicates across outlets
join one story; near-misses (template titles, other dates, same outlet's recurring items,
other languages, outside the window) stay apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.model import Item
from bot.storage.db import open_database
from bot.storage.schema import items, stories
from bot.stories.grouping import assign_story
from support.story_store import T0, Store

DUPLICATES = [
    ("en", "Migrants rescued off Lampedusa after boat capsizes - Reuters",
     "VIDEO: Migrants rescued off Lampedusa after boat capsizes | The Guardian"),
    ("en", "UK Rwanda plan: 'Illegal Migration Bill' passes Commons",
     "UK Rwanda plan — “Illegal Migration Bill” passes Commons"),
    ("en", "1,000 asylum seekers stranded at Polish border (AP)",
     "1000 asylum seekers stranded at Polish border – Associated Press"),
    ("fr", "Naufrage au large de Lampedusa : 41 migrants portés disparus - Le Monde",
     "VIDÉO. Naufrage au large de Lampedusa: 41 migrants portés disparus | franceinfo"),
    ("fr", "L’Italie durcit l’accueil des demandeurs d’asile",
     "L'Italie durcit l'accueil des demandeurs d'asile – Libération"),
    ("de", "Seenotrettung: „Sea-Watch“ darf wieder auslaufen - DER SPIEGEL",
     "Seenotrettung: \"Sea-Watch\" darf wieder auslaufen | tagesschau.de"),
    ("de", "Abschiebungen nach Afghanistan: Bundesregierung prüft Flüge",
     "ABSCHIEBUNGEN NACH AFGHANISTAN – BUNDESREGIERUNG PRÜFT FLÜGE"),
    ("it", "Migranti, sbarchi a Lampedusa: 500 arrivi in un giorno - la Repubblica",
     "VIDEO | Migranti, sbarchi a Lampedusa: 500 arrivi in un giorno – Corriere della Sera"),
    ("it", "Centri per il rimpatrio, la Corte boccia il decreto",
     "Centri per il rimpatrio: la corte boccia il decreto (ANSA)"),
]


@pytest.mark.parametrize("lang,a,b", DUPLICATES)
def test_true_duplicates_across_outlets_share_a_story(store, lang, a, b):
    s1 = store.add("outlet-a", a, lang=lang)
    s2 = store.add("outlet-b", b, lang=lang, at=T0 + timedelta(hours=3))
    assert s1 == s2


NEAR_MISSES = [
    ("template numbers", "Weekly bulletin 12 on migration in Europe", "Weekly bulletin 13 on migration in Europe"),
    ("template after separator", "Migration weekly bulletin - 12", "Migration weekly bulletin - 13"),
    ("dates", "Situation report for Greece, 3 March", "Situation report for Greece, 4 March"),
    ("months", "Monthly detention report: January", "Monthly detention report: February"),
    ("other event", "Migrants rescued off Lampedusa after boat capsizes",
     "Migrants drowned off Crete after boat capsizes"),
]


@pytest.mark.parametrize("why,a,b", NEAR_MISSES, ids=[n[0] for n in NEAR_MISSES])
def test_near_misses_stay_apart(store, why, a, b):
    s1 = store.add("outlet-a", a)
    s2 = store.add("outlet-b", b, at=T0 + timedelta(hours=1))
    assert s1 != s2, why


def test_other_language_stays_apart(store):
    s1 = store.add("outlet-a", "Lampedusa, 500 migranti", lang="it")
    s2 = store.add("outlet-b", "Lampedusa, 500 migranti", lang="es")
    assert s1 != s2


def test_outside_the_window_stays_apart(store):
    s1 = store.add("outlet-a", "Court blocks deportation flight to Rwanda")
    s2 = store.add("outlet-b", "Court blocks deportation flight to Rwanda", at=T0 + timedelta(days=4))
    assert s1 != s2


def test_same_outlet_recurring_title_next_day_stays_apart(store):
    s1 = store.add("unhcr", "Daily press briefing by the spokesperson")
    s2 = store.add("unhcr", "Daily press briefing by the spokesperson", at=T0 + timedelta(hours=24))
    assert s1 != s2


def test_generic_short_titles_do_not_group(store):
    assert store.add("outlet-a", "Press release") != store.add("outlet-b", "Press release")


def test_lead_is_the_earliest_report(store, engine):
    late = T0 + timedelta(hours=5)
    s1 = store.add("outlet-a", "EU pact on migration and asylum adopted", at=late)
    s2 = store.add("outlet-b", "EU pact on migration and asylum adopted - Euractiv", at=late + timedelta(minutes=5),
                   published=T0)
    assert s1 == s2
    with engine.connect() as conn:
        lead = conn.execute(select(stories.c.lead_item_id).where(stories.c.id == s1)).scalar()
        lead_source = conn.execute(select(items.c.source_id).where(items.c.id == lead)).scalar()
    assert lead_source == "outlet-b"


def test_three_outlets_one_story(store, engine):
    ids = {store.add(src, "Hungary fined over asylum rules", at=T0 + timedelta(hours=i))
           for i, src in enumerate(["a", "b", "c"])}
    assert len(ids) == 1
    with engine.connect() as conn:
        n = conn.execute(select(items.c.id).where(items.c.story_id == ids.pop())).all()
    assert len(n) == 3


WIRE = ("Italian coast guard said on Tuesday that 41 people were missing after a boat carrying "
        "migrants from Libya capsized near the island of Lampedusa, in the latest tragedy in the "
        "central Mediterranean. Survivors told aid workers the boat left Sfax two days earlier.")


def test_wire_copy_with_rewritten_headline_joins(store):
    s1 = store.add("ansa-en", "41 missing after shipwreck off Lampedusa", summary=WIRE)
    s2 = store.add("infomigrants", "Lampedusa shipwreck leaves 41 missing", summary=WIRE,
                   at=T0 + timedelta(hours=2))
    assert s1 == s2


def test_url_variant_joins(store):
    s1 = store.add("outlet-a", "Court rules on Greek pushbacks", url="https://www.news.example/a/")
    s2 = store.add("outlet-b", "Strasbourg judges condemn Greece", url="https://m.news.example/a")
    assert s1 == s2


def test_heaviest_source_leads_when_weights_given(engine):
    with engine.begin() as conn:
        ids = []
        for n, (src, at) in enumerate((("blog", T0), ("unhcr", T0 + timedelta(hours=1)))):
            item = Item(source_id=src, guid=f"w{n}", url=f"https://{src}.example/w", title="Greece suspends asylum applications",
                        language="en", published=at)
            item_id = conn.execute(items.insert().values(
                source_id=src, guid=item.guid, url=item.url, title=item.title, summary="", text="",
                language="en", published_at=at, first_seen_at=at, categories=[], tags=[],
                countries=[], regions=[])).inserted_primary_key[0]
            ids.append((item_id, assign_story(conn, item_id, item, at, weights={"unhcr": 3.0})))
        assert ids[0][1] == ids[1][1]
        lead = conn.execute(select(stories.c.lead_item_id).where(stories.c.id == ids[0][1])).scalar()
    assert lead == ids[1][0]


def test_other_process_sees_stored_keys(tmp_path):
    """A second engine (another process: `poll --once` beside the daemon) loads the keys at
    start and catches up with items stored through the first one after that."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = open_database(url), open_database(url)
    try:
        a, b = Store(first), Store(second)
        b.n = 1000  # distinct GUIDs and URLs
        s1 = a.add("outlet-a", "Frontex report on Aegean pushbacks published")
        s2 = b.add("outlet-b", "Frontex report on Aegean pushbacks published - AP", at=T0 + timedelta(hours=1))
        s3 = a.add("outlet-c", "Dutch court frees detained asylum seekers", at=T0 + timedelta(hours=2))
        s4 = b.add("outlet-d", "Dutch court frees detained asylum seekers | NOS", at=T0 + timedelta(hours=3))
        assert s1 == s2 and s3 == s4 and s1 != s3
    finally:
        first.dispose()
        second.dispose()


def test_rolled_back_item_leaves_no_story(engine, store):
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            item = Item(source_id="x", guid="rb", url="https://x.example/rb",
                        title="Boat with 60 people missing in the Aegean", language="en", published=T0)
            item_id = conn.execute(items.insert().values(
                source_id="x", guid="rb", url=item.url, title=item.title, summary="", text="",
                language="en", published_at=T0, first_seen_at=T0, categories=[], tags=[],
                countries=[], regions=[])).inserted_primary_key[0]
            assign_story(conn, item_id, item, T0)
            raise RuntimeError("the pipeline failed after grouping")
    # The id is reused by the next insert; a copy of the rolled-back title starts its own story
    # and the next copy joins that one.
    s1 = store.add("y", "Another title about a boat in the Aegean with 60 people")
    s2 = store.add("z", "Boat with 60 people missing in the Aegean")
    s3 = store.add("w", "Boat with 60 people missing in the Aegean - AFP", at=T0 + timedelta(hours=1))
    assert s1 != s2 and s2 == s3
