"""The metrics of `rules evaluate` (bot.match.evaluate) on a tiny rule set: counts, precision,
recall, F1, micro and macro, per-language recall and alarms, partial judgements, thresholds,
and what a labelled line must hold."""

from __future__ import annotations

import pytest

from bot.match import Matcher, RuleDef, ThemeDef, compile_query
from bot.match.evaluate import LabelError, Labelled, evaluate, gold_themes, thresholds
from bot.model import Item

SLUGS = ["asylum", "detention", "sea-rescue"]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    def theme(slug: str, query: str) -> ThemeDef:
        return ThemeDef(slug, "normal", (RuleDef(f"{slug}-r", compile_query(query)),))

    return Matcher([theme("asylum", "asylum"), theme("detention", "detention AND migrant*"),
                    theme("sea-rescue", "shipwreck")])


def lab(key, title: str, gold: set[str], lang: str = "en", judged: set[str] | None = None) -> Labelled:
    item = Item(source_id="s", guid=str(key), url=None, title=title, language=lang)
    return Labelled(key, item, frozenset(gold), frozenset(judged) if judged is not None else None)


ITEMS = [
    lab(1, "Asylum claims rise", {"asylum"}),                              # tp asylum
    lab(2, "Asylum seekers in detention", {"asylum", "detention"}),        # tp asylum, fn detention
    lab(3, "Shipwreck of a cargo ship", set()),                            # off-topic alarm (sea-rescue)
    lab(4, "Markets fall", set()),                                         # off-topic, quiet
    lab(5, "Migrants drowned off Lesbos", {"sea-rescue"}, lang="de"),      # fn: nothing hit
    lab(6, "Asylum and shipwreck", {"sea-rescue"}, lang="de"),             # fp asylum, tp sea-rescue
]


def test_counts_and_metrics(matcher):
    r = evaluate(matcher, ITEMS)
    c = {slug: (x.tp, x.fp, x.fn) for slug, x in r.themes.items()}
    assert c == {"asylum": (2, 1, 0), "detention": (0, 0, 1), "sea-rescue": (1, 1, 1)}
    assert r.themes["asylum"].precision == pytest.approx(2 / 3) and r.themes["asylum"].recall == 1.0
    assert r.themes["detention"].precision is None and r.themes["detention"].f1 == 0.0
    assert r.themes["sea-rescue"].f1 == pytest.approx(0.5)
    micro = r.micro
    assert (micro.tp, micro.fp, micro.fn) == (3, 2, 2) and micro.f1 == pytest.approx(0.6)
    assert r.macro_f1 == pytest.approx((0.8 + 0.0 + 0.5) / 3)
    en, de = r.languages["en"], r.languages["de"]
    assert (en.on_topic, en.found, en.off_topic, en.alarms) == (2, 2, 2, 1)
    assert (de.on_topic, de.found, de.off_topic) == (2, 1, 0) and de.alarm_rate is None
    assert r.overall.recall == pytest.approx(3 / 4) and r.overall.alarm_rate == pytest.approx(1 / 2)
    assert [o.labelled.key for o in r.misses()] == [2, 5]
    assert [o.labelled.key for o in r.false_alarms()] == [3, 6]
    (alarm,) = [o for o in r.outcomes if o.labelled.key == 3]
    assert alarm.false_alarms == ["sea-rescue"] and alarm.hits[0].explanations[0].rule == "sea-rescue-r"
    d = r.to_dict()
    assert d["micro"]["f1"] == 0.6 and d["overall"]["alarms"] == 1 and d["items"] == 6


def test_selected_themes_only(matcher):
    r = evaluate(matcher, ITEMS, ["sea-rescue"])
    assert list(r.themes) == ["sea-rescue"]
    # item 6's asylum hit is not evaluated; item 2 is about other themes: neither on- nor off-topic
    assert r.languages["en"].on_topic == 0 and r.languages["en"].off_topic == 2
    assert r.micro.fp == 1 and r.languages["en"].alarms == 1


def test_partially_judged_items_count_only_their_themes(matcher):
    """A member voted asylum down on item a: its detention hit (nobody voted) is not counted."""
    items = [lab("a", "Asylum seekers in detention camps for migrants", set(), judged={"asylum"}),
             lab("b", "Detention of migrants", {"detention"}, judged={"detention"})]
    r = evaluate(matcher, items)
    assert (r.themes["asylum"].fp, r.themes["detention"].fp, r.themes["detention"].tp) == (1, 0, 1)
    assert r.languages["en"].off_topic == 1 and r.languages["en"].alarms == 1


def test_thresholds(matcher):
    r = evaluate(matcher, ITEMS)
    checks = thresholds(r, min_recall=0.5, min_f1=0.7, max_alarms=0.4)
    assert [(t.option, t.ok) for t in checks] == [("--min-recall", True), ("--min-f1", False), ("--max-alarms", False)]
    assert checks[1].sentence() == "FAILED: micro F1 0.600 (needs >= 0.7, --min-f1)"
    assert checks[2].sentence() == "FAILED: off-topic alarm rate 0.500 (needs <= 0.4, --max-alarms)"
    assert thresholds(r) == []
    empty = evaluate(matcher, [])
    assert not thresholds(empty, min_recall=0.1)[0].ok and thresholds(empty, max_alarms=0.0)[0].ok


@pytest.mark.parametrize(("raw", "said"), [
    ({"title": "x"}, 'no "themes"'),
    ({"title": "x", "themes": "asylum"}, '"themes" must be a list of theme slugs, got a string'),
    ({"title": "x", "themes": [1]}, '"themes" must list theme slugs as strings, got 1 (a number)'),
    ({"title": "x", "themes": ["asylm"]}, "unknown theme 'asylm' (did you mean 'asylum'?)"),
    ({"title": "x", "themes": ["zzz"]}, "unknown theme 'zzz'; themes: asylum, detention, sea-rescue"),
    ({"title": 3, "themes": []}, '"title" must be a string, got a number'),
    ({"title": " ", "text": "", "themes": []}, 'an item needs a "title" or a "text"'),
    ({"title": "x", "lang": ["en"], "themes": []}, '"lang" must be a language code such as en, got a list'),
])
def test_malformed_labels(raw, said):
    with pytest.raises(LabelError) as exc:
        gold_themes(raw, SLUGS)
    assert str(exc.value).startswith(said)


def test_good_label_ignores_other_keys():
    raw = {"id": "n-1", "title": "x", "themes": ["asylum", "detention"], "note": "borderline", "origin": "news"}
    assert gold_themes(raw, SLUGS) == {"asylum", "detention"}
    assert gold_themes({"text": "y", "themes": []}, SLUGS) == frozenset()
