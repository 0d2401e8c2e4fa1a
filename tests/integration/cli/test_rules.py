"""`newsbot rules test`, `rules backtest` and `check` on rules/, through the real CLI, with the
fixture theme files and a real SQLite database for the backtest of stored items."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from support.paths import FIXTURES
from support.terminal import run_with_stderr_on_terminal

FIXTURE = FIXTURES / "ruleset"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return tmp_path


def run(config: Path, *args: str):
    result = CliRunner().invoke(cli, ["--config-dir", str(config), *args],
                                env={"DATABASE_URL": f"sqlite:///{config / 'nb.db'}"})
    return result


def test_rules_test_text_output(config):
    r = run(config, "rules", "test", "Three migrants held in the detention centre", "--title", "Pushbacks in Greece",
            "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "theme pushbacks (high): rules fx-pushback-near" in r.output
    assert "matched pushback NEAR Greece, in title" in r.output
    assert "theme detention (normal)" in r.output
    assert r.output.index("pushbacks") < r.output.index("detention")


def test_rules_test_json(config):
    r = run(config, "rules", "test", "Le centre de rétention de Vincennes: des demandeurs d'asile",
            "--lang", "fr", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["themes"] == ["detention"] and out["rules"] == ["fx-detention-fr"]
    (e,) = out["explanations"]
    assert e["field"] == "text" and e["terms"] == ["centre de rétention", "asile"]
    assert e["description"] == '("centre de rétention" OR rétention) AND asile, in text'
    assert "Vincennes" in e["snippet"]


def test_rules_test_no_match_and_exclude(config):
    r = run(config, "rules", "test", "Migrants in detention watched the football final", "--lang", "en")
    assert r.exit_code == 0 and "no theme matches" in r.output


def test_rules_test_source_and_tags(config):
    r = run(config, "rules", "test", "--title", "Push-backs continue", "--source", "ngo-feed", "--format", "json")
    assert json.loads(r.output)["rules"] == ["fx-pushback-title"]
    r = run(config, "rules", "test", "--title", "Push-backs continue", "--source", "other", "--format", "json")
    assert json.loads(r.output)["rules"] == []


def test_rules_test_batch_file_in_order(config, tmp_path):
    lines = [
        {"id": "a", "title": "Pushbacks on the border with Croatia", "text": "", "lang": "en"},
        {"title": "Weather", "text": "Sunny"},
        {"id": 3, "title": "Νέες επαναπροωθήσεις στον Έβρο", "text": "", "lang": "el"},
        {"title": "Centre de rétention", "summary": "Des migrants enfermés en France", "lang": "fr"},
        # no lang: detected, so the French-only rule can fire (unknown, it never would)
        {"title": "Le centre de rétention administrative de Vincennes",
         "text": "Des demandeurs d'asile y sont enfermés depuis des semaines, dénoncent les associations."},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    r = run(config, "rules", "test", "--file", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    out = [json.loads(line) for line in r.output.splitlines()]
    assert len(out) == 5
    assert out[0]["id"] == "a" and out[0]["themes"] == ["pushbacks"] and out[0]["countries"] == ["HR"]
    assert out[0]["regions"] == ["Europe"]
    assert out[1]["themes"] == [] and out[1]["explanations"] == []
    assert out[2]["id"] == 3 and out[2]["rules"] == ["fx-pushback-el"]
    assert out[3]["rules"] == ["fx-detention-fr"] and "FR" in out[3]["countries"]
    assert out[4]["language"] == "fr" and out[4]["rules"] == ["fx-detention-fr"]
    for o in out:
        assert set(o) >= {"themes", "rules", "countries", "regions", "explanations"}


def test_rules_test_bad_jsonl_line(config, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok"}\n{not json\n', encoding="utf-8")
    r = run(config, "rules", "test", "--file", str(path), "--format", "json")
    assert r.exit_code == 2
    assert "bad.jsonl:2: not valid JSON" in r.output


def test_rules_test_needs_input(config):
    r = run(config, "rules", "test")
    assert r.exit_code == 2 and "give a TEXT" in r.output


def test_backtest_on_file(config, tmp_path):
    rows = [{"id": i, "title": t, "lang": "en"} for i, t in enumerate([
        "Pushbacks near Greece reported", "Greece pushback", "Markets fall", "Detention of asylum seekers",
        "Asylum seekers in detention watched football"])]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in rows), encoding="utf-8")
    r = run(config, "rules", "backtest", "--file", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["items"] == 5 and rep["items_hit"] == 3 and rep["share_hit"] == 0.6
    themes = {t["theme"]: t for t in rep["themes"]}
    assert themes["pushbacks"]["hits"] == 2 and themes["pushbacks"]["by_language"] == {"en": 2}
    assert {r["rule"]: r["hits"] for r in themes["pushbacks"]["rules"]}["fx-pushback-near"] == 2
    assert themes["detention"]["hits"] == 1 and themes["detention"]["excluded"] == 1
    assert [s["id"] for s in themes["pushbacks"]["samples"]] == [0, 1]
    assert themes["pushbacks"]["samples"][0]["matched"] == "pushback NEAR Greece, in title"
    assert "fx-detention-fr" in rep["rules_without_hits"]
    r = run(config, "rules", "backtest", "--file", str(path))
    assert r.exit_code == 0 and "5 items" in r.output and "pushbacks (high): 2 hits (40.0%)" in r.output
    # a line without lang is detected, as the pipeline does
    path.write_text(json.dumps({"title": "Le centre de rétention administrative de Vincennes",
                                "text": "Des demandeurs d'asile y sont enfermés depuis des semaines."},
                               ensure_ascii=False), encoding="utf-8")
    rep = json.loads(run(config, "rules", "backtest", "--file", str(path), "--format", "json").output)
    assert rep["items_hit"] == 1 and "fx-detention-fr" not in rep["rules_without_hits"]


def test_backtest_on_stored_items(config):
    from sqlalchemy import insert

    from bot.storage.db import open_database
    from bot.storage.schema import items

    engine = open_database(f"sqlite:///{config / 'nb.db'}")
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        for i, (title, lang, age) in enumerate([("Pushbacks in Croatia", "en", 1), ("Football", "en", 1),
                                                ("Pushbacks in Poland", "en", 40)]):
            conn.execute(insert(items).values(source_id="s", guid=str(i), url=f"https://x/{i}", title=title,
                                              language=lang, first_seen_at=now - timedelta(days=age)))
    engine.dispose()
    r = run(config, "rules", "backtest", "--since", "30d", "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["items"] == 2 and rep["items_hit"] == 1
    r = run(config, "rules", "backtest", "--since", "60d", "--format", "json")
    assert json.loads(r.output)["items_hit"] == 2
    r = run(config, "rules", "backtest", "--since", "soon")
    assert r.exit_code == 2


def test_check_reports_rule_problems(config):
    (config / "rules" / "broken.yaml").write_text(
        "theme: broken\ntitle: B\nrules:\n  - id: b1\n    query: '(a OR b'\n", encoding="utf-8")
    r = run(config, "check")
    assert r.exit_code == 1
    assert "rules/broken.yaml:5:20: expected ')' to close '(' at 5:13" in r.output


def test_rules_config_error_exits_2(config):
    (config / "rules" / "broken.yaml").write_text("theme: nope\ntitle: B\nrules:\n  - id: b1\n    query: a\n",
                                                  encoding="utf-8")
    r = run(config, "rules", "test", "x")
    assert r.exit_code == 2
    assert "rules/broken.yaml:1:8: theme: 'nope' must equal the file name 'broken'" in r.output


@pytest.mark.parametrize("command,where", [(["rules", "test", "Pushbacks near Greece reported", "--lang", "en"], 2),
                                           (["rules", "test", "Pushbacks near Greece reported", "--lang", "en"], 1),
                                           (["rules", "backtest"], 2), (["check"], 1)])
def test_config_dir_after_the_command(config, tmp_path, monkeypatch, command, where):
    """SPEC: every command takes --config-dir, after its name as well as before it. Run
    from another directory, so the current one (the default) cannot stand in for it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("NEWSBOT_CONFIG_DIR", raising=False)
    # after the command's name (where=2: `rules test --config-dir D ...`), or after the
    # group's (where=1: `rules --config-dir D test ...`)
    args = [*command[:where], "--config-dir", str(config), *command[where:]]
    result = CliRunner().invoke(cli, args, env={"DATABASE_URL": f"sqlite:///{config / 'nb.db'}"})
    assert result.exit_code == 0, result.output
    assert "pushbacks" in result.output or command == ["check"]
    # the same command without it reads the current directory, where there is no config
    without = CliRunner().invoke(cli, command, env={"DATABASE_URL": f"sqlite:///{config / 'nb.db'}"})
    assert "pushbacks" not in without.output and (without.exit_code != 0 or command != ["check"])


def test_backtest_shows_progress_on_a_terminal_only(config, tmp_path):
    """SPEC: long work shows progress on a terminal and stays quiet when not on one. The
    real command in a subprocess, its stderr once a pseudo-terminal, once a pipe."""
    import os
    import subprocess
    import sys

    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps({"title": f"Pushbacks near Greece {i}", "lang": "en"})
                              for i in range(1200)), encoding="utf-8")
    newsbot = str(Path(sys.executable).with_name("newsbot"))   # the installed console script
    cmd = [newsbot, "--config-dir", str(config), "rules", "backtest", "--file", str(path)]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{config / 'nb.db'}"}

    proc, on_terminal = run_with_stderr_on_terminal(cmd, env)
    assert proc.returncode == 0, proc.stdout
    assert b"1200 items matched" in on_terminal and b"500 items matched" in on_terminal

    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0 and b"items matched" not in piped.stderr
    assert b"1200 items" in piped.stdout


@pytest.mark.parametrize(("lang", "said"), [
    ("fre", "'fre' is not a language code such as en or fr (did you mean 'fr'?)"),
    ("xx", "'xx' is not a language code such as en or fr"),
])
def test_rules_test_rejects_an_unknown_lang(config, lang, said):
    """`--lang fre` matched nothing, silently (no item is tagged `fre`)."""
    r = run(config, "rules", "test", "Le centre de rétention", "--lang", lang)
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--lang'" in r.output and said in r.output
