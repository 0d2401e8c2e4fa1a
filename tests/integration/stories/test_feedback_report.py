"""Feedback votes (callback data, storage per hit and member, rule precision) and the
coordinator report (failing, silent and hitless sources, busiest and noisiest rules, themes
by week), on SQLite and PostgreSQL, plus `newsbot report` through click."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.stories.feedback import (buttons, callback_data, hit_votes, noisiest_rules, parse_callback,
                          record_vote, rule_stats, rule_votes)
from bot.insight.report import build_report, render_text
from bot.storage.db import open_database
from bot.storage.schema import feedback
from support.seed_hits import add_hit, add_item, add_source

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_callback_data_round_trip_and_limits():
    assert callback_data(42, 1) == "fb:42:+" and callback_data(42, -1) == "fb:42:-"
    assert parse_callback("fb:42:+") == (42, 1) and parse_callback("fb:7:-") == (7, -1)
    for bad in ("t:detention", "fb:x:+", "fb:1:0", "", None, "fb:1:+:x"):
        assert parse_callback(bad) is None
    assert all(len(data.encode()) <= 64 for _, data in buttons(10**17))
    with pytest.raises(ValueError):
        callback_data(1, 0)


def test_votes_are_stored_once_per_member_and_can_change(engine):
    with engine.begin() as conn:
        item, _ = add_item(conn, "picum", "Pushbacks at the Evros border", NOW)
        hit = add_hit(conn, item, "pushbacks", ["pb-en"], NOW)
        assert record_vote(conn, hit, 111, 1, NOW) == "recorded"
        assert record_vote(conn, hit, 111, 1, NOW) == "unchanged"
        assert record_vote(conn, hit, "222", -1, NOW) == "recorded"
        assert record_vote(conn, hit, 222, 1, NOW + timedelta(minutes=1)) == "changed"
        assert record_vote(conn, 99999, 111, 1, NOW) == "unknown-hit"
        with pytest.raises(ValueError):
            record_vote(conn, hit, 111, 2, NOW)
    with engine.connect() as conn:
        rows = conn.execute(select(feedback.c.user_id, feedback.c.vote).order_by(feedback.c.user_id)).all()
        assert [tuple(r) for r in rows] == [("111", 1), ("222", 1)]
        assert hit_votes(conn, [hit, 12345]) == {hit: (2, 0)}


@pytest.fixture
def seeded(engine):
    with engine.begin() as conn:
        for sid, values in {
            "ok-src": {},
            "broken": {"status": "failing", "last_error_kind": "not-found",
                       "failing_since": NOW - timedelta(days=3), "error_count": 9,
                       "last_error": "HTTP 404"},
            "quiet": {"last_new_item_at": NOW - timedelta(days=6)},
            "steady": {},
        }.items():
            add_source(conn, sid, NOW - timedelta(days=60), **values)
        # "quiet" published twice a day for three weeks, then stopped six days ago.
        for i in range(40):
            add_item(conn, "quiet", f"Quiet bulletin number {i}", NOW - timedelta(days=6, hours=12 * i))
        # "steady" publishes every few hours up to now; "ok-src" carries the hits.
        for i in range(10):
            add_item(conn, "steady", f"Steady note {i} on labour rights", NOW - timedelta(hours=5 * i))
        noisy, good = [], []
        for week, n in ((0, 6), (1, 2), (2, 2), (3, 2)):
            for j in range(n):
                at = NOW - timedelta(days=7 * week + 1, hours=j)
                item, _ = add_item(conn, "ok-src", f"Report {week}-{j} on detention of migrants", at)
                noisy.append(add_hit(conn, item, "detention", ["det-broad"], at))
        for j in range(3):
            item, _ = add_item(conn, "ok-src", f"Pushback case {j} at the sea border", NOW - timedelta(hours=j + 1))
            good.append(add_hit(conn, item, "pushbacks", ["pb-en", "pb-sea"], NOW - timedelta(hours=j + 1)))
        for k, hit in enumerate(noisy[:4]):
            record_vote(conn, hit, f"u{k}", -1, NOW)
        record_vote(conn, noisy[4], "u9", 1, NOW)
        for k, hit in enumerate(good):
            record_vote(conn, hit, f"u{k}", 1, NOW)
    return engine


def test_rule_precision_from_votes(seeded):
    with seeded.connect() as conn:
        stats = {s.rule: s for s in rule_stats(conn)}
        assert stats["det-broad"].hits == 12 and stats["det-broad"].votes == 5
        assert stats["det-broad"].precision == pytest.approx(0.2)
        assert stats["pb-en"].precision == 1.0 and stats["pb-sea"].hits == 3
        assert [s.rule for s in noisiest_rules(conn)][0] == "det-broad"
        assert rule_votes(conn)["det-broad"] == (1, 4)


def test_report_sections(seeded):
    with seeded.connect() as conn:
        rep = build_report(conn, NOW, source_ids=["ok-src", "broken", "quiet", "steady", "never-polled"])
    assert rep["failing_sources"] == [{"source": "broken", "kind": "not-found", "since": "2026-11-19T12:00:00Z",
                                       "errors": 9, "last_error": "HTTP 404"}]
    assert [s["source"] for s in rep["silent_sources"]] == ["quiet"]
    assert rep["silent_sources"][0]["silent_hours"] == 144.0
    assert rep["sources_without_hits_30d"] == ["broken", "never-polled", "quiet", "steady"]
    assert rep["top_rules"][0]["rule"] == "det-broad" and rep["top_rules"][0]["hits"] == 12
    assert rep["noisiest_rules"][0]["rule"] == "det-broad" and rep["noisiest_rules"][0]["precision"] == 0.2
    themes = {t["theme"]: t for t in rep["themes"]}
    assert themes["detention"]["this_week"] == 6 and themes["detention"]["previous_weeks"] == [2, 2, 2]
    assert themes["detention"]["change"] == 2.0
    assert themes["pushbacks"]["this_week"] == 3 and themes["pushbacks"]["change"] is None
    text = render_text(rep)
    assert "broken: not-found since 2026-11-19T12:00:00Z (9 errors)" in text
    assert "quiet: nothing new for 144.0 h" in text
    assert "det-broad (detention): 20% relevant of 5 votes" in text
    assert "detention: 6 vs 2/2/2 (avg 2.0) (+200%)" in text
    json.dumps(rep)  # JSON-able as it is


def test_report_command(tmp_path, monkeypatch):
    d = tmp_path / "cfg"
    (d / "rules").mkdir(parents=True)
    (d / "sources.yaml").write_text("sources:\n  - id: picum\n    url: https://picum.org/feed/\n")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("NEWSBOT_CONFIG_DIR", raising=False)
    open_database(url).dispose()
    res = CliRunner().invoke(cli, ["--config-dir", str(d), "report", "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["sources_without_hits_30d"] == ["picum"]
    res = CliRunner().invoke(cli, ["--config-dir", str(d), "report"], catch_exceptions=False)
    assert res.exit_code == 0 and "Sources without a hit in 30 days (1):" in res.output
