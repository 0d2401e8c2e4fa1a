"""`newsbot sources ...` through click's runner, against a temp config dir and SQLite file."""

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config.sources import load_sources
from bot.storage import repo
from bot.storage.db import open_database
from support.paths import FIXTURES, REPO


SOURCES = """\
# Coalition sources: keep this comment
defaults:
  interval: 30m
  language: en
sources:
  # --- NGOs ---
  - id: picum
    name: PICUM
    url: https://picum.org/feed/   # the main feed
    tags: [ngo, europe]
  - id: ecre
    url: https://ecre.org/feed/
    interval: 1h

  # --- Media ---
  - id: guardian
    url: https://www.theguardian.com/world/migration/rss
    tags: [media]
"""


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "cfg"
    d.mkdir()
    (d / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'newsbot.db'}")
    monkeypatch.delenv("NEWSBOT_CONFIG_DIR", raising=False)
    return d


def run(config_dir, *args):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "sources", *args], catch_exceptions=False)


def test_add_keeps_comments_and_order_and_validates(config_dir):
    before = (config_dir / "sources.yaml").read_text()
    res = run(config_dir, "add", "--no-check", "https://www.statewatch.org/feed/", "--tags", "ngo, civic-space",
              "--name", "Statewatch")
    assert res.exit_code == 0, res.output
    assert "added statewatch" in res.output
    after = (config_dir / "sources.yaml").read_text()
    # the file is the old file plus the new entry, written the way the file writes entries
    assert after == before + ("  - id: statewatch\n    name: Statewatch\n"
                              "    url: https://www.statewatch.org/feed/\n    tags: [ngo, civic-space]\n")
    cfg = load_sources(config_dir)
    assert [s.id for s in cfg.sources] == ["picum", "ecre", "guardian", "statewatch"]
    assert cfg.get("statewatch").tags == ("ngo", "civic-space")


@pytest.mark.parametrize("args,message", [
    (["https://picum.org/feed"], "already in sources.yaml as 'picum'"),          # same URL, no slash
    (["HTTPS://PICUM.org:443/feed/?utm_source=a&utm_medium=b"], "already in sources.yaml as 'picum'"),
    (["https://picum.org/feed/#top"], "already in sources.yaml as 'picum'"),
    (["https://new.org/feed/", "--id", "ecre"], "id 'ecre' is already used"),
    (["ftp://new.org/feed/"], "must be an http or https URL"),
    (["https://new.org/feed/", "--id", "Bad_Id"], "must be a slug"),
    (["https://new.org/feed/", "--language", "english"], "'english' is not a language code such as en or fr"),
])
def test_add_refuses_invalid_and_leaves_the_file_alone(config_dir, args, message):
    before = (config_dir / "sources.yaml").read_text()
    res = run(config_dir, "add", "--no-check", *args)
    assert res.exit_code == 1
    assert message in res.output
    assert (config_dir / "sources.yaml").read_text() == before
    assert not list(config_dir.glob(".sources.*"))  # no temp file left behind


def test_add_compares_canonical_urls_and_names_an_ip_host_readably(config_dir):
    """A tracking-parameter or upper-case variant of a present URL is the same source (the
    `#frag` variant always was); an id made from an IP host says so (`local-127-0-0-1`, not
    `0-1`), and stays a valid slug when numbered."""
    res = run(config_dir, "add", "--no-check", "http://127.0.0.1:8123/rss.xml")
    assert res.exit_code == 0, res.output
    assert "added local-127-0-0-1:" in res.output
    before = (config_dir / "sources.yaml").read_text()
    for variant in ("HTTP://127.0.0.1:8123/rss.xml?utm_source=a", "http://127.0.0.1:8123/rss.xml?fbclid=x#frag"):
        res = run(config_dir, "add", "--no-check", variant)
        assert res.exit_code == 1 and "already in sources.yaml as 'local-127-0-0-1'" in res.output, variant
        assert (config_dir / "sources.yaml").read_text() == before
    # a real query parameter is another feed
    res = run(config_dir, "add", "--no-check", "http://127.0.0.1:8123/rss.xml?lang=fr")
    assert res.exit_code == 0, res.output
    assert "added local-127-0-0-1-2:" in res.output
    res = run(config_dir, "add", "--no-check", "http://[::1]:8123/feed")
    assert res.exit_code == 0 and "added local-ipv6-1:" in res.output, res.output
    assert [s.id for s in load_sources(config_dir).sources][-3:] == ["local-127-0-0-1", "local-127-0-0-1-2",
                                                                     "local-ipv6-1"]


def test_import_skips_a_tracking_variant_of_a_present_url(config_dir, tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text('<opml version="2.0"><head/><body>'
                    '<outline type="rss" text="x" xmlUrl="https://ECRE.org/feed/?utm_campaign=rss"/>'
                    '</body></opml>')
    res = run(config_dir, "import", str(opml))
    assert res.exit_code == 0, res.output
    assert "already present as 'ecre'" in res.output and "0 added, 1 skipped" in res.output


def test_add_to_a_broken_file_is_a_config_error(config_dir):
    (config_dir / "sources.yaml").write_text("sources:\n  - id: x\n    url: https://x.org/\n    colour: red\n")
    res = run(config_dir, "add", "--no-check", "https://new.org/feed/")
    assert res.exit_code == 2
    assert "sources.yaml:4:5: sources[0].colour: unknown key" in res.output


def test_remove_keeps_the_next_sections_heading(config_dir):
    res = run(config_dir, "remove", "ecre")
    assert res.exit_code == 0, res.output
    text = (config_dir / "sources.yaml").read_text()
    assert "ecre" not in text
    assert "  # --- Media ---\n  - id: guardian" in text
    assert "# Coalition sources: keep this comment" in text
    assert "url: https://picum.org/feed/   # the main feed" in text
    assert [s.id for s in load_sources(config_dir).sources] == ["picum", "guardian"]
    res = run(config_dir, "remove", "ecre")
    assert res.exit_code == 1 and "no source with id 'ecre'" in res.output


def test_export_then_import_round_trip(config_dir, tmp_path):
    res = run(config_dir, "export")
    assert res.exit_code == 0
    root = ET.fromstring(res.output)
    assert root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        "https://picum.org/feed/", "https://ecre.org/feed/", "https://www.theguardian.com/world/migration/rss"]
    assert outlines[0].get("text") == "PICUM" and outlines[0].get("category") == "ngo,europe"

    # import into another config: everything added; importing again skips everything
    other = tmp_path / "other"
    other.mkdir()
    (other / "sources.yaml").write_text("sources: []\n")
    opml = tmp_path / "export.opml"
    opml.write_text(res.output)
    res = run(other, "import", str(opml))
    assert res.exit_code == 0, res.output
    cfg = load_sources(other)
    assert [s.url for s in cfg.sources] == [o.get("xmlUrl") for o in outlines]
    assert cfg.sources[0].id == "picum" and cfg.sources[0].tags == ("ngo", "europe")
    res = run(other, "import", str(opml))
    assert "0 added, 3 skipped" in res.output


def test_export_gives_the_feed_discovered_for_a_page(config_dir, feedserver, monkeypatch):
    """A `type: auto` source whose URL is an HTML page: after a poll found its feed, the OPML
    (for any feed reader) has the feed as xmlUrl and the page as htmlUrl."""
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Border Monitor</title>"
           "<item><title>Pushbacks at the border</title><link>https://bordermonitor.example/1</link></item>"
           "</channel></rss>").encode()
    feed = feedserver.add("/blog/feed.xml", rss, content_type="application/rss+xml")
    page = feedserver.add("/blog/page.html", b"<!doctype html><html><head><link rel='alternate' "
                          b"type='application/rss+xml' href='feed.xml'></head><body>News</body></html>",
                          content_type="text/html")
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    res = run(config_dir, "add", "--no-check", page, "--name", "Border Monitor")
    assert res.exit_code == 0, res.output
    sid = res.output.split()[1].rstrip(":")

    def outlines() -> dict:
        res = run(config_dir, "export")
        assert res.exit_code == 0, res.output
        return {o.get("text"): o for o in ET.fromstring(res.stdout).findall("./body/outline")}

    before = outlines()["Border Monitor"]
    assert before.get("xmlUrl") == page                # not polled yet: nothing discovered
    res = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "poll", "--once", "--source", sid],
                             catch_exceptions=False)
    assert feedserver.hits("/blog/feed.xml") == 1, res.output
    got = outlines()
    assert got["Border Monitor"].get("xmlUrl") == feed
    assert got["Border Monitor"].get("htmlUrl") == page and got["Border Monitor"].get("type") == "rss"
    assert got["PICUM"].get("xmlUrl") == "https://picum.org/feed/" and got["PICUM"].get("htmlUrl") is None

    # the URL edited in sources.yaml: the old discovery no longer applies
    path = config_dir / "sources.yaml"
    path.write_text(path.read_text().replace(page, feedserver.url("/other.html")))
    assert outlines()["Border Monitor"].get("xmlUrl") == feedserver.url("/other.html")


def test_import_skips_present_and_invalid_urls_and_reads_folders(config_dir, tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text("""<?xml version="1.0"?>
<opml version="1.0"><head><title>x</title></head><body>
  <outline text="Migration">
    <outline type="rss" text="PICUM again" xmlUrl="http://www.picum.org/feed"/>
    <outline type="rss" text="Statewatch" xmlUrl="https://www.statewatch.org/feed/" language="en-GB"/>
    <outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>
  </outline>
  <outline type="rss" title="La Cimade" xmlUrl="https://www.lacimade.org/feed/" category="/ngo/france"/>
</body></opml>""")
    res = run(config_dir, "import", str(opml), "--tags", "imported")
    assert res.exit_code == 0, res.output
    assert "skipped http://www.picum.org/feed: already present as 'picum'" in res.output
    assert "skipped gopher://old.example/feed: not an http(s) URL" in res.output
    cfg = load_sources(config_dir)
    assert cfg.get("statewatch").tags == ("migration", "imported")
    # en-GB is the file's default language already: inherited, not stamped on the entry
    assert cfg.get("statewatch").language is None and cfg.language(cfg.get("statewatch")) == "en"
    assert cfg.get("la-cimade").tags == ("france", "imported")
    assert "# --- Media ---" in (config_dir / "sources.yaml").read_text()


def test_import_rejects_what_is_not_opml(config_dir, tmp_path):
    bad = tmp_path / "x.opml"
    bad.write_text("<rss><channel/></rss>")
    res = run(config_dir, "import", str(bad))
    assert res.exit_code == 1 and "not an OPML file" in res.output


def test_list_and_health_show_state_from_the_database(config_dir, tmp_path):
    now = datetime.now(timezone.utc)
    engine = open_database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    with engine.begin() as conn:
        repo.ensure_sources(conn, [("picum", "https://picum.org/feed/"), ("ecre", "https://ecre.org/feed/")], now)
        repo.update_source(conn, "picum", status="ok", last_success_at=now - timedelta(minutes=5),
                           items_seen=12, next_poll_at=now + timedelta(minutes=25))
        repo.update_source(conn, "ecre", status="failing", last_error_kind="not-found",
                           last_error="HTTP 404 Not Found", error_count=3, failing_since=now - timedelta(hours=2),
                           next_poll_at=now + timedelta(hours=4))
    engine.dispose()

    res = run(config_dir, "list", "--format", "json")
    assert res.exit_code == 0
    rows = {r["id"]: r for r in json.loads(res.output)}
    assert set(rows) == {"picum", "ecre", "guardian"}
    assert rows["picum"]["status"] == "ok" and rows["picum"]["items"] == 12
    assert rows["picum"]["last_success"].endswith("Z")
    assert rows["guardian"]["status"] == "new" and rows["guardian"]["last_success"] is None
    for key in ("id", "url", "status", "last_success", "last_error_kind", "last_error", "error_count",
                "items", "next_poll"):
        assert key in rows["ecre"]

    res = run(config_dir, "health", "--format", "json")
    health = json.loads(res.output)
    assert [r["id"] for r in health] == ["ecre", "guardian", "picum"]   # failing first
    assert health[0]["last_error_kind"] == "not-found" and health[0]["error_count"] == 3

    res = run(config_dir, "health")
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATUS", "ERRORS", "KIND"]
    assert lines[1].split()[:4] == ["ecre", "failing", "3", "not-found"]
    assert "HTTP 404 Not Found" in lines[1] and "in 3h" in lines[1]
    assert "3 sources: 1 failing, 1 new, 1 ok (not-found 1)" in res.output

    res = run(config_dir, "list")
    lines = res.output.splitlines()
    assert "LAST ERROR" in lines[0]
    ecre = next(line for line in lines if line.startswith("ecre"))
    assert "not-found" in ecre and "in 3h" in ecre     # 4 h from a moment ago
    assert "picum" in res.output and "5m ago" in res.output


def test_shipped_sources_yaml_is_valid_and_large_enough(tmp_path):
    shutil.copy(REPO / "sources.yaml", tmp_path / "sources.yaml")
    cfg = load_sources(tmp_path)
    assert len(cfg.sources) >= 25
    assert all(s.tags for s in cfg.sources)
    hosts = {s.url.split("/")[2] for s in cfg.sources}
    assert not {"www.unhcr.org", "www.iom.int", "hudoc.echr.coe.int"} & hosts


def test_import_names_the_repair_and_every_outline_it_ignored(config_dir):
    fixture = FIXTURES / "opml" / "exported-with-bare-ampersands.opml"
    res = run(config_dir, "import", str(fixture))
    assert res.exit_code == 0, res.output
    assert "repaired: read 6 '&' that begin no XML entity as '&amp;' (line 7, 9, 10, 12)" in res.output
    assert "skipped Empty folder: no xmlUrl or feedUrl: not a feed" in res.output
    assert "skipped A link to a page, not a feed: no xmlUrl or feedUrl: not a feed" in res.output
    assert "3 added, 2 skipped" in res.output
RSS = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Border Monitor</title>"
       "<item><title>Pushbacks at the border</title><link>https://bordermonitor.example/1</link></item>"
       "<item><title>Second report</title><link>https://bordermonitor.example/2</link></item>"
       "</channel></rss>").encode()
PAGE = (b"<!doctype html><html><head><link rel='alternate' type='application/rss+xml' href='feed.xml'>"
        b"</head><body><article class='post'><h2><a href='/n/1'>Boat found near Lampedusa</a></h2>"
        b"<time datetime='2026-11-20'>20 Nov</time><p class='lead'>Forty people.</p></article>"
        b"<article class='post'><h2><a href='/n/2'>Court rules on detention</a></h2></article></body></html>")


def test_add_checks_the_url_and_follows_a_page_to_its_feed(config_dir, feedserver, monkeypatch):
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    feed = feedserver.add("/bm/feed.xml", RSS, content_type="application/rss+xml")
    page = feedserver.add("/bm/index.html", PAGE, content_type="text/html")
    empty = feedserver.add("/empty.html", b"<!doctype html><html><body>Nothing here</body></html>",
                           content_type="text/html")
    bad = run(config_dir, "add", empty)
    assert bad.exit_code == 1 and "no feed link" in bad.output and empty not in _urls(config_dir)
    res = run(config_dir, "add", page, "--name", "Border Monitor")
    assert res.exit_code == 0, res.output
    assert f"added border-monitor: {feed}" in res.output and "2 items" in res.output
    assert feed in _urls(config_dir) and page not in _urls(config_dir)
    # the page again (its feed is configured), or the feed itself: refused
    again = run(config_dir, "add", page)
    assert again.exit_code == 1 and "already in sources.yaml" in again.output
    assert _urls(config_dir).count(feed) == 1


def test_add_refuses_the_feed_of_a_configured_page(config_dir, feedserver, monkeypatch):
    """sources.yaml has the home page (type auto); adding that page, whose feed the probe
    discovers, must not add the feed a second time."""
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    feedserver.add("/bm/feed.xml", RSS, content_type="application/rss+xml")
    page = feedserver.add("/bm/index.html", PAGE, content_type="text/html")
    assert run(config_dir, "add", "--no-check", page, "--id", "bm").exit_code == 0
    res = run(config_dir, "add", page)
    assert res.exit_code == 1 and f"{page} is already in sources.yaml as 'bm'" in res.output


def test_add_html_tests_the_selectors_on_the_page(config_dir, feedserver, monkeypatch):
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    page = feedserver.add("/news.html", PAGE, content_type="text/html")
    usage = run(config_dir, "add", page, "--type", "html", "--item", "article.post")
    assert usage.exit_code == 2 and "--title, --link" in usage.output
    wrong = run(config_dir, "add", page, "--type", "html", "--item", "div.nope", "--title", "h2", "--link", "h2 a")
    assert wrong.exit_code == 1 and "'div.nope' matched nothing" in wrong.output and page not in _urls(config_dir)
    res = run(config_dir, "add", page, "--type", "html", "--id", "news", "--item", "article.post",
              "--title", "h2", "--link", "h2 a", "--date", "time@datetime", "--summary", "p.lead")
    assert res.exit_code == 0, res.output
    assert "2 items" in res.output and "Boat found near Lampedusa" in res.output
    text = (config_dir / "sources.yaml").read_text()
    assert "type: html" in text and "item: article.post" in text and "date: time@datetime" in text
    check = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "check"], env={"TELEGRAM_BOT_TOKEN": ""})
    assert check.exit_code == 0, check.output


def test_remove_enable_disable_take_several_ids(config_dir):
    ids = [s["id"] for s in _entries(config_dir)][:3]
    res = run(config_dir, "disable", *ids[:2])
    assert res.exit_code == 0 and res.output.count("disabled") == 2
    entries = {s["id"]: s for s in _entries(config_dir)}
    assert all(entries[i].get("enabled") is False for i in ids[:2])
    assert run(config_dir, "enable", *ids[:2]).exit_code == 0
    entries = {s["id"]: s for s in _entries(config_dir)}
    assert all("enabled" not in entries[i] for i in ids[:2])
    res = run(config_dir, "remove", ids[0], "nope", ids[2])
    assert res.exit_code == 1 and "no source with id 'nope'" in res.output
    left = {s["id"] for s in _entries(config_dir)}
    assert ids[0] not in left and ids[2] not in left and ids[1] in left


def _entries(config_dir) -> list[dict]:
    from ruamel.yaml import YAML
    return list(YAML(typ="safe").load((config_dir / "sources.yaml").read_text())["sources"])


def _urls(config_dir) -> list[str]:
    return [s["url"] for s in _entries(config_dir)]
