"""`newsbot rules backtest` for tuning: `--theme`, `--against DIR` (hits gained and lost, item
by item) and rules without hits hidden unless `--all`, through the real CLI with the fixture
theme files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from support.paths import FIXTURES

FIXTURE = FIXTURES / "ruleset"

ITEMS = [
    {"id": "a", "title": "Pushbacks near Greece reported", "lang": "en"},
    {"id": "b", "title": "Pushbacks near Bulgaria reported", "lang": "en"},
    {"id": "c", "title": "Asylum seekers in detention", "lang": "en"},
    {"id": "d", "title": "Refugees held in a camp", "lang": "en"},
    {"id": "e", "title": "Markets fall", "lang": "en"},
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(x) for x in ITEMS), encoding="utf-8")
    return tmp_path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(config), "rules", "backtest", "--file",
                                    str(config / "items.jsonl"), *args],
                              env={"DATABASE_URL": f"sqlite:///{config / 'nb.db'}"})


def test_theme_option(config):
    rep = json.loads(run(config, "--theme", "pushbacks", "--format", "json").output)
    assert [t["theme"] for t in rep["themes"]] == ["pushbacks"]
    assert rep["items_hit"] == 1 and "fx-detention-en" not in rep["rules_without_hits"]
    r = run(config, "--theme", "pushback")
    assert r.exit_code == 2 and "no theme 'pushback' in rules/ (did you mean 'pushbacks'?)" in r.output


def test_rules_without_hits_hidden_unless_all(config):
    text = run(config).output
    assert "fx-pushback-near" in text and "fx-pushback-el" not in text and "fx-detention-fr" not in text
    assert "rules without hits: 3 (--all lists them)" in text
    every = run(config, "--all").output
    assert "fx-pushback-el" in every
    assert "rules without hits: fx-detention-fr, fx-pushback-el, fx-pushback-title" in every
    # JSON, for scripts, keeps every rule
    rep = json.loads(run(config, "--format", "json").output)
    assert {r["rule"] for t in rep["themes"] for r in t["rules"]} >= {"fx-pushback-el", "fx-detention-fr"}


def test_against_another_rules_directory(config, tmp_path):
    """The baseline (--against) lacks Bulgaria and is broader on detention: the current rules
    gain item b for pushbacks and lose item d for detention."""
    base = tmp_path / "base-rules"
    shutil.copytree(config / "rules", base)
    push = config / "rules" / "pushbacks.yaml"
    push.write_text(push.read_text(encoding="utf-8").replace("(Greece OR Croatia OR Poland)",
                                                             "(Greece OR Croatia OR Poland OR Bulgaria)"),
                    encoding="utf-8")
    det = base / "detention.yaml"
    det.write_text(det.read_text(encoding="utf-8").replace("(detention OR detained", "(held OR detention OR detained"),
                   encoding="utf-8")
    r = run(config, "--against", str(base), "--format", "json")
    assert r.exit_code == 0, r.output
    against = json.loads(r.output)["against"]
    assert [(g["id"], g["theme"], g["rules"]) for g in against["gained"]] == [("b", "pushbacks", ["fx-pushback-near"])]
    assert [(x["id"], x["theme"], x["rules"]) for x in against["lost"]] == [("d", "detention", ["fx-detention-en"])]
    themes = {t["theme"]: t for t in against["themes"]}
    assert themes["pushbacks"] == {"theme": "pushbacks", "hits": 2, "hits_against": 1, "gained": 1, "lost": 0}
    assert themes["detention"] == {"theme": "detention", "hits": 1, "hits_against": 2, "gained": 0, "lost": 1}

    text = run(config, "--against", str(base)).output
    assert f"against {base}: 1 hits gained, 1 lost" in text
    assert "  + pushbacks [en] b: Pushbacks near Bulgaria reported (fx-pushback-near)" in text
    assert "  - detention [en] d: Refugees held in a camp (fx-detention-en)" in text
    assert text.index("against") < text.index("pushbacks (high)")
    # a configuration directory with a rules/ inside works too; --theme applies to both sides
    only = json.loads(run(config, "--against", str(config), "--theme", "detention", "--format", "json").output)
    assert only["against"]["gained"] == [] and [t["theme"] for t in only["against"]["themes"]] == ["detention"]


def test_against_a_broken_rules_directory_is_a_config_error(config, tmp_path):
    base = tmp_path / "broken"
    base.mkdir()
    (base / "x.yaml").write_text("theme: y\ntitle: T\nrules:\n  - id: r\n    query: '(a'\n", encoding="utf-8")
    r = run(config, "--against", str(base))
    assert r.exit_code == 2 and "x.yaml" in r.output
