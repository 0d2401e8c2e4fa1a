"""The pure side of story grouping (bot/stories/similarity.py): title keys across outlets' styles in
en/fr/de/it, loose URL keys, numbers and dates that must agree, and `same_story` reasons."""

from __future__ import annotations

import pytest

from bot.stories.similarity import agreement_tokens, fingerprint, same_story, title_key, url_key


@pytest.mark.parametrize("a,b", [
    ("VIDEO: Migrants rescued off Lampedusa - Reuters", "Migrants rescued off Lampedusa | The Guardian"),
    ("[VIDÉO] Des migrants secourus au large de Lampedusa – Le Monde", "Des migrants secourus au large de Lampedusa"),
    ("EN DIRECT. Naufrage en Méditerranée : 41 disparus", "Naufrage en Méditerranée: 41 disparus"),
    ("Migranten vor Lampedusa gerettet (dpa)", "MIGRANTEN VOR LAMPEDUSA GERETTET"),
    ("Straße der Flüchtlinge gesperrt", "Strasse der Fluchtlinge gesperrt"),
    ("VIDEO | Migranti, 500 arrivi a Lampedusa – Corriere della Sera", "Migranti: 500 arrivi a Lampedusa"),
    ("1,000 stranded at the border", "1 000 stranded at the border"),
    ("L’Italie durcit l’accueil", "L'Italie durcit l'accueil"),
])
def test_same_title_key(a, b):
    assert title_key(a) == title_key(b)


@pytest.mark.parametrize("a,b", [
    ("Weekly bulletin - 12", "Weekly bulletin - 13"),          # a number is never an outlet name
    ("Migrants rescued off Lampedusa", "Migrants drowned off Lampedusa"),
])
def test_different_title_key(a, b):
    assert title_key(a) != title_key(b)


def test_agreement_tokens_numbers_months_weekdays():
    assert agreement_tokens("Report of 3 March") == {"3", "march"}
    assert agreement_tokens("Rapport du 3 mars") == {"3", "mars"}
    assert agreement_tokens("Bericht vom Montag") == {"montag"}
    assert agreement_tokens("Migrants may be deported") == {"may"}
    assert agreement_tokens("Migrants rescued") == frozenset()


@pytest.mark.parametrize("a,b", [
    ("https://www.example.org/news/a/", "http://example.org/news/a"),
    ("https://m.example.org/news/a", "https://example.org/news/a"),
    ("https://example.org/news/a/amp", "https://example.org/news/a"),
    ("https://example.org/news/a?outputType=amp", "https://example.org/news/a"),
])
def test_loose_url_key(a, b):
    assert url_key(a) == url_key(b)


def test_url_key_keeps_what_matters():
    assert url_key("https://example.org/news?id=1") != url_key("https://example.org/news?id=2")
    assert url_key(None) is None and url_key("not a url") is None


WIRE = ("Italian coast guard said on Tuesday that 41 people were missing after a boat carrying "
        "migrants from Libya capsized near the island of Lampedusa, in the latest tragedy in the "
        "central Mediterranean. Survivors told aid workers the boat left Sfax two days earlier.")
BOILERPLATE = ("Read the latest news on migration, asylum and refugees in Europe from our newsroom, "
               "with analysis, interviews and data updated every day by our team of reporters.")


def test_reasons():
    fp = fingerprint
    assert same_story(fp("A", url="https://x.org/a", language="en"),
                      fp("B", url="https://www.x.org/a/", language="en")) == "url"
    assert same_story(fp("Court blocks Rwanda flight - BBC", language="en"),
                      fp("Court blocks Rwanda flight", language="en")) == "title"
    assert same_story(fp("Court blocks deportation flight to Rwanda tonight", language="en"),
                      fp("Court blocks deportation flight to Rwanda", language="en")) == "near-title"
    assert same_story(fp("41 missing after shipwreck off Lampedusa", WIRE, "en"),
                      fp("Lampedusa shipwreck leaves 41 missing", WIRE, "en")) == "text"


def test_near_misses():
    fp = fingerprint
    # Same boilerplate summary, unrelated titles.
    assert same_story(fp("Hungary fined over asylum rules", BOILERPLATE, "en"),
                      fp("Spain opens new reception centre", BOILERPLATE, "en")) is None
    # Same wire text but another number in the title: a follow-up, not the same item.
    assert same_story(fp("41 missing after shipwreck off Lampedusa", WIRE, "en"),
                      fp("43 missing after shipwreck off Lampedusa", WIRE, "en")) is None
    # Other language.
    assert same_story(fp("Lampedusa, 500 migranti", language="it"),
                      fp("Lampedusa, 500 migranti", language="es")) is None
    # Short titles are too generic for the near-title path.
    assert same_story(fp("Press release today", language="en"),
                      fp("Press release", language="en")) is None
