"""The round-trip editor of sources.yaml (bot.config.sources_edit): comments, order and
indentation survive an edit, a bad edit never lands on disk, and the ids and URL keys that
decide what is the same source."""

from __future__ import annotations

import pytest

from bot.config.sources import load_sources
from bot.config.sources_edit import SourceEditError, add_source, remove_source, set_enabled, suggest_id, url_key

SOURCES = """\
# Sources of the coalition
defaults:
  language: en   # most write in English
sources:
    # --- NGOs ---
    - id: picum
      url: https://picum.org/feed/   # weekly
    - id: ecre
      url: https://ecre.org/feed/
    # --- Press ---
    - id: infomigrants
      url: https://www.infomigrants.net/en/rss
"""


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    return tmp_path


def text(config_dir) -> str:
    return (config_dir / "sources.yaml").read_text(encoding="utf-8")


def test_add_keeps_comments_and_writes_the_files_indentation(config_dir):
    sid = add_source(config_dir, "https://www.statewatch.org/feed/", tags="eu, monitoring", language="fr")
    assert sid == "statewatch"
    after = text(config_dir)
    assert after.startswith(SOURCES)   # nothing above it moved
    assert after[len(SOURCES):] == ("    - id: statewatch\n      url: https://www.statewatch.org/feed/\n"
                                     "      tags: [eu, monitoring]\n      language: fr\n")
    assert load_sources(config_dir).get("statewatch").tags == ("eu", "monitoring")


@pytest.mark.parametrize("url,why", [
    ("http://picum.org/feed", "already in sources.yaml as 'picum'"),      # http/https, trailing slash
    ("https://infomigrants.net/en/rss?utm_source=x", "already in sources.yaml as 'infomigrants'"),
])
def test_add_refuses_the_same_source_under_another_spelling(config_dir, url, why):
    with pytest.raises(SourceEditError, match=why):
        add_source(config_dir, url)
    assert text(config_dir) == SOURCES


def test_add_refuses_a_feed_a_configured_page_already_gives(config_dir):
    with pytest.raises(SourceEditError, match="already polled as the feed of 'ecre'"):
        add_source(config_dir, "https://ecre.org/feed.xml", known_feeds={"ecre": "https://ecre.org/feed.xml"})
    with pytest.raises(SourceEditError, match="is already in sources.yaml as 'ecre' \\(its feed is"):
        add_source(config_dir, "https://ecre.org/other.xml", page_url="https://ecre.org/feed/")


def test_an_edit_that_would_make_the_file_invalid_is_not_written(config_dir):
    with pytest.raises(SourceEditError, match="would make sources.yaml invalid"):
        add_source(config_dir, "https://x.example/feed", language="english")
    assert text(config_dir) == SOURCES


def test_removing_the_last_source_of_a_section_keeps_the_next_sections_heading(config_dir):
    remove_source(config_dir, "ecre")
    after = text(config_dir)
    assert "ecre" not in after and "# --- Press ---" in after and "# weekly" in after
    assert after.index("picum") < after.index("# --- Press ---") < after.index("infomigrants")
    with pytest.raises(SourceEditError, match="no source with id 'ecre'"):
        remove_source(config_dir, "ecre")


def test_disable_then_enable_leaves_the_file_as_it_was(config_dir):
    set_enabled(config_dir, "ecre", False)
    assert not load_sources(config_dir).get("ecre").enabled
    set_enabled(config_dir, "ecre", True)
    assert text(config_dir) == SOURCES


@pytest.mark.parametrize("url,taken,name,expected", [
    ("https://www.picum.org/feed/", (), None, "picum"),
    ("https://www.picum.org/feed/", ("picum",), None, "picum-2"),
    ("https://feeds.bbci.co.uk/news/world/rss.xml", (), None, "bbci"),   # co, uk: generic
    ("http://127.0.0.1:8080/feed.xml", (), None, "local-127-0-0-1"),
    ("https://x.example/", (), "Médecins Sans Frontières", "m-decins-sans-fronti-res"),
])
def test_suggest_id(url, taken, name, expected):
    assert suggest_id(url, taken, name) == expected


def test_url_key_ignores_what_does_not_change_the_feed():
    assert url_key("https://WWW.Picum.org/feed/#top") == url_key("http://picum.org/feed") == "picum.org/feed"
    assert url_key("https://picum.org/feed?lang=fr") != url_key("https://picum.org/feed?lang=en")
