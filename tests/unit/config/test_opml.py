"""OPML as people export it: bare `&`, `feedUrl`, a feed in two folders, `htmlUrl`, a
language on every outline, and every outline that is not imported named with why."""

from __future__ import annotations


import pytest

from bot.config.opml import export_opml, import_opml, read_opml
from bot.config.sources import load_sources
from bot.config.sources_edit import SourceEditError
from support.paths import FIXTURES

FIXTURE = FIXTURES / "opml" / "exported-with-bare-ampersands.opml"
SOURCES = "defaults:\n  language: en\nsources:\n  - id: picum\n    url: https://picum.org/feed/\n"


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    return tmp_path


def test_a_file_with_bare_ampersands_is_read_and_the_repair_named():
    opml = read_opml(FIXTURE.read_bytes())
    assert [f["url"] for f in opml.feeds] == ["https://border-monitor.example/feed?lang=en&format=rss",
                                             "https://sea-watchers.example/rss.xml",
                                             "https://rights-desk.example/atom.xml"]
    assert opml.feeds[2]["title"] == "Rights &copy; Desk"
    (repair,) = opml.repaired
    assert repair.startswith("read 6 '&' that begin no XML entity as '&amp;' (line 7, 9, 10, 12)")


def test_a_file_broken_otherwise_is_still_refused():
    with pytest.raises(SourceEditError, match="not an OPML file: XML error"):
        read_opml(b"<opml><body><outline text='a & b'></body>")


def test_import_reads_feed_url_merges_folders_keeps_site_and_names_what_it_ignored(config_dir):
    result = import_opml(config_dir, FIXTURE.read_bytes())
    assert [sid for sid, _ in result.added] == ["border-monitor", "sea-watchers", "rights-copy-desk"]
    assert result.skipped == [("A link to a page, not a feed", "no xmlUrl or feedUrl: not a feed"),
                              ("Empty folder", "no xmlUrl or feedUrl: not a feed")]
    assert result.repaired
    cfg = load_sources(config_dir)
    sea = cfg.get("sea-watchers")
    assert sea.tags == ("migration-asylum", "europe"), "a feed in two folders gets both tags"
    assert sea.site == "https://sea-watchers.example"
    assert cfg.get("border-monitor").site == "https://border-monitor.example/"
    assert sea.language is None and cfg.language(sea) == "en", "the default's language is not stamped"
    assert cfg.get("rights-copy-desk").language == "fr"


def test_export_then_import_does_not_stamp_the_default_language(config_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sources.yaml").write_text("defaults:\n  language: en\nsources: []\n", encoding="utf-8")
    import_opml(other, export_opml(load_sources(config_dir)))
    assert "language" not in (other / "sources.yaml").read_text().split("sources:", 1)[1]


def test_site_is_exported_as_html_url(config_dir):
    import_opml(config_dir, FIXTURE.read_bytes())
    exported = export_opml(load_sources(config_dir))
    assert 'htmlUrl="https://sea-watchers.example"' in exported


def test_a_site_that_is_not_a_web_address_is_refused_in_sources_yaml(config_dir):
    from bot.errors import ConfigError

    (config_dir / "sources.yaml").write_text(SOURCES + "    site: javascript:alert(1)\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.yaml:6:11: sources\[0\].site: must be an http or https URL"):
        load_sources(config_dir)
