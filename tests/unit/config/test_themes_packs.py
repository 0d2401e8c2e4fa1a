"""The shipped theme packs (rules/*.yaml): every file loads, covers the agreed themes and
languages, and matches its own positive examples and none of its negative ones
(tests/fixtures/theme_examples/<theme>.yaml, including the tricky negatives); and no bare word
stems, nor short prefix reaches, to a very common word of the rule's language."""

from __future__ import annotations

import collections
import json

import pytest
from ruamel.yaml import YAML

from bot.config.themes import load_themes
from bot.match.compile import resolve_parts
from bot.match.query import Term
from bot.match.text import fold_words, stems_for
from bot.model import Item
from support.paths import CORPUS, FIXTURES, REPO

EXAMPLES = FIXTURES / "theme_examples"

THEMES = (
    "asylum", "pushbacks", "externalisation", "detention", "deportation", "sea-rescue",
    "criminalisation", "regularisation", "labour", "trafficking", "climate", "displacement",
    "civic-space", "xenophobia", "services", "children", "courts", "policy",
)
HIGH = {"pushbacks", "sea-rescue", "detention", "criminalisation", "deportation", "externalisation"}
CORE_LANGS = {"en", "fr", "es", "it", "de", "pt"}
MEDITERRANEAN = {"pushbacks", "sea-rescue", "detention", "asylum", "externalisation", "deportation",
                 "criminalisation"}


@pytest.fixture(scope="module")
def themes():
    return load_themes(REPO)


@pytest.fixture(scope="module")
def matcher(themes):
    return themes.matcher()


def _examples() -> list[tuple[str, str, int, dict]]:
    out = []
    for theme in THEMES:
        data = YAML(typ="safe").load((EXAMPLES / f"{theme}.yaml").read_text(encoding="utf-8"))
        for kind in ("positives", "negatives"):
            for i, ex in enumerate(data.get(kind) or []):
                out.append((theme, kind, i, ex))
    return out


def _item(ex: dict) -> Item:
    return Item(source_id="example", guid="x", url=None, title=ex.get("title", ""),
                summary="", text=ex.get("text", ""), language=ex["lang"])


def test_every_theme_ships_and_loads(themes) -> None:
    assert sorted(t.slug for t in themes.themes) == sorted(THEMES)
    shipped = sorted(p.stem for p in (REPO / "rules").glob("*.yaml"))
    assert shipped == sorted(THEMES)


def test_priorities(themes) -> None:
    for slug in THEMES:
        theme = themes.get(slug)
        assert theme is not None
        assert theme.priority == ("high" if slug in HIGH else "normal"), slug
        assert theme.title and theme.description


def test_language_coverage(themes) -> None:
    for slug in THEMES:
        langs = {lang for rule in themes.get(slug).rules for lang in (rule.languages or ())}
        required = CORE_LANGS | ({"el"} if slug in MEDITERRANEAN else set())
        assert required <= langs, f"{slug} lacks rules for {sorted(required - langs)}"


def test_examples_cover_every_rule_language(themes) -> None:
    # SPEC: positive and negative examples in each language a theme covers, including the tricky
    # negatives. Every language any of the theme's rules is scoped to counts, Dutch included.
    by_theme: dict[str, set[str]] = {}
    neg_langs: dict[str, set[str]] = {}
    negatives: dict[str, int] = {}
    for theme, kind, _, ex in _examples():
        if kind == "positives":
            by_theme.setdefault(theme, set()).add(ex["lang"])
        else:
            negatives[theme] = negatives.get(theme, 0) + 1
            neg_langs.setdefault(theme, set()).add(ex["lang"])
            assert ex.get("why"), f"{theme}: say why each negative is tricky"
    for slug in THEMES:
        langs = {lang for rule in themes.get(slug).rules for lang in (rule.languages or ())}
        assert langs, f"{slug}: no language-scoped rules"
        missing = langs - by_theme.get(slug, set())
        assert not missing, f"{slug}: no positive example in {sorted(missing)}"
        missing = langs - neg_langs.get(slug, set())
        assert not missing, f"{slug}: no tricky negative example in {sorted(missing)}"
        assert negatives.get(slug, 0) >= 2, f"{slug}: needs tricky negative examples"


@pytest.mark.parametrize(
    "theme,kind,index,example",
    _examples(),
    ids=[f"{t}-{k[:3]}-{i}-{e['lang']}" for t, k, i, e in _examples()],
)
def test_example(matcher, theme: str, kind: str, index: int, example: dict) -> None:
    hits = {hit.theme: hit for hit in matcher.match(_item(example))}
    if kind == "positives":
        assert theme in hits, f"{theme} should match: {example['title']!r}"
        hit = hits[theme]
        assert hit.rules and hit.explanations
        assert all(ex.terms for ex in hit.explanations)
    else:
        assert theme not in hits, (
            f"{theme} should not match ({example['why']}): {example['title']!r} "
            f"-> {[e.to_dict() for e in hits[theme].explanations]}")


def test_high_priority_first(matcher) -> None:
    item = Item(source_id="x", guid="y", url=None, language="en",
                title="Asylum seekers drown as boat capsizes off Lesbos",
                text="Asylum claims of the survivors will be processed; the shipwreck left 20 missing.")
    hits = matcher.match(item)
    themes = [h.theme for h in hits]
    assert "sea-rescue" in themes and "asylum" in themes
    assert themes.index("sea-rescue") < themes.index("asylum")


def test_language_scoping(matcher) -> None:
    # A German rule word in an English item does not fire (rules carry `languages:`).
    item = Item(source_id="x", guid="y", url=None, language="en",
                title="Abschiebung debate", text="Nothing else here.")
    assert "deportation" not in {h.theme for h in matcher.match(item)}
    item.language = "de"
    assert "deportation" in {h.theme for h in matcher.match(item)}


# --- stems and short prefixes that collide with very common words ---------------------------
# A bare word is stemmed in the rule's language; when its stem is also the stem of a very common
# word, the rule fires on that common word. Spanish stems the acronym COMAR to `com`, the stem of
# `como`, so every Spanish item with "como" was an asylum hit; Greek ΣτΕ gave `στ` (στη, στο).
# The common words: for en, de, fr, it the most frequent words of the shared news corpus; for
# the languages it lacks, the commonest function words (articles, prepositions, conjunctions,
# pronouns, auxiliaries, frequent adverbs), written below and folded like item text.

COMMON_TOP = 150
CORPUS_LANGS = ("en", "de", "fr", "it")
FUNCTION_WORDS = {
    "es": """
        el la los las lo un una unos unas de del a al en con por para sin sobre entre hasta desde
        hacia contra tras según durante ante bajo y e o u ni pero sino que como cómo cuando donde
        si porque aunque mientras más menos muy mucho muchos mucha muchas tan tanto también tampoco
        ya no sí aún todavía solo sólo así bien ahora hoy ayer siempre nunca después antes este esta
        estos estas ese esa esos esas eso esto aquel su sus mi mis tu se le les me nos te yo él ella
        ellos ellas usted ustedes es son fue fueron ser sido era eran está están estar estaba ha han
        he hay había haber hace tiene tienen tener puede pueden todo toda todos todas otro otra otros
        otras cada qué cual cuál cuales quien quienes casi ningún ninguno ninguna algún alguno alguna
        uno dos tres año años vez veces dijo según
    """,
    "pt": """
        o a os as um uma uns umas de do da dos das em no na nos nas num numa por pelo pela pelos
        pelas para com sem sobre entre até desde contra após e ou mas nem que se como quando onde
        porque embora enquanto mais menos muito muita muitos muitas tão também já não sim ainda só
        apenas bem assim agora hoje ontem sempre nunca depois antes este esta estes estas isto esse
        essa esses essas isso aquele aquela aquilo seu sua seus suas ele ela eles elas eu nós você
        vocês lhe lhes me te ao aos à às é são foi foram ser sido era eram está estão estar estava
        tem têm ter tinha há havia pode podem todo toda todos todas outro outra outros outras cada
        qual quais quem nenhum nenhuma algum alguma dois duas três ano anos vez vezes disse segundo
    """,
    "el": """
        ο η το οι τα του της των τον την τη τους τις ένας μία μια ένα ενός μιας σε στο στη στην στον
        στα στις στους στου στης από για με προς χωρίς μέχρι κατά μετά πριν παρά ως ή αλλά όμως
        ενώ αν εάν όταν όπως ότι πως που πού δε δεν μη μην να θα ναι όχι και κι είναι ήταν είχε
        έχει έχουν είχαν αυτό αυτή αυτός αυτά αυτοί αυτές αυτού αυτής αυτών εκεί εδώ τώρα σήμερα
        χθες πολύ πιο πάντα επίσης ήδη μόνο ακόμα ακόμη όλα όλοι όλες όλο κάθε κάποιος κάποια τι
        ποιος ποια οποίος οποία οποίο οποίων μας σας μου σου εγώ εμείς εσείς δύο τρία τρεις χρόνια
        έτος φορά φορές οπότε λοιπόν καθώς
    """,
    "nl": """
        de het een en of maar want dus van in op te met voor door naar bij uit aan over om tot
        tegen onder tussen na sinds zonder dat die dit deze wat wie waar wanneer hoe als omdat toen
        ook niet geen nog al wel zeer heel erg meer veel minder dan nu er hier daar zo toch weer
        alleen even ik je jij hij zij ze we wij u ons onze hun zijn haar mijn men is was waren ben
        bent heeft hebben had hadden wordt worden werd werden kan kunnen kon zal zullen zou moet
        moeten wil willen gaat gaan iets niets alle andere jaar jaren twee drie één keer
    """,
}

# (language, rule word, common word) pairs whose shared stem is legitimate: the rule word is an
# inflection of the common word, so matching it is what the rule means. Keep this list short.
STEM_ALLOWED = {
    ("en", "homes", "home"),  # displacement: "homes" and "home" are one noun
    ("en", "countries", "country"),  # policy: plural of the same noun
    ("de", "grenzen", "grenze"),  # pushbacks: plural of Grenze (border), meant
}
# (language, prefix, common word) pairs a short prefix may cover on purpose.
PREFIX_ALLOWED: set[tuple[str, str, str]] = set()
SHORT_PREFIX = 3  # a prefix of at most this many letters is checked against the common words


def _terms(node):
    """Every Term of a query tree."""
    if isinstance(node, Term):
        yield node
        return
    for child in getattr(node, "children", None) or ():
        yield from _terms(child)
    for attr in ("child", "left", "right"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _terms(child)


@pytest.fixture(scope="module")
def common_words() -> dict[str, list[str]]:
    news = CORPUS / "news" / "news_sample.jsonl"
    assert news.is_file(), f"the shared corpus must be beside the checkout: {news}"
    counts: dict[str, collections.Counter] = {lang: collections.Counter() for lang in CORPUS_LANGS}
    for line in news.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["lang"] in counts:
                counts[row["lang"]].update(fold_words(f"{row['title']}\n{row.get('summary') or ''}"))
    out = {lang: [w for w, _ in c.most_common(COMMON_TOP)] for lang, c in counts.items()}
    for lang, text in FUNCTION_WORDS.items():
        out[lang] = list(dict.fromkeys(fold_words(text)))
    for lang, words in out.items():
        assert len(words) >= 80, f"{lang}: too few common words ({len(words)})"
    return out


def _checked_queries(themes, languages):
    """(theme, rule id, language, query tree): each rule in each language it covers; a theme's
    exclude applies to items of every language, so it is checked in all of them."""
    for theme in themes:
        for rule in theme.rules:
            for lang in rule.languages or languages:
                if lang in languages:
                    yield theme.slug, rule.id, lang, rule.compiled.ast
        if theme.exclude_query is not None:
            for lang in languages:
                yield theme.slug, "exclude", lang, theme.exclude_query.ast


def test_no_stem_collides_with_a_common_word(themes, common_words) -> None:
    # A rule that names a common word itself (border, EU, Regierung inside a NEAR) does so on
    # purpose: only a different word that stems the same way is a collision.
    problems = set()
    for slug, rule_id, lang, ast in _checked_queries(themes, common_words):
        stems = stems_for(lang)
        common = set(common_words[lang])
        by_stem: dict[str, list[str]] = {}
        for word in common_words[lang]:
            by_stem.setdefault(stems[word], []).append(word)
        for term in _terms(ast):
            for (kind, word), (unit, value) in zip(term.parts, resolve_parts(term, lang)):
                if kind != "w" or unit != "s" or word in common:
                    continue
                for other in by_stem.get(value, ()):
                    if (lang, word, other) not in STEM_ALLOWED:
                        problems.add(f"{slug} / {rule_id} [{lang}]: bare {word!r} (in {term.raw}) stems to "
                                     f"{value!r}, the stem of the common word {other!r} (quote it or rewrite it)")
    assert not problems, "\n".join(sorted(problems))


def test_no_short_prefix_matches_a_common_word(themes, common_words) -> None:
    problems = set()
    for slug, rule_id, lang, ast in _checked_queries(themes, common_words):
        for term in _terms(ast):
            for kind, prefix in term.parts:
                if kind != "p" or len(prefix) > SHORT_PREFIX:
                    continue
                for other in common_words[lang]:
                    if other.startswith(prefix) and (lang, prefix, other) not in PREFIX_ALLOWED:
                        problems.add(f"{slug} / {rule_id} [{lang}]: prefix {prefix + '*'!r} (in {term.raw}) "
                                     f"matches the common word {other!r}")
    assert not problems, "\n".join(sorted(problems))
