"""Grouping items into stories against a real SQLite file: true duplicates across outlets
join one story; near-misses (template titles, other dates, same outlet's recurring items,
other languages, outside the window) stay apart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.model import Item
from bot.storage.db import open_database
from bot.storage.schema import items, stories
from bot.stories import assign_story

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    eng = open_database(f"sqlite:///{tmp_path / 'stories.db'}")
    yield eng
    eng.dispose()


class Store:
    def __init__(self, engine):
        self.engine = engine
        self.n = 0

    def add(self, source: str, title: str, *, summary: str = "", lang: str = "en",
            at: datetime = T0, url: str | None = None, published: datetime | None = None) -> int:
        """Insert an item as the pipeline does and assign its story; return the story id."""
        self.n += 1
        item = Item(source_id=source, guid=f"g{self.n}", url=url or f"https://{source}.example/{self.n}",
                    title=title, summary=summary, language=lang,
                    published=published if published is not None else at)
        with self.engine.begin() as conn:
            item_id = conn.execute(items.insert().values(
                source_id=source, guid=item.guid, url=item.url, title=title, summary=summary,
                text="", language=lang, published_at=item.published, first_seen_at=at,
                categories=[], tags=[], countries=[], regions=[])).inserted_primary_key[0]
            story_id = assign_story(conn, item_id, item, at)
            stored = conn.execute(select(items.c.story_id).where(items.c.id == item_id)).scalar()
        assert stored == story_id
        return story_id


@pytest.fixture
def store(engine):
    return Store(engine)


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
