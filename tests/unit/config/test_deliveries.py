"""deliveries.yaml: the filters' names are checked, each problem at its file:line:col, all
at once with the schema's problems; the daemon's load (start and reload) applies the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.deliveries import load_deliveries
from bot.errors import ConfigError
from bot.runtime.reload import load_config

THEME = "theme: {slug}\ntitle: T\nrules:\n  - id: {slug}-1\n    query: word\n"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    for slug in ("pushbacks", "detention"):
        (tmp_path / "rules" / f"{slug}.yaml").write_text(THEME.format(slug=slug), encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return tmp_path


def problems(config_dir: Path, text: str) -> list[str]:
    (config_dir / "deliveries.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_deliveries(config_dir)
    return [str(p) for p in info.value.problems]


BAD = """\
telegram:
  chats:
    - chat: -1001
      themes: [nosuchtheme, pushbacks, pushback]
      regions: [Atlantis, Europe]
      languages: [english, en]
      alerts: sometimes
email:
  weekly:
    lists:
      - name: members
        to: [a@example.org]
        themes:
          - detention
          - nosuch
        regions: [Europa]
        languages: [FR]
"""


def test_unknown_themes_regions_and_languages_with_schema_problems(config_dir: Path):
    assert problems(config_dir, BAD) == [
        "deliveries.yaml:4:16: telegram.chats[0].themes[0]: unknown theme 'nosuchtheme': "
        "there is no rules/nosuchtheme.yaml",
        "deliveries.yaml:4:40: telegram.chats[0].themes[2]: unknown theme 'pushback': "
        "there is no rules/pushback.yaml (did you mean 'pushbacks'?)",
        "deliveries.yaml:5:17: telegram.chats[0].regions[0]: unknown region 'Atlantis' "
        "(use Africa, Americas, Asia, Europe, Middle East, Oceania)",
        "deliveries.yaml:6:19: telegram.chats[0].languages[0]: 'english' is not a language code such as en or fr "
        "(did you mean 'en'?)",
        "deliveries.yaml:7:15: telegram.chats[0].alerts: must be 'instant', 'digest' or 'both' "
        "(got 'sometimes')",
        "deliveries.yaml:15:13: email.weekly.lists[0].themes[1]: unknown theme 'nosuch': "
        "there is no rules/nosuch.yaml",
        "deliveries.yaml:16:19: email.weekly.lists[0].regions[0]: unknown region 'Europa' "
        "(use Africa, Americas, Asia, Europe, Middle East, Oceania)",
        "deliveries.yaml:17:21: email.weekly.lists[0].languages[0]: 'FR' is not a language code such as en or fr "
        "(did you mean 'fr'?)",
    ]


def test_known_names_and_all_load(config_dir: Path):
    (config_dir / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: -1001\n      themes: [pushbacks, detention]\n"
        "      regions: [europe, MIDDLE EAST]\n      languages: [en, fr, el]\n"
        "email:\n  weekly:\n    lists:\n      - name: m\n        to: [a@example.org]\n        themes: all\n",
        encoding="utf-8")
    cfg = load_deliveries(config_dir)
    chat = cfg.telegram.chats[0]
    assert chat.themes == ("pushbacks", "detention") and chat.regions == ("Europe", "Middle East")
    assert cfg.email.weekly.lists[0].themes == "all"


def test_without_rules_every_listed_theme_is_unknown(tmp_path: Path):
    found = problems(tmp_path, "telegram:\n  chats:\n    - chat: -1001\n      themes: [pushbacks]\n")
    assert found == ["deliveries.yaml:4:16: telegram.chats[0].themes[0]: unknown theme 'pushbacks': "
                     "there is no rules/pushbacks.yaml"]


def test_a_theme_whose_file_is_broken_is_not_also_unknown(config_dir: Path):
    (config_dir / "rules" / "detention.yaml").write_text("theme: detention\n", encoding="utf-8")
    (config_dir / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: -1001\n      themes: [detention]\n", encoding="utf-8")
    assert load_deliveries(config_dir).telegram.chats[0].themes == ("detention",)


def test_daemon_load_rejects_a_rules_change_that_orphans_a_chat_theme(config_dir: Path):
    (config_dir / "deliveries.yaml").write_text(
        "telegram:\n  chats:\n    - chat: -1001\n      themes: [detention]\n", encoding="utf-8")
    load_config(config_dir)
    (config_dir / "rules" / "detention.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    assert [str(p) for p in info.value.problems] == [
        "deliveries.yaml:4:16: telegram.chats[0].themes[0]: unknown theme 'detention': "
        "there is no rules/detention.yaml"]


def test_retention_must_be_a_duration_placed_at_its_value(config_dir: Path):
    """`3 days` passed check, then the daemon's retention loop raised every 30 s."""
    found = problems(config_dir, "storage:\n  retention: 3 days\n")
    assert len(found) == 1
    assert found[0].startswith("deliveries.yaml:2:14: storage.retention: expected a duration such as 30m, 1h or 7d")
    assert "'3 days'" in found[0]


def test_a_valid_retention_loads(config_dir: Path):
    from datetime import timedelta

    from bot.runtime.retention import retention_of

    (config_dir / "deliveries.yaml").write_text("storage:\n  retention: 12w\n", encoding="utf-8")
    assert retention_of(load_deliveries(config_dir)) == timedelta(weeks=12)
