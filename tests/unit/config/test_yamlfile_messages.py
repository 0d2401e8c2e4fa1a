"""How schema problems read: pydantic's default wording is replaced by plain words (by
error type, in one place), the value is shown once, and an unknown key gets a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.deliveries import load_deliveries
from bot.config.sources import load_sources
from bot.config.themes import load_themes
from bot.errors import ConfigError


def problems(loader, config_dir: Path) -> list[str]:  # noqa: ANN001
    with pytest.raises(ConfigError) as info:
        loader(config_dir)
    return [str(p) for p in info.value.problems]


def test_the_value_is_shown_once(tmp_path: Path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: a\n    url: https://example.org/\n    interval: 15 minutes\n", encoding="utf-8")
    assert problems(load_sources, tmp_path) == [
        "sources.yaml:4:15: sources[0].interval: expected a duration such as 30m, 1h or 7d (got '15 minutes')"]


def test_pydantic_wording_is_replaced_by_plain_words(tmp_path: Path):
    (tmp_path / "sources.yaml").write_text(
        "defaults:\n  max_redirects: many\n  per_host: 0\nsources:\n"
        "  - id: a\n    url: https://example.org/\n    weight: 0\n    enabled: perhaps\n    type: rss\n",
        encoding="utf-8")
    assert problems(load_sources, tmp_path) == [
        "sources.yaml:2:18: defaults.max_redirects: must be a whole number (got 'many')",
        "sources.yaml:3:13: defaults.per_host: must be at least 1 (got 0)",
        "sources.yaml:7:13: sources[0].weight: must be greater than 0 (got 0)",
        "sources.yaml:8:14: sources[0].enabled: must be true or false (got 'perhaps')",
        "sources.yaml:9:11: sources[0].type: must be 'auto', 'feed' or 'html' (got 'rss')",
    ]


def test_empty_strings_lists_and_patterns(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "t.yaml").write_text("theme: t\ntitle: T\nrules: []\n", encoding="utf-8")
    (tmp_path / "rules" / "u.yaml").write_text("theme: u\ntitle: T\nrules:\n  - id: u-1\n    query: ''\n",
                                               encoding="utf-8")
    assert problems(load_themes, tmp_path) == [
        "rules/t.yaml:3:1: rules: needs at least one entry",
        # not also `rules: needs at least one entry`: the one entry's own problem says it
        "rules/u.yaml:5:12: rules[0].query: must not be empty",
    ]
    (tmp_path / "deliveries.yaml").write_text(
        "email:\n  weekly:\n    lists:\n      - name: Members\n        to: [a@example.org]\n", encoding="utf-8")
    assert problems(load_deliveries, tmp_path) == [
        "deliveries.yaml:4:15: email.weekly.lists[0].name: must be a slug of a-z, 0-9 and '-' (got 'Members')"]


def test_no_raw_pydantic_wording_is_left(tmp_path: Path):
    (tmp_path / "sources.yaml").write_text(
        "defaults: [1]\nsources:\n  - id: 5\n    url: https://example.org/\n    tags: x\n  - 7\n",
        encoding="utf-8")
    found = problems(load_sources, tmp_path)
    assert found and not any("should" in m or "Input" in m for m in found), found


def test_an_unknown_key_suggests_a_close_known_one(tmp_path: Path):
    (tmp_path / "sources.yaml").write_text(
        "defualts:\n  interval: 1h\nsources:\n  - id: a\n    url: https://example.org/\n    weigth: 2\n"
        "    html:\n      item: li\n      titel: h2\n      link: a\n      title: h2\n    zzz: 1\n",
        encoding="utf-8")
    assert problems(load_sources, tmp_path) == [
        "sources.yaml:1:1: defualts: unknown key (did you mean 'defaults'?)",
        "sources.yaml:6:5: sources[0].weigth: unknown key (did you mean 'weight'?)",
        "sources.yaml:9:7: sources[0].html.titel: unknown key (did you mean 'title'?)",
        "sources.yaml:12:5: sources[0].zzz: unknown key",
    ]
    (tmp_path / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: -1001\n      theme: [x]\nemail:\n  weekly:\n    lists:\n"
        "      - name: members\n        to: [a@example.org]\n        titel: T\n", encoding="utf-8")
    assert problems(load_deliveries, tmp_path) == [
        "deliveries.yaml:4:7: telegram.chats[0].theme: unknown key (did you mean 'themes'?)",
        "deliveries.yaml:10:9: email.weekly.lists[0].titel: unknown key (did you mean 'title'?)",
    ]
