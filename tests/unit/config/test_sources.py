from pathlib import Path

import pytest

from bot.config.durations import parse_duration
from bot.config.sources import load_sources
from bot.errors import ConfigError
from support.paths import REPO



@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("1h30m", 5400), ("7d", 604800), ("90s", 90), (45, 45)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "abc", "5 minutes", "1x", "m5"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_every_problem_reported_with_place(tmp_path):
    d = write(tmp_path, """defaults:
  interval: 1m
  bogus: 1
sources:
  - id: Bad_ID
    url: ftp://x
  - id: ok
    url: https://a.org/
    colour: red
""")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        "sources.yaml:2:13: defaults.interval: must be at least 5m (got '1m')",
        "sources.yaml:3:3: defaults.bogus: unknown key",
        "sources.yaml:5:9: sources[0].id: must be a slug of a-z, 0-9 and '-' (got 'Bad_ID')",
        "sources.yaml:6:10: sources[0].url: must be an http or https URL (got 'ftp://x')",
        "sources.yaml:9:5: sources[1].colour: unknown key (did you mean 'country'?)",
    ]


def test_duplicate_ids_and_missing_html_selectors(tmp_path):
    d = write(tmp_path, """sources:
  - id: a
    url: https://a.org/
  - id: a
    url: https://b.org/
    type: html
""")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    lines = [str(p) for p in info.value.problems]
    assert lines[0].startswith("sources.yaml:4:9: sources[1].id: duplicate id 'a'")
    assert "type html needs html selectors" in lines[1]


def test_yaml_syntax_error_has_place(tmp_path):
    d = write(tmp_path, "sources:\n  - id: a\n    url: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    assert str(info.value.problems[0]).startswith("sources.yaml:")
    assert "YAML syntax" in str(info.value.problems[0])


def test_shipped_sources_file_is_valid():
    cfg = load_sources(REPO)
    assert len(cfg.sources) >= 1
    assert len({s.id for s in cfg.sources}) == len(cfg.sources)


def test_duplicate_ids_reported_together_with_schema_problems(tmp_path):
    d = write(tmp_path, """defaults:
  interval: 1m
sources:
  - id: a
    url: https://a.org/
    interval: 2m
  - id: b
    url: https://b.org/
  - id: a
    url: https://c.org/
    interval: 48h
  - id: b
    url: ftp://d
    type: html
""")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    assert [str(p) for p in info.value.problems] == [
        "sources.yaml:2:13: defaults.interval: must be at least 5m (got '1m')",
        "sources.yaml:6:15: sources[0].interval: must be at least 5m (got '2m')",
        "sources.yaml:9:9: sources[2].id: duplicate id 'a' (first at sources[0])",
        "sources.yaml:11:15: sources[2].interval: must be at most 24h (got '48h')",
        "sources.yaml:12:9: sources[3].id: duplicate id 'b' (first at sources[1])",
        "sources.yaml:12:5: sources[3].html: type html needs html selectors (item, title, link)",
        "sources.yaml:13:10: sources[3].url: must be an http or https URL (got 'ftp://d')",
    ]


def test_a_missing_file_is_named_by_its_full_path_with_the_config_dir(tmp_path):
    from bot.config.sources import load_sources
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_sources(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path}/sources.yaml: file not found (config dir: {tmp_path}; set --config-dir or NEWSBOT_CONFIG_DIR)"]
    (tmp_path / "sources.yaml").mkdir()
    with pytest.raises(ConfigError, match="sources.yaml: is a directory, not a file"):
        load_sources(tmp_path)


def test_source_country_is_an_iso_code_placed_when_wrong(tmp_path):
    d = write(tmp_path, """sources:
  - id: kathimerini
    url: https://a.org/
    country: gr
  - id: guardian
    url: https://b.org/
    country: UK
""")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    assert [str(p) for p in info.value.problems] == [
        "sources.yaml:7:14: sources[1].country: 'UK' is not an ISO 3166-1 country code such as "
        "GR or IT (did you mean 'GB'?) (got 'UK')",
    ]
    d = write(tmp_path, """sources:
  - id: kathimerini
    url: https://a.org/
    country: gr
  - id: other
    url: https://b.org/
""")
    cfg = load_sources(d)
    assert [s.country for s in cfg.sources] == ["GR", None]


def test_min_and_max_interval(tmp_path):
    cfg = load_sources(write(tmp_path, """defaults:
  interval: 30m
  max_interval: 12h
sources:
  - id: a
    url: https://a.org/
  - id: b
    url: https://b.org/
    interval: 1h
    min_interval: 15m
    max_interval: 24h
"""))
    a, b = cfg.get("a"), cfg.get("b")
    assert (cfg.min_interval(a), cfg.max_interval(a)) == (parse_duration("5m"), parse_duration("12h"))
    assert (cfg.min_interval(b), cfg.max_interval(b)) == (parse_duration("15m"), parse_duration("24h"))
    # without max_interval a source is never polled slower than its interval
    plain = load_sources(write(tmp_path, "sources:\n  - id: a\n    url: https://a.org/\n"))
    assert plain.max_interval(plain.get("a")) is None


def test_interval_order_problems_are_placed(tmp_path):
    d = write(tmp_path, """defaults:
  interval: 1h
  max_interval: 30m
sources:
  - id: a
    url: https://a.org/
    max_interval: 45m
  - id: b
    url: https://b.org/
    interval: 2h
    min_interval: 3h
    max_interval: 2h
  - id: c
    url: https://c.org/
    max_interval: 25h
""")
    with pytest.raises(ConfigError) as info:
        load_sources(d)
    assert [str(p) for p in info.value.problems] == [
        "sources.yaml:3:17: defaults.max_interval: must be at least the interval (1h), got 30m",
        "sources.yaml:7:19: sources[0].max_interval: must be at least the interval (1h), got 45m",
        "sources.yaml:11:19: sources[1].min_interval: must be at most the interval (2h), got 3h",
        "sources.yaml:15:19: sources[2].max_interval: must be at most 24h (got '25h')",
    ]
