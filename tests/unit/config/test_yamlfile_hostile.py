"""Hostile or broken configuration: every case a placed `file:line:col` problem, never a
traceback or a crash, and the live reload keeps its last good configuration.

The deep-nesting cases run in a child process: without the nesting check the C loader
overflows the stack and the process dies of SIGSEGV, which must fail the test, not pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.config.deliveries import load_deliveries
from bot.config.durations import parse_duration
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.config.yamlfile import MAX_NESTING, load_yaml_text
from bot.errors import ConfigError
from bot.match import compile_query
from bot.match.query import MAX_DEPTH, QuerySyntaxError

GOOD_SOURCES = "sources:\n  - id: one\n    url: https://one.example.org/feed\n"


def problems_of(loader, config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loader(config_dir)
    return [str(p) for p in info.value.problems]


def run_child(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fast", [True, False])
def test_brackets_nested_30000_deep_are_a_placed_error_not_a_segfault(tmp_path, fast):
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 30_000, encoding="utf-8")
    done = run_child(f"""
        from pathlib import Path
        from bot.config.yamlfile import load_yaml_text
        from bot.errors import ConfigError
        try:
            load_yaml_text(Path("deep.yaml").read_text(), "deep.yaml", fast={fast})
        except ConfigError as exc:
            print(exc)
        """, tmp_path)
    assert done.returncode == 0, f"the loader died (rc {done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == (f"deep.yaml:1:{3 + MAX_NESTING}: YAML: nested too deep "
                                   f"(more than {MAX_NESTING} levels of lists and mappings)")


def test_a_live_edit_nested_30000_deep_keeps_the_last_good_config(tmp_path):
    (tmp_path / "sources.yaml").write_text(GOOD_SOURCES, encoding="utf-8")
    done = run_child("""
        import os
        from pathlib import Path
        from bot.runtime.reload import ConfigWatcher, load_config
        watcher = ConfigWatcher(Path("."), load_config(Path(".")))
        path = Path("sources.yaml")
        path.write_text("sources: " + "[" * 30000, encoding="utf-8")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert watcher.check() is None
        print([s.id for s in watcher.current.sources.sources])
        print(watcher.last_error)
        """, tmp_path)
    assert done.returncode == 0, f"the watcher died (rc {done.returncode}): {done.stderr[-500:]}"
    kept, error = done.stdout.strip().splitlines()
    assert kept == "['one']"
    assert error.startswith(f"sources.yaml:1:{9 + MAX_NESTING}: YAML: nested too deep")


@pytest.mark.parametrize("text,place", [
    ("a: " + "[" * 3000 + "]" * 3000, "1:103"),
    ("a: " + "{b: " * 3000 + "}" * 3000, "1:400"),
    ("".join(" " * i + "a:\n" for i in range(3000)), "101:101"),
    ("- " * 3000 + "x\n", "1:201"),
])
@pytest.mark.parametrize("fast", [True, False])
def test_3000_levels_of_nesting_are_placed(text, place, fast):
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, "x.yaml", fast=fast)
    assert str(info.value).startswith(f"x.yaml:{place}: YAML: nested too deep")


def test_nesting_up_to_the_limit_loads():
    # the top mapping is the first level
    text = "a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1)
    assert load_yaml_text(text, "x.yaml")["a"] is not None
    assert load_yaml_text(text, "x.yaml", fast=True)["a"] is not None


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x00", "\x7f", "\x9b"])
def test_control_characters_are_placed(tmp_path, char):
    (tmp_path / "sources.yaml").write_text(GOOD_SOURCES.replace("one.example", f"o{char}ne.example"),
                                           encoding="utf-8")
    (found,) = problems_of(load_sources, tmp_path)
    assert found.startswith(f"sources.yaml:3:19: YAML syntax: character U+{ord(char):04X} is not allowed")


def test_control_characters_in_rules_and_deliveries_are_placed(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_text("theme: x\ntitle: X\x1b[31m\n", encoding="utf-8")
    (tmp_path / "deliveries.yaml").write_text("timezone: UTC\n\n  \x07\n", encoding="utf-8")
    (found,) = problems_of(load_themes, tmp_path)
    assert found.startswith("rules/x.yaml:2:9: YAML syntax: character U+001B")
    (found,) = problems_of(load_deliveries, tmp_path)
    assert found.startswith("deliveries.yaml:3:3: YAML syntax: character U+0007")


@pytest.mark.parametrize("value,message", [
    (".inf", "too long: at most 100 years (got inf)"),
    ("-.inf", "must not be negative (got -inf)"),
    (".nan", "expected a duration such as 30m, 1h or 7d (got nan)"),
    ("10e23", "too long: at most 100 years (got 1e+24)"),
    ("10e23h", "expected a duration such as 30m, 1h or 7d (got '10e23h')"),
    ("1000000000000000000000000h", "too long: at most 100 years (got '1000000000000000000000000h')"),
    ("-300", "must not be negative (got -300)"),
])
def test_hostile_intervals_are_placed(tmp_path, value, message):
    (tmp_path / "sources.yaml").write_text(f"defaults:\n  interval: {value}\n" + GOOD_SOURCES, encoding="utf-8")
    assert problems_of(load_sources, tmp_path) == [f"sources.yaml:2:13: defaults.interval: {message}"]


@pytest.mark.parametrize("value", [float("inf"), 10**400, 1e300, "99999999999999999999w"])
def test_parse_duration_refuses_what_timedelta_cannot_hold(value):
    with pytest.raises(ValueError, match="too long"):
        parse_duration(value)


@pytest.mark.parametrize("key,value,message", [
    ("timeout", "0s", "must be between 1s and 10m (got '0s')"),
    ("timeout", "-1", "must not be negative (got -1)"),
    ("timeout", "1h", "must be between 1s and 10m (got '1h')"),
    ("max_size", "-1", "must be between 1KB and 1024MB (got -1)"),
    ("max_size", "0", "must be between 1KB and 1024MB (got 0)"),
    ("max_size", "5000MB", "must be between 1KB and 1024MB (got '5000MB')"),
])
def test_timeouts_and_size_caps_that_would_fail_every_poll_are_refused(tmp_path, key, value, message):
    (tmp_path / "sources.yaml").write_text(f"defaults:\n  {key}: {value}\n" + GOOD_SOURCES, encoding="utf-8")
    col = len(f"  {key}: ") + 1
    assert problems_of(load_sources, tmp_path) == [f"sources.yaml:2:{col}: defaults.{key}: {message}"]


def test_sane_timeouts_and_sizes_load(tmp_path):
    (tmp_path / "sources.yaml").write_text("defaults:\n  timeout: 1s\n  max_size: 1KB\n" + GOOD_SOURCES,
                                           encoding="utf-8")
    assert load_sources(tmp_path).defaults.max_size == 1024


@pytest.mark.parametrize("query", [
    "(" * 200 + "migrants" + ")" * 200,
    "NOT " * 200 + "migrants",
    "title:(" * 200 + "migrants" + ")" * 200,
])
def test_queries_nested_200_deep_are_syntax_errors(query):
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(query)
    assert "nested too deep" in str(info.value)
    assert query[info.value.pos] in "(N", "the offset points at the level that is one too many"


def test_queries_nested_to_the_limit_compile():
    compile_query("(" * MAX_DEPTH + "migrants" + ")" * MAX_DEPTH)
    compile_query("NOT " * MAX_DEPTH + "migrants")


def test_a_rule_nested_200_deep_is_placed_in_its_file(tmp_path):
    (tmp_path / "rules").mkdir()
    query = "(" * 200 + "a" + ")" * 200
    (tmp_path / "rules" / "x.yaml").write_text(
        f"theme: x\ntitle: X\nrules:\n  - id: deep\n    query: '{query}'\n", encoding="utf-8")
    (found,) = problems_of(load_themes, tmp_path)
    assert found == f"rules/x.yaml:5:{13 + MAX_DEPTH}: nested too deep: more than {MAX_DEPTH} levels of parentheses and NOT"


# Found by tests/unit/config/test_yamlfile_properties.py: each was a traceback or a problem without a place.

def test_a_tagged_empty_document_is_a_placed_problem_not_a_type_error(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_text("![", encoding="utf-8")
    assert problems_of(load_themes, tmp_path) == ["rules/x.yaml:1:1: must be a mapping of keys"]


@pytest.mark.parametrize("text", ["", "|", "just text\n"])
def test_an_empty_or_scalar_document_is_placed_at_its_start(tmp_path, text):
    (tmp_path / "deliveries.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_text(text, encoding="utf-8")
    assert all(p.startswith("rules/x.yaml:1:1: ") for p in problems_of(load_themes, tmp_path))
    if text.strip():
        (found,) = problems_of(load_deliveries, tmp_path)
        assert found.startswith("deliveries.yaml:1:1: must be a mapping of keys")


def test_bytes_that_are_not_utf8_are_placed_at_the_first_bad_one(tmp_path):
    (tmp_path / "sources.yaml").write_bytes(b"sources:\n  - id: caf\xe9\n")
    assert problems_of(load_sources, tmp_path) == ["sources.yaml:2:12: not UTF-8 text (invalid continuation byte)"]
