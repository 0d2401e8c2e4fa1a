"""Why an item matched or which rules nearly did (bot.match.why): what `newsbot explain` and
the Telegram `/missed` say."""

from __future__ import annotations

import pytest

from bot.match import Matcher, RuleDef, ThemeDef, compile_query
from bot.match.why import render_text, verdict
from bot.model import Item


def matcher() -> Matcher:
    def theme(slug: str, *queries: str) -> ThemeDef:
        rules = tuple(RuleDef(f"{slug}-{i}", compile_query(q)) for i, q in enumerate(queries))
        return ThemeDef(slug, "high" if slug == "sea-rescue" else "normal", rules)

    return Matcher([theme("sea-rescue", "shipwreck* NEAR/12 migrant*"),
                    theme("detention", '(detention OR detained) AND (migrant* OR asylum)'),
                    theme("labour", "seasonal AND workers")])


def item(text: str) -> Item:
    return Item(source_id="t", guid="g", url=None, title="", text=text, language="en")


def test_a_hit_is_explained() -> None:
    v = verdict(matcher(), item("Shipwreck: 41 migrants missing"))
    assert [h.theme for h in v.hits] == ["sea-rescue"] and v.misses == ()
    text = render_text(v, "Title")
    assert text.startswith("title: Title\nlanguage: en\n")
    assert "matches theme sea-rescue (high) by rules sea-rescue-0" in text
    assert v.to_dict()["themes"] == ["sea-rescue"]


def test_without_a_hit_the_closest_themes_say_what_failed() -> None:
    v = verdict(matcher(), item("Shipwreck off Lampedusa: 41 people missing after the boat capsized"))
    assert v.hits == () and [m.theme for m in v.misses] == ["sea-rescue"]
    text = render_text(v)
    assert "no theme matches" in text
    assert "near misses of theme sea-rescue:" in text
    assert "sea-rescue-0: found Shipwreck; but no migrant* near Shipwreck (NEAR/12)" in text


def test_the_asked_theme_only() -> None:
    m = matcher()
    far = "Migrants detained at the port " + "and then many more words of the story " * 3 + "after a shipwreck"
    v = verdict(m, item(far), "sea-rescue")
    assert v.theme_hit is False and [x.theme for x in v.hits] == ["detention"]
    assert [x.theme for x in v.misses] == ["sea-rescue"]
    assert "words apart (NEAR/12)" in render_text(v) and "theme sea-rescue does not match" in render_text(v)
    # a theme without any word found: said so in plain words
    v = verdict(m, item("Migrants detained at the port"), "labour")
    assert "theme labour: its 1 rule found none of their words" in render_text(v)
    assert verdict(m, item("Shipwreck, migrants"), "sea-rescue").theme_hit is True
    with pytest.raises(KeyError):
        verdict(m, item("x"), "nope")


def test_nothing_near() -> None:
    v = verdict(matcher(), item("The weather is fine today"))
    assert v.misses == ()
    assert "no rule of any theme found any of its words" in render_text(v)
