"""Near misses (bot.match.near_miss): the partial evaluation agrees with the compiled rules on
every shipped rule and example, and says in plain words which part of a query failed."""

from __future__ import annotations


import pytest
from ruamel.yaml import YAML

from bot.config.themes import load_themes
from bot.match import Matcher, RuleDef, ThemeDef, compile_query
from bot.match.near_miss import PartialEvaluator, rule_outcome, show, theme_miss
from bot.match.query import parse
from bot.model import Item
from support.paths import FIXTURES, REPO

EXAMPLES = FIXTURES / "theme_examples"


def item(title: str, text: str = "", lang: str | None = "en", source: str = "s", tags=()) -> Item:
    return Item(source_id=source, guid="g", url=None, title=title, text=text, language=lang, tags=list(tags))


def matcher(*rules: tuple[str, str], exclude: str | None = None, languages: dict | None = None) -> Matcher:
    languages = languages or {}
    defs = tuple(RuleDef(rid, compile_query(q), frozenset(languages[rid]) if rid in languages else None)
                 for rid, q in rules)
    return Matcher([ThemeDef("t", "high", defs, compile_query(exclude) if exclude else None)])


def _example_items() -> list[Item]:
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        for kind in ("positives", "negatives"):
            for ex in data.get(kind) or []:
                out.append(item(ex.get("title", ""), ex.get("text", ""), ex.get("lang")))
    return out


def test_partial_evaluation_agrees_with_the_compiled_rules():
    """On every shipped rule and every example item (positives and tricky negatives of every
    language), the partial evaluation's verdict is the compiled closure's: it cannot explain
    a miss by a different reading of the query."""
    themes = load_themes(REPO)
    m = themes.matcher()
    compared = matched = 0
    for it in _example_items():
        prog = m.program(it.language)
        ctx = prog.full_context(it)
        evaluator = PartialEvaluator(it, prog.compiler, ctx)
        for _, rule, closure in prog.rules:
            verdict = evaluator.evaluate(rule.query.ast).ok
            assert verdict == closure(ctx), (rule.id, it.title)
            compared += 1
            matched += verdict
        hit = {h.theme for h in m.match(it, explain=False)}
        for theme in themes:
            miss = theme_miss(m, it, theme.slug)
            fired = any(n.score == 3.0 for n in miss.near)  # a rule matched, no exclude dropped it
            assert fired == (theme.slug in hit), (theme.slug, it.title)
    assert compared > 5000 and matched > 300


def test_missing_and_part_of_a_query():
    m = matcher(("r", "shipwreck AND (migrant* NEAR/12 (boat OR sea))"))
    out = rule_outcome(m, item("Shipwreck off Lampedusa: 41 people missing"), "r")
    assert not out.ok
    assert out.found == ("Shipwreck",)
    assert out.failed == ("no migrant* and no (boat OR sea)",)
    miss = theme_miss(m, item("Shipwreck off Lampedusa: 41 people missing"), "t")
    (near,) = miss.near
    assert near.rule == "r" and near.sentence() == "found Shipwreck; but no migrant* and no (boat OR sea)"


def test_near_too_far_says_how_far():
    m = matcher(("r", "pushback NEAR/3 Greece"))
    text = "Pushbacks were reported again, said the report published on Monday about Greece"
    out = rule_outcome(m, item(text), "r")
    assert not out.ok
    assert out.failed == ("Pushbacks (pushback) and Greece are 10 words apart (NEAR/3)",)
    assert out.found == ("Pushbacks (pushback)", "Greece")


def test_near_one_side_missing_and_different_fields():
    m = matcher(("r", "pushback NEAR/3 (Greece OR Croatia)"))
    out = rule_outcome(m, item("Pushbacks continue", "Nothing else"), "r")
    assert out.failed == ("no (Greece OR Croatia) near Pushbacks (pushback) (NEAR/3)",)
    out = rule_outcome(m, item("Pushbacks continue", "At the border with Croatia"), "r")
    assert out.failed == ("Pushbacks (pushback) and Croatia are in different fields (NEAR/3)",)


def test_scope_phrase_not_and_filters():
    m = matcher(("scoped", 'title:asylum AND court'), ("phrase", '"detention centre" AND migrant*'),
                ("negated", "asylum NOT football"), ("filtered", "asylum lang:fr tag:ngo"))
    it = item("Court ruling", "The asylum case of migrants held in the centre of detention; football", tags=["press"])
    assert rule_outcome(m, it, "scoped").failed == ("asylum is not in the title",)
    phrase = rule_outcome(m, it, "phrase")
    assert phrase.failed == ('the words of "detention centre" are not in a row',)
    assert rule_outcome(m, it, "negated").failed == ("NOT football excludes it (football present)",)
    assert rule_outcome(m, it, "filtered").failed == ("the language is en, not fr", "the source has no tag ngo")


def test_or_reports_the_closest_alternative():
    m = matcher(("r", "(refugee AND camp AND fire) OR (asylum AND ruling)"))
    out = rule_outcome(m, item("Fire in a refugee settlement"), "r")
    assert out.found == ("refugee", "Fire") and out.failed == ("no camp",)


def test_exclude_that_dropped_the_theme_comes_first():
    m = matcher(("a", "detention AND migrant*"), ("b", "asylum AND court"), exclude="football")
    it = item("Migrants in detention watched the football final", "an asylum story")
    miss = theme_miss(m, it, "t")
    assert m.match(it) == []
    assert [n.rule for n in miss.near] == ["a", "b"]
    assert miss.near[0].excluded and miss.near[0].sentence() == "matched, but the theme's exclude drops it (football)"
    assert miss.near[1].sentence() == "found asylum; but no court"


def test_rules_of_other_languages_and_nothing_found():
    m = matcher(("en", "shipwreck"), ("fr", "naufrage"), languages={"en": ["en"], "fr": ["fr"]})
    miss = theme_miss(m, item("Naufragio a Lampedusa", lang="it"), "t")
    assert miss.near == () and miss.tried == 0 and miss.other_languages == ("en", "fr")
    assert miss.summary() == "no rule of this theme is for the item's language"
    miss = theme_miss(m, item("Storm at sea"), "t")
    assert miss.tried == 1 and miss.summary() == "its 1 rule found none of their words"
    assert miss.to_dict()["rules_for_other_languages"] == ["fr"]


def test_limit_keeps_the_closest_rules():
    rules = [(f"r{i}", f"asylum AND w{i} AND x{i}") for i in range(5)] + [("best", "asylum AND court")]
    miss = theme_miss(matcher(*rules), item("Asylum ruling", "asylum seekers"), "t", limit=2)
    assert miss.near[0].rule == "best" and len(miss.near) == 2


@pytest.mark.parametrize(("query", "shown"), [
    ("a OR b", "a OR b"),
    ("x NEAR/4 (a OR b)", "x NEAR/4 (a OR b)"),
    (" OR ".join(f"word{i}" for i in range(30)), "word0 OR word1 OR word2 OR word3 OR word4 OR word5 OR word6 OR word7 OR … (22 more)"),
])
def test_show_shortens_long_or_groups(query, shown):
    assert show(parse(query), 70) == shown
