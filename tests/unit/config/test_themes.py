"""rules/*.yaml loading: schema problems and query syntax errors all at once, each at its
file:line:col (inside quoted, folded and block scalars), slugs and rule ids checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.themes import load_themes, scalar_position
from bot.errors import ConfigError
from bot.model import Item
from support.paths import FIXTURES

FIXTURE = FIXTURES / "ruleset"


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / name).write_text(text, encoding="utf-8")
    return tmp_path


def problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_themes(config_dir)
    return [str(p) for p in info.value.problems]


def test_fixture_loads_and_matches():
    themes = load_themes(FIXTURE)
    assert themes.slugs == ["detention", "pushbacks"]
    detention = themes.get("detention")
    assert detention.priority == "normal" and detention.exclude and len(detention.rules) == 2
    assert themes.rule("fx-pushback-el")[0].slug == "pushbacks"
    hits = themes.matcher().match(Item("s", "g", None, "Pushbacks in Greece",
                                       text="Migrants held in detention", language="en"))
    assert [h.theme for h in hits] == ["pushbacks", "detention"]  # high priority first
    assert themes.matcher() is themes.matcher()


def test_no_rules_dir_means_no_themes(tmp_path):
    assert len(load_themes(tmp_path)) == 0


def test_query_error_placed_in_single_quoted_scalar(tmp_path):
    d = write(tmp_path, "detention.yaml", """theme: detention
title: Detention
rules:
  - id: a
    query: 'x'
  - id: b
    query: '(detention OR ''held'' AND (migrant OR asylum)'
""")
    # col 12 is the quote, 13 the '(', 59 the closing quote; the doubled quote counts once in the query but twice in the file
    assert problems(d) == ["rules/detention.yaml:7:59: expected ')' to close '(' at 7:13"]


def test_query_error_placed_in_folded_and_block_scalars(tmp_path):
    d = write(tmp_path, "t.yaml", """theme: t
title: T
rules:
  - id: folded
    query: >-
      ("centre de rétention" OR rétention)
      AND (migrant OR foo:bar)
  - id: block
    query: |
      detention
        NEAR/x camp
  - id: dq
    query: "Abschiebehaft AND \\"x\\" OR"
exclude: 'football OR'
""")
    assert problems(d) == [
        "rules/t.yaml:7:23: unknown field 'foo:'; expected one of title:, summary:, text:, source:, tag:, lang:",
        "rules/t.yaml:11:14: expected a distance after 'NEAR/', e.g. NEAR/5",
        "rules/t.yaml:13:39: expected a term after 'OR'",
        "rules/t.yaml:14:22: expected a term after 'OR'",
    ]


def test_schema_and_query_problems_reported_together(tmp_path):
    d = write(tmp_path, "asylum.yaml", """theme: asylum
title: Asylum
priority: urgent
colour: red
rules:
  - id: Bad_Id
    query: 'asylum AND'
    languages: [english]
""")
    found = problems(d)
    assert "rules/asylum.yaml:3:11: priority: must be 'high', 'normal' or 'low' (got 'urgent')" in found
    assert "rules/asylum.yaml:4:1: colour: unknown key" in found
    assert any(p.startswith("rules/asylum.yaml:6:9: rules[0].id: must be a slug") for p in found)
    assert "rules/asylum.yaml:7:23: expected a term after 'AND'" in found
    assert any(p.startswith("rules/asylum.yaml:8:") and "'english' is not a language code" in p for p in found)


def test_slug_must_equal_file_name_and_rule_ids_unique_across_files(tmp_path):
    write(tmp_path, "a.yaml", "theme: a\ntitle: A\nrules:\n  - id: r1\n    query: x\n")
    write(tmp_path, "b.yaml", "theme: bee\ntitle: B\nrules:\n  - id: r2\n    query: y\n  - id: r1\n    query: z\n")
    write(tmp_path, "c.yml", "theme: c\n")
    assert problems(tmp_path) == [
        "rules/b.yaml:1:8: theme: 'bee' must equal the file name 'b'",
        "rules/b.yaml:6:9: rules[1].id: duplicate rule id 'r1' (first in rules/a.yaml:4)",
        "rules/c.yml: theme files must end in .yaml (this one is ignored)",
    ]


def test_missing_keys_and_empty_rules(tmp_path):
    d = write(tmp_path, "x.yaml", "theme: x\nrules: []\n")
    found = problems(d)
    assert any("title: required key is missing" in p for p in found)
    assert any("rules: needs at least one entry" in p for p in found)


def test_yaml_syntax_error_has_position(tmp_path):
    d = write(tmp_path, "x.yaml", "theme: x\ntitle: [unclosed\n")
    (found,) = problems(d)
    assert found.startswith("rules/x.yaml:3:1: YAML syntax")


@pytest.mark.parametrize("line,offset,expected", [
    ("    query: abc def", 4, (1, 16)),
    ("    query: 'it''s (x'", 5, (1, 19)),
    ('    query: "a \\"b\\" c"', 5, (1, 20)),
    ("    query: abc", 3, (1, 15)),  # the end of the value: just after it
])
def test_scalar_position(line, offset, expected):
    from ruamel.yaml import YAML

    value = YAML(typ="rt").load(line.strip())["query"]
    assert scalar_position([line], 1, 12, value, offset) == expected


def test_name_and_duplicate_rule_checks_run_even_when_the_schema_fails(tmp_path):
    write(tmp_path, "a.yaml", "theme: a\ntitle: A\nrules:\n  - id: r1\n    query: x\n")
    write(tmp_path, "b.yaml", """theme: bee
title: B
priority: urgent
rules:
  - id: r2
    query: '(asylum'
  - id: r2
    query: y
  - id: r1
    query: z
    languages: [english]
""")
    found = problems(tmp_path)
    assert found == [
        "rules/b.yaml:1:8: theme: 'bee' must equal the file name 'b'",
        "rules/b.yaml:3:11: priority: must be 'high', 'normal' or 'low' (got 'urgent')",
        "rules/b.yaml:6:20: expected ')' to close '(' at 6:13",
        "rules/b.yaml:7:9: rules[1].id: duplicate rule id 'r2' (first in rules/b.yaml:5)",
        "rules/b.yaml:9:9: rules[2].id: duplicate rule id 'r1' (first in rules/a.yaml:4)",
        found[5],
    ]
    assert found[5].startswith("rules/b.yaml:11:") and "'english' is not a language code" in found[5]


def test_rule_ids_of_a_file_that_fails_the_schema_still_count_for_later_files(tmp_path):
    write(tmp_path, "a.yaml", "theme: a\ntitle: A\npriority: urgent\nrules:\n  - id: r1\n    query: x\n")
    write(tmp_path, "b.yaml", "theme: b\ntitle: B\nrules:\n  - id: r1\n    query: y\n")
    found = problems(tmp_path)
    assert "rules/b.yaml:4:9: rules[0].id: duplicate rule id 'r1' (first in rules/a.yaml:5)" in found


def test_a_language_typo_is_an_error_not_a_rule_that_never_matches(tmp_path):
    """`fe` passes a two-letter format check, and items are never tagged `fe`: the rule would
    be silently dead. Languages are checked against CLDR's codes, with a suggestion."""
    d = write(tmp_path, "asylum.yaml", "theme: asylum\ntitle: Asylum\nrules:\n"
                                       "  - id: a1\n    query: asile\n    languages: [fr, fe, ell]\n")
    found = problems(d)
    assert any("'fe' is not a language code such as en or fr" in p for p in found), found
    assert any("'ell' is not a language code such as en or fr (did you mean 'el'?)" in p for p in found), found
    (tmp_path / "ok").mkdir()
    ok = write(tmp_path / "ok", "asylum.yaml", "theme: asylum\ntitle: Asylum\nrules:\n"
                                               "  - id: a1\n    query: asile\n    languages: [fr, el, nl, pt]\n")
    assert load_themes(ok).get("asylum").rules[0].languages == ("fr", "el", "nl", "pt")


@pytest.mark.parametrize(("code", "meant"), [
    ("fe", "fr"),        # not 'mfe' (Morisyen): the common codes and those with a stemmer first
    ("ell", "el"), ("fre", "fr"), ("ger", "de"), ("spa", "es"),   # ISO 639-2
    ("FR", "fr"), ("english", "en"), ("German", "de"),             # case, names
    ("gr", "el"), ("sp", "es"), ("dk", "da"),                      # country codes
    ("nll", "nl"), ("itt", "it"),
])
def test_language_suggestions_prefer_the_languages_items_are_tagged_with(code, meant):
    from bot.config.fields import language_problem

    assert language_problem(code) == f"{code!r} is not a language code such as en or fr (did you mean {meant!r}?)"


def test_no_suggestion_when_nothing_is_close():
    from bot.config.fields import language_problem

    assert language_problem("xx") == "'xx' is not a language code such as en or fr"
    assert language_problem("fr") is None and language_problem("ast") is None


def test_a_lang_filter_with_an_unknown_language_is_placed_in_the_query(tmp_path):
    """`lang:fre` parsed and passed check, and no item is ever tagged `fre`."""
    d = write(tmp_path, "asylum.yaml", "theme: asylum\ntitle: Asylum\nrules:\n"
                                       "  - id: a1\n    query: 'asile AND (lang:fre OR lang:FR)'\n"
                                       "  - id: a2\n    query: asylum AND NOT lang:xx\n"
                                       "exclude: lang:ell\n")
    assert problems(d) == [
        "rules/asylum.yaml:5:29: lang: 'fre' is not a language code such as en or fr (did you mean 'fr'?)",
        "rules/asylum.yaml:7:32: lang: 'xx' is not a language code such as en or fr",
        "rules/asylum.yaml:8:15: lang: 'ell' is not a language code such as en or fr (did you mean 'el'?)",
    ]
