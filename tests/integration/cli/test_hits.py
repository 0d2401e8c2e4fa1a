"""`newsbot hits` on a real SQLite database: the JSON fields SPEC.md lists, one record per
item, "also reported by" from stories, the --since and --theme filters, CSV and table."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.storage.db import open_database
from support.seed_hits import add_hit, add_item

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "cfg"
    (d / "rules").mkdir(parents=True)
    (d / "sources.yaml").write_text("sources: []\n")
    url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("NEWSBOT_CONFIG_DIR", raising=False)
    engine = open_database(url)
    with engine.begin() as conn:
        t1 = NOW - timedelta(hours=5)
        a, story = add_item(conn, "picum", "Greece: 40 asylum seekers pushed back at Evros border",
                            t1, countries=["GR", "TR"], regions=["Europe", "Middle East"])
        b, story_b = add_item(conn, "ecre", "Greece: 40 asylum seekers pushed back at Evros border - ECRE",
                              t1 + timedelta(hours=1), countries=["GR"], regions=["Europe"])
        assert story_b == story
        c, _ = add_item(conn, "unhcr", "Court halts deportation flights to Rwanda", NOW - timedelta(days=2))
        old, _ = add_item(conn, "picum", "Detention report from last month", NOW - timedelta(days=20))
        add_hit(conn, a, "pushbacks", ["pushback-en"], t1, "high")
        add_hit(conn, a, "border", ["border-en", "pushback-en"], t1)
        add_hit(conn, b, "pushbacks", ["pushback-en"], t1 + timedelta(hours=1), "high")
        add_hit(conn, c, "deportation", ["deport-en"], NOW - timedelta(days=2))
        add_hit(conn, old, "detention", ["detention-en"], NOW - timedelta(days=20))
    engine.dispose()
    return d


def run(config_dir, *args):
    res = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "hits", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_json_has_the_spec_fields_one_record_per_item(config_dir):
    out = json.loads(run(config_dir, "--format", "json"))
    assert [r["source"] for r in out] == ["ecre", "picum", "unhcr"]  # newest hit first; 20-day-old left out
    spec = {"item_id", "source", "title", "url", "published", "language", "themes", "rules",
            "countries", "regions", "first_seen", "story_id", "also_reported_by"}
    for r in out:
        assert spec <= set(r)
    picum = out[1]
    assert picum["themes"] == ["border", "pushbacks"]
    assert sorted(picum["rules"]) == ["border-en", "pushback-en"]
    assert picum["countries"] == ["GR", "TR"] and picum["regions"] == ["Europe", "Middle East"]
    assert picum["also_reported_by"] == ["ecre"] and out[0]["also_reported_by"] == ["picum"]
    assert picum["story_id"] == out[0]["story_id"] != out[2]["story_id"]
    assert out[2]["also_reported_by"] == []
    assert picum["published"].endswith("Z") and datetime.fromisoformat(
        picum["published"].replace("Z", "+00:00")) == NOW - timedelta(hours=5)
    assert picum["language"] == "en" and picum["url"].startswith("https://picum.example/")


def test_since_and_theme_filters(config_dir):
    assert [r["source"] for r in json.loads(run(config_dir, "--since", "30d", "--format", "json"))][-1] == "picum"
    assert len(json.loads(run(config_dir, "--since", "30d", "--format", "json"))) == 4
    only = json.loads(run(config_dir, "--theme", "deportation", "--format", "json"))
    assert [r["source"] for r in only] == ["unhcr"]
    assert json.loads(run(config_dir, "--since", "1h", "--format", "json")) == []


def test_csv_and_table(config_dir):
    rows = list(csv.DictReader(io.StringIO(run(config_dir, "--format", "csv"))))
    assert len(rows) == 3 and rows[1]["themes"] == "border;pushbacks" and rows[1]["also_reported_by"] == "ecre"
    table = run(config_dir)
    assert "Court halts deportation flights to Rwanda" in table
    assert "(+1: picum)" in table


def test_bad_since_is_a_usage_error(config_dir):
    res = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "hits", "--since", "soon"])
    assert res.exit_code == 2 and "duration" in res.output
