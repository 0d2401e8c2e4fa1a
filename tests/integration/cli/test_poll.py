"""`newsbot poll --once` through click's runner against the feed server and a temp config dir."""

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from bot.cli import cli

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://picum.org/</link>
<description>d</description><language>en</language>
<item><title>Migrants held in detention</title><link>https://picum.org/a1</link><guid>a1</guid></item>
<item><title>Second report</title><link>https://picum.org/a2</link><guid>a2</guid></item>
</channel></rss>"""


@pytest.fixture
def config_dir(tmp_path, feedserver, monkeypatch):
    feedserver.add("/ok.xml", FEED, etag='"v1"')
    feedserver.add("/gone.xml", status=404, body=b"no", content_type="text/plain")
    feedserver.add("/down.xml", status=500, body=b"no", content_type="text/plain")
    d = tmp_path / "cfg"
    (d / "rules").mkdir(parents=True)
    (d / "rules" / "detention.yaml").write_text(
        "theme: detention\ntitle: Detention\nrules:\n  - id: d\n    query: 'detention AND migrants'\n")
    (d / "sources.yaml").write_text(f"""sources:
  - id: ok
    url: {feedserver.url('/ok.xml')}
  - id: gone
    url: {feedserver.url('/gone.xml')}
  - id: down
    url: {feedserver.url('/down.xml')}
""")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'newsbot.db'}")
    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.delenv("NEWSBOT_CONFIG_DIR", raising=False)
    return d


def run(config_dir, *args):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "poll", *args], catch_exceptions=False)


def test_poll_once_summary_and_exit_3_on_failures(config_dir):
    res = run(config_dir, "--once")
    assert res.exit_code == 3, res.output
    assert "polled 3 sources: 1 changed, 0 unchanged, 2 failed; 2 new items, 1 hits" in res.output
    assert "first poll of 1 source(s): their 2 items are stored as backlog, not sent" in res.output
    assert "failures by kind: " in res.output and "not-found 1" in res.output and "server-error 1" in res.output
    assert "  gone: not-found: " in res.output

    # only the healthy source, named: exit 0, nothing new (304)
    res = run(config_dir, "--once", "--source", "ok", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["polled"] == 1 and doc["unchanged"] == 1 and doc["new_items"] == 0 and doc["failures"] == {}
    src = doc["sources"][0]
    assert src["source_id"] == "ok" and src["outcome"] == "unchanged"
    assert datetime.fromisoformat(src["next_poll_at"].replace("Z", "+00:00")) > datetime.now(timezone.utc)

    # nothing is due right after: no source polled, exit 0
    res = run(config_dir, "--once", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.output)["polled"] == 0
    res = run(config_dir, "--once")                    # and the text form says why, and what to do
    assert res.exit_code == 0 and "polled 0 sources" in res.output
    assert "no source is due now" in res.output and "poll --once --all" in res.output

    # sources health reflects what the poll stored
    res = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "sources", "health", "--format", "json"])
    rows = {r["id"]: r for r in json.loads(res.output)}
    assert rows["gone"]["status"] == "failing" and rows["gone"]["last_error_kind"] == "not-found"
    assert rows["ok"]["status"] == "ok" and rows["ok"]["items"] == 2


def test_poll_unknown_source_is_a_usage_error(config_dir):
    res = run(config_dir, "--once", "--source", "nope")
    assert res.exit_code == 2
    assert "unknown source id(s): nope" in res.output


def test_poll_without_once_points_to_run(config_dir):
    res = run(config_dir)
    assert res.exit_code == 2 and "newsbot run" in res.output


def test_private_addresses_are_blocked_without_the_variable(config_dir, monkeypatch):
    monkeypatch.delenv("NEWSBOT_ALLOW_PRIVATE_NETWORKS")
    res = run(config_dir, "--once", "--format", "json")
    assert res.exit_code == 3
    assert json.loads(res.output)["failures"] == {"blocked": 3}
