"""The compiled matcher: rule languages, excludes, priorities, explanations, always-candidates,
and that the indexed path agrees with a plain evaluation."""

from __future__ import annotations

import json
import random

import pytest

from bot.match import Matcher, RuleDef, ThemeDef, compile_query
from bot.match.text import fold_text, fold_words, word_spans
from bot.model import Item


def theme(slug: str, *rules: tuple[str, str] | tuple[str, str, list[str]], priority: str = "normal",
          exclude: str | None = None) -> ThemeDef:
    defs = tuple(RuleDef(r[0], compile_query(r[1]), frozenset(r[2]) if len(r) > 2 else None) for r in rules)
    return ThemeDef(slug, priority, defs, compile_query(exclude) if exclude else None)


def item(title: str, text: str = "", lang: str | None = "en", **kw) -> Item:
    return Item(source_id=kw.pop("source", "src"), guid="g", url=None, title=title, text=text, language=lang, **kw)


def test_rule_languages_restrict_rules():
    m = Matcher([theme("asylum", ("a-en", "asylum", ["en"]), ("a-fr", "asile", ["fr"]), ("a-any", "Frontex"))])
    assert [h.rules for h in m.match(item("Asylum and asile", lang="en"))] == [["a-en"]]
    assert [h.rules for h in m.match(item("Asylum and asile", lang="fr-FR"))] == [["a-fr"]]
    assert m.match(item("Asylum and asile", lang=None)) == []  # unknown language: only unrestricted rules
    assert [h.rules for h in m.match(item("Frontex", lang=None))] == [["a-any"]]


def test_exclude_drops_the_whole_theme_hit():
    m = Matcher([theme("detention", ("d1", "detention migrant"), ("d2", "detained"), exclude='football OR "pre-trial"'),
                 theme("other", ("o1", "migrant"))])
    hits = m.match(item("Migrant in detention after the football match", "He was detained"))
    assert [h.theme for h in hits] == ["other"]
    _, _, hit, excluded = m.matching(item("Migrant in detention after the football match"))
    assert list(excluded) == [0] and list(hit) == [1]


def test_hits_ordered_high_priority_first_then_theme_order():
    m = Matcher([theme("low", ("l", "camp"), priority="low"), theme("n1", ("a", "camp")),
                 theme("high", ("h", "camp"), priority="high"), theme("n2", ("b", "camp"))])
    assert [h.theme for h in m.match(item("Camp"))] == ["high", "n1", "n2", "low"]


def test_rules_that_need_no_term_are_always_tried():
    m = Matcher([theme("t", ("not", "NOT football"), ("src", "source:picum"), ("tag", "tag:ngo OR lang:el"),
                       ("mixed", "-rugby title:rescue"))])
    assert m.match(item("Markets", source="x"))[0].rules == ["not"]
    assert m.match(item("Football", source="picum"))[0].rules == ["src"]
    assert m.match(item("Football", tags=["NGO"]))[0].rules == ["tag"]
    assert m.match(item("Football", lang="el"))[0].rules == ["tag"]
    assert m.match(item("Rescue at sea", text="football"))[0].rules == ["mixed"]
    assert m.match(item("Rescue at sea"))[0].rules == ["not", "mixed"]


def test_explanation_fields_terms_snippet():
    long_text = ("Lorem ipsum dolor sit amet. " * 12) + "Border guards beat migrants near the Evros river, " \
        "witnesses said, in the latest of many reported pushbacks. " + ("Consectetur adipiscing elit. " * 10)
    m = Matcher([theme("pushbacks", ("p1", '("border guards" OR police) NEAR/3 (beat* OR violence) migrant'))])
    (hit,) = m.match(item("Report", long_text))
    (e,) = hit.explanations
    assert e.rule == "p1" and e.field == "text"
    assert e.terms == ["Border guards", "beat", "migrants"]
    assert e.description == '"border guards" NEAR beat* AND migrant, in text'
    assert 100 <= len(e.snippet) <= 170 and "Border guards beat migrants" in e.snippet
    assert e.snippet.startswith("…") and e.snippet.endswith("…")
    assert e.to_dict() == {"rule": "p1", "field": "text", "terms": e.terms, "snippet": e.snippet,
                           "description": e.description}


def test_explanation_lists_fields_and_surface_forms():
    m = Matcher([theme("t", ("r", "refugee AND title:Greece"))])
    (hit,) = m.match(item("GREECE: new arrivals", "Refugees arrived on Lesbos"))
    (e,) = hit.explanations
    assert e.field == "title" and e.terms == ["GREECE", "Refugees"]
    assert e.description == "refugee AND Greece, in title and text"


def test_explanation_of_a_negation_only_rule():
    m = Matcher([theme("t", ("r", "NOT football"))])
    (e,) = m.match(item("Markets fall"))[0].explanations
    assert e.terms == [] and e.description == "NOT football" and e.snippet == "Markets fall"


def test_near_with_many_occurrences_matches_brute_force():
    rnd = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "noise", "x", "y"]
    q = compile_query('(alpha OR "beta gamma") NEAR/2 delta')
    for _ in range(300):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(2, 40)))
        toks = text.split()
        a = [(i, i) for i, w in enumerate(toks) if w == "alpha"] + \
            [(i, i + 1) for i in range(len(toks) - 1) if toks[i] == "beta" and toks[i + 1] == "gamma"]
        d = [i for i, w in enumerate(toks) if w == "delta"]
        expected = any((j > e and j - e - 1 <= 2) or (j < s and s - j - 1 <= 2) for s, e in a for j in d)
        assert q.matches(item(text, lang=None)) is expected, text


def test_near_does_not_cross_fields():
    m = Matcher([theme("t", ("r", "asylum NEAR/10 court"))])
    assert m.match(item("Asylum", "court")) == []
    assert m.match(Item("s", "g", None, "x", summary="asylum", text="court", language="en")) == []


def test_phrase_does_not_cross_fields():
    q = compile_query('"asylum court"')
    assert not q.matches(item("News about asylum", "Court rules"))
    assert q.matches(item("News", "The asylum, court said"))  # punctuation between words is ignored


@pytest.mark.parametrize("text", [
    "Plain ASCII text, with punctuation!", "Réfugiés à l’aéroport – «accueil» … 10 €", "Straße und Flüchtlinge",
    "Ναυάγιο ανοιχτά της Πύλου· μετανάστες", "Erdoğan and œuvre", "e\u0301te\u0301 decomposed", "µ-law 5µm",
    "snake_case and under_scores", "tab\tand\nnewline", "",
])
def test_fast_folding_gives_the_same_words_as_the_general_one(text):
    assert fold_text(text).split() == fold_words(text)
    assert [w for _, _, w in word_spans(text)] == fold_words(text)


def test_fast_folding_agrees_on_the_corpus(corpus):
    for line in (corpus / "news" / "news_sample.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for text in (row["title"], row["summary"]):
            assert fold_text(text).split() == fold_words(text)


def test_indexed_matcher_agrees_with_single_rule_evaluation(corpus):
    """Every rule run alone (its own one-rule matcher) gives the same hits as all together."""
    queries = ["refugee* OR asylum", '"prime minister"', "migrant NEAR/5 border", "title:(police) -football",
               "Flüchtling* OR Asyl", "migranti", "(réfugié OR migrant) AND France", "NOT the",
               "government NEAR/2 (plan OR law)", "children"]
    rules = [RuleDef(f"r{i}", compile_query(q)) for i, q in enumerate(queries)]
    together = Matcher([ThemeDef("t", "normal", tuple(rules))])
    lines = (corpus / "news" / "news_sample.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines][::5]
    hits = 0
    for row in rows:
        it = Item(row["dataset"], row["id"], None, row["title"], summary=row["summary"], language=row["lang"])
        got = together.match(it, explain=False)
        got_rules = set(got[0].rules) if got else set()
        expected = {r.id for r in rules if r.query.matches(it)}
        assert got_rules == expected, row["title"]
        hits += len(expected)
    assert hits > 100  # the table is not trivially empty


def test_stem_cache_is_shared_and_unknown_language_is_identity():
    from bot.match.text import stems_for

    assert stems_for("en")["migrants"] == "migrant"
    assert stems_for(None)["migrants"] == "migrants"
    assert stems_for("xx")["migrants"] == "migrants"
