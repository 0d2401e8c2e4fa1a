"""The name table of the country tagger (bot.tagging.country_names): folding that keeps
offsets, and what the automaton holds for a few kinds of names."""

from __future__ import annotations

import pytest

from bot.tagging.country_names import LANGUAGES, Variant, fold, fold_name, name_automaton


def lookup(name: str) -> dict[str, Variant]:
    found = name_automaton().get(fold_name(name), None)
    assert found is not None, f"{name!r} is not in the table"
    length, variants = found
    assert length == len(fold_name(name))
    return variants


def test_fold_keeps_the_length_and_strips_what_spelling_varies_in():
    text = "Ελλάδα – Côte-d’Ivoire"
    assert len(fold(text)) == len(text)
    assert fold(text) == "ελλαδα   cote d'ivoire"
    assert fold_name("  Papua   New-Guinea ") == "papua new guinea"


@pytest.mark.parametrize("lang,name,code,kind", [
    ("de", "Griechenlands", "GR", "name"),      # a case ending of Babel's name
    ("el", "Λιβάνου", "LB", "name"),            # Greek genitive
    ("en", "UK", "GB", "name"),                 # an alias CLDR keeps only as a variant
    ("fr", "syriennes", "SY", "name"),          # an inflected demonym
    ("en", "Georgia", "GE", "georgia"),         # counts only with a cue
    ("en", "Jordan", "JO", "person2"),          # Michael Jordan
])
def test_names_of_countries(lang, name, code, kind):
    variant = lookup(name)[lang]
    assert (variant.code, variant.kind) == (code, kind)


def test_blocks_places_and_every_language():
    assert lookup("New Mexico")["en"] == Variant(None, None, "block")
    lesbos = lookup("Λέσβο")   # a curated place, in a Greek case, for every language
    assert set(lesbos) == set(LANGUAGES) and lesbos["en"] == Variant("GR", "first", "place")
    assert lookup("Meriç")["en"].code == "GR TR"   # a border river names two countries
