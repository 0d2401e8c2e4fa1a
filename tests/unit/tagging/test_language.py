"""Languages (bot.tagging.language), the one owner of the tables that map language codes,
names and aliases: what each reading gives, and that the stages reading a language go
through it."""

from __future__ import annotations

import pytest

from bot.tagging.language import (COUNTRY_FOR_LANGUAGE, LANGUAGE_ALIASES, cldr_aliases, cldr_languages,
                                  english_names, normalise_language, primary_subtag)


@pytest.mark.parametrize("code,expected", [
    ("fr-FR", "fr"), ("FR", "fr"), ("fr_be", "fr"), (" pt-BR ", "pt"), ("ast", "ast"), ("", None), (None, None),
    ("-x", None),
])
def test_primary_subtag(code, expected):
    assert primary_subtag(code) == expected


@pytest.mark.parametrize("code,expected", [
    ("en-US", "en"), ("FRA", "fr"), ("fre", "fr"), ("English", "en"), ("Deutsch", "de"), ("français", "fr"),
    ("el_GR", "el"), ("ast", None), ("not a language", None), ("", None),
])
def test_normalise_language_reads_declared_languages_leniently(code, expected):
    assert normalise_language(code) == expected


def test_cldr_tables():
    assert {"en", "fr", "el", "ast"} <= cldr_languages() and "en_GB" not in cldr_languages()
    aliases = cldr_aliases()
    assert (aliases["fre"], aliases["ell"], aliases["gr"], aliases["us"]) == ("fr", "el", "el", "en")
    assert set(COUNTRY_FOR_LANGUAGE.values()) <= cldr_languages()
    assert english_names(("en", "el", "xx")) == {"english": "en", "greek": "el"}


def test_the_hand_table_names_only_codes_cldr_knows():
    assert set(LANGUAGE_ALIASES.values()) <= cldr_languages()


def test_the_stages_read_a_language_tag_alike():
    """A region-qualified tag means its language for the country tagger (French names), the
    rules (a French-only rule, the French stemmer) and config suggestions: one owner reads it."""
    from bot.config.fields import suggest_language
    from bot.match import compile_query
    from bot.match.matcher import Matcher, RuleDef, ThemeDef
    from bot.model import Item
    from bot.tagging.countries import tag_countries

    assert tag_countries("Des réfugiés arrivent en Allemagne", "fr_FR")[0] == ["DE"]
    assert tag_countries("Des réfugiés arrivent en Allemagne", "de-DE")[0] == []   # not a German name
    assert suggest_language("Greek") == "el" and suggest_language("gr") == "el"
    french = RuleDef("fr-rule", compile_query("réfugié"), frozenset({"fr"}))
    matcher = Matcher([ThemeDef("asylum", "normal", (french,))])
    for tag in ("fr", "fr_FR", "FR-be"):
        item = Item(source_id="s", guid=tag, url="https://x.example/", title="Les réfugiés arrivent", language=tag)
        assert [h.theme for h in matcher.match(item)] == ["asylum"], tag
    other = Item(source_id="s", guid="en", url="https://x.example/", title="Les réfugiés arrivent", language="en")
    assert matcher.match(other) == []
