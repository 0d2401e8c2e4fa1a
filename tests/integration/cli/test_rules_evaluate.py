"""`newsbot rules evaluate --file` through the real CLI with the fixture theme files: the
summary tables first, misses with near misses and false alarms with what matched, filters,
thresholds (exit 1), malformed lines (exit 2 at FILE:LINE), progress on a terminal only, and
output piped into a reader that stops early."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from support.paths import FIXTURES
from support.terminal import run_with_stderr_on_terminal

FIXTURE = FIXTURES / "ruleset"

LABELLED = [
    {"id": "p1", "title": "Pushbacks near Greece reported", "lang": "en", "themes": ["pushbacks"]},
    {"id": "p2", "title": "Pushbacks continue at the border, says a long report published on Monday by NGOs about Greece",
     "lang": "en", "themes": ["pushbacks"], "note": "ignored"},
    {"id": "d1", "title": "Asylum seekers in detention", "lang": "en", "themes": ["detention"]},
    {"id": "d2", "title": "Migrants in detention watched the football final", "lang": "en", "themes": ["detention"]},
    {"id": "o1", "title": "Refugee detained by police after a theft", "lang": "en", "themes": []},
    {"id": "o2", "title": "Markets fall", "lang": "en", "themes": [], "origin": "news"},
    # no lang: detected (fr), so the French-only rule can fire
    {"id": "f1", "title": "Le centre de rétention administrative de Vincennes",
     "text": "Des demandeurs d'asile y sont enfermés depuis des semaines, dénoncent les associations.",
     "themes": ["detention"]},
    {"title": "Νέες επαναπροωθήσεις στον Έβρο", "lang": "el", "themes": ["pushbacks"]},
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "rules", tmp_path / "rules")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in LABELLED) + "\n\n", encoding="utf-8")
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(config), "rules", "evaluate", *args],
                              env={"DATABASE_URL": f"sqlite:///{config / 'nb.db'}"})


def test_summary_tables_first_then_nothing_listed(config, labelled):
    r = run(config, "--file", str(labelled))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"8 items ({labelled}): 6 on-topic, 2 off-topic"
    assert lines[1].startswith("micro P 0.800  R 0.667  F1 0.727   macro F1 0.733")
    assert "off-topic alarms 1/2 (50.0%)" in lines[1]
    assert "detention              3     2     1     1  0.667  0.667  0.667" in lines
    assert "pushbacks              3     2     0     1  1.000  0.667  0.800" in lines
    assert "el             1        1      1  1.000         0      0      -" in lines
    assert "en             6        4      2  0.500         2      1  50.0%" in lines
    assert "fr             1        1      1  1.000         0      0      -" in lines
    assert lines.index("language   items on-topic  found recall off-topic alarms   rate") > lines.index(
        "theme                pos    tp    fp    fn   prec recall     F1")
    assert "misses" not in r.output and "false alarms" not in r.output


def test_show_all_lists_misses_with_near_misses_and_false_alarms(config, labelled):
    r = run(config, "--file", str(labelled), "--show", "all")
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.index("language   items") < out.index("misses (2 items):") < out.index("false alarms (1 items):")
    assert "- p2 [en] Pushbacks continue" in out
    assert ("fx-pushback-near: found Pushbacks (pushback), Greece; but Pushbacks (pushback) and Greece are 14 "
            "words apart (NEAR/5)") in out
    assert "- d2 [en] Migrants in detention watched the football final" in out
    assert "fx-detention-en: matched, but the theme's exclude drops it (football)" in out
    assert "- o1 [en] Refugee detained by police after a theft" in out
    assert "gold: none (off-topic)" in out
    assert "hit detention by fx-detention-en: matched detained AND refugee, in title" in out
    limited = run(config, "--file", str(labelled), "--show", "misses", "--limit", "1").output
    assert "misses (2 items, showing 1):" in limited and "- p2" in limited and "- d2" not in limited
    assert "false alarms" not in limited


def test_json_filters_and_lists(config, labelled):
    r = run(config, "--file", str(labelled), "--format", "json", "--show", "misses", "--theme", "pushbacks")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [t["theme"] for t in out["themes"]] == ["pushbacks"]
    assert out["micro"] == {"tp": 2, "fp": 0, "fn": 1, "positives": 3, "precision": 1.0, "recall": 0.6667, "f1": 0.8}
    (miss,) = out["misses"]
    assert miss["id"] == "p2" and miss["gold"] == ["pushbacks"] and miss["hit"] == []
    (theme,) = miss["missed"]
    assert theme["theme"] == "pushbacks" and theme["near_misses"][0]["rule"] == "fx-pushback-near"
    assert theme["near_misses"][0]["found"] == ["Pushbacks (pushback)", "Greece"]
    assert "false_alarms" not in out
    en = json.loads(run(config, "--file", str(labelled), "--format", "json", "--lang", "en").output)
    assert en["items"] == 6 and [x["language"] for x in en["languages"]] == ["en"]
    fr = json.loads(run(config, "--file", str(labelled), "--format", "json", "--lang", "fr", "--lang", "el").output)
    assert fr["items"] == 2 and fr["micro"]["recall"] == 1.0


def test_thresholds_exit_1_and_say_which_failed(config, labelled):
    r = run(config, "--file", str(labelled), "--min-recall", "0.6", "--min-f1", "0.9", "--max-alarms", "0.6")
    assert r.exit_code == 1
    assert "threshold ok: micro recall 0.667 (needs >= 0.6, --min-recall)" in r.stdout
    assert "threshold FAILED: micro F1 0.727 (needs >= 0.9, --min-f1)" in r.stderr
    assert "min-recall" not in r.stderr and r.stdout.startswith("8 items")
    r = run(config, "--file", str(labelled), "--max-alarms", "0.4", "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["thresholds"][0]["ok"] is False
    assert "off-topic alarm rate 0.500 (needs <= 0.4, --max-alarms)" in r.stderr
    assert run(config, "--file", str(labelled), "--min-recall", "0.6", "--max-alarms", "0.5").exit_code == 0


@pytest.mark.parametrize(("line", "said"), [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected a JSON object with title, text and themes"),
    ('{"title": "x"}', 'no "themes": give the gold theme slugs, or [] for an off-topic item'),
    ('{"title": "x", "themes": "pushbacks"}', '"themes" must be a list of theme slugs, got a string'),
    ('{"title": "x", "themes": ["pushback"]}', "unknown theme 'pushback' (did you mean 'pushbacks'?)"),
    ('{"title": "x", "lang": "fre", "themes": []}', "\"lang\": 'fre' is not a language code such as en or fr"),
])
def test_a_malformed_line_is_an_error_at_its_line(config, tmp_path, line, said):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "Pushbacks near Greece", "lang": "en", "themes": ["pushbacks"]}\n\n' + line + "\n",
                    encoding="utf-8")
    r = run(config, "--file", str(path))
    assert r.exit_code == 2, r.output
    assert f"Error: {path}:3: {said}" in r.stderr
    assert r.stdout == ""  # nothing measured on a file that cannot be read as gold


def test_needs_one_source(config, labelled):
    assert "give --file LABELLED.jsonl or --from-feedback" in run(config).output
    r = run(config, "--file", str(labelled), "--from-feedback")
    assert r.exit_code == 2 and "one of them" in r.output
    r = run(config, "--file", str(labelled), "--since", "30d")
    assert r.exit_code == 2 and "--since goes with --from-feedback" in r.output
    r = run(config, "--file", str(labelled), "--theme", "pushbakcs")
    assert r.exit_code == 2 and "no theme 'pushbakcs' in rules/ (did you mean 'pushbacks'?)" in r.output


def _newsbot() -> str:
    return str(Path(sys.executable).with_name("newsbot"))   # the installed console script


def test_progress_on_a_terminal_only(config, tmp_path):
    """SPEC: long work shows progress on a terminal and stays quiet when not on one."""
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps({"title": f"Pushbacks near Greece {i}", "lang": "en", "themes": ["pushbacks"]})
                              for i in range(1200)), encoding="utf-8")
    cmd = [_newsbot(), "--config-dir", str(config), "rules", "evaluate", "--file", str(path)]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{config / 'nb.db'}"}
    proc, on_terminal = run_with_stderr_on_terminal(cmd, env)
    assert proc.returncode == 0, proc.stdout
    assert b"1200 items evaluated" in on_terminal and b"500 items evaluated" in on_terminal
    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == b""
    assert piped.stdout.startswith(b"1200 items")


@pytest.mark.parametrize("command", [
    ["rules", "test", "--format", "json"],
    ["rules", "evaluate", "--show", "all"],
    ["rules", "backtest", "--samples", "100", "--all"],
])
def test_output_piped_into_a_reader_that_stops_early(config, tmp_path, command):
    """`newsbot ... | head -1`: the command stops quietly, no traceback and no `Error:` line
    (it used to print `Error: unexpected BrokenPipeError` or Python's `Exception ignored`).
    A real pipe: the reader takes one line and closes its end while output is still coming."""
    path = tmp_path / "many.jsonl"
    rows = [{"id": i, "title": f"Pushbacks near Greece, {'report ' * 30}{i}", "lang": "en",
             "themes": [] if i % 2 else ["detention"]} for i in range(3000)]
    path.write_text("\n".join(json.dumps(x) for x in rows), encoding="utf-8")
    cmd = [_newsbot(), "--config-dir", str(config), *command, "--file", str(path)]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{config / 'nb.db'}"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.stderr.close()
    proc.wait(timeout=120)
    assert first.strip()
    assert stderr == b"", stderr.decode(errors="replace")
    assert proc.returncode in (0, 1)  # 1: click's quiet exit when the reader went away
