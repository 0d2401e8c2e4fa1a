"""The shipped theme packs (rules/*.yaml): every file loads, covers the agreed themes and
languages, and matches its own positive examples and none of its negative ones
(tests/fixtures/theme_examples/<theme>.yaml, including the tricky negatives)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config.themes import load_themes
from bot.model import Item

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "tests" / "fixtures" / "theme_examples"

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
