"""Reported misses in the database (bot.storage.reported) and an admin's decision on one
(bot.chat.missed.decide), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from sqlalchemy import select

from bot.chat import missed
from bot.config.themes import Theme, ThemeSet
from bot.storage import reported
from bot.storage.schema import deliveries, destinations, hits, items
from bot.stories.feedback import accepted_misses

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
THEMES = ThemeSet([Theme(slug="detention", title="Detention", description="", priority="normal", rules=()),
                   Theme(slug="pushbacks", title="Pushbacks", description="", priority="high", rules=())])


def report(conn, user: int = 42, at: datetime = NOW, theme: str = "pushbacks", url: str = "https://x.example/a") -> int:
    return reported.add_report(conn, url=url, title="Pushback at the Evros", summary="Lead", language="en",
                               theme=theme, matched=["detention"], chat_id=-100, user_id=user, now=at)


def test_reports_counted_listed_and_decided(engine) -> None:
    with engine.begin() as conn:
        first = report(conn, at=NOW - timedelta(hours=25))
        second = report(conn, at=NOW - timedelta(hours=2))
        report(conn, user=43)
    with engine.begin() as conn:
        assert reported.reports_today(conn, 42, NOW) == 1 and reported.reports_today(conn, "43", NOW) == 1
        assert [r.id for r in reported.open_reports(conn)] == [first, second, first + 2]
        r = reported.get_report(conn, second)
        assert (r.matched, r.chat_id, r.user_id, r.reported_at) == (("detention",), "-100", "42", NOW - timedelta(hours=2))
        assert reported.decide(conn, first, "dismissed", 7, NOW) is True
        assert reported.decide(conn, first, "accepted", 8, NOW) is False      # decided once
        assert reported.counts(conn, NOW - timedelta(days=2)) == {"reported": 2, "accepted": 0, "dismissed": 1}
        assert [x.id for x in reported.decided_since(conn, NOW)] == [first]
        assert reported.decided_since(conn, NOW + timedelta(seconds=1)) == []


def test_accepting_stores_item_hit_and_deliveries_once(engine) -> None:
    with engine.begin() as conn:
        conn.execute(destinations.insert().values(chat_id="42", origin="self", alerts="instant", digest="daily 08:00",
                                                  themes=["pushbacks"], active=True, created_at=NOW))
        a = report(conn)
        b = report(conn, user=43, theme="detention")
        c = report(conn, user=44, theme="retired", url="https://x.example/c")
    assert missed.decide(engine, a, True, 7, NOW, themes=THEMES) == "Accepted: now a hit of pushbacks, queued for 1 deliveries."
    # the same URL for another theme: the stored item gets a second hit (digest only: not subscribed)
    assert missed.decide(engine, b, True, 7, NOW, themes=THEMES) == "Accepted: now a hit of detention, queued for 0 deliveries."
    assert missed.decide(engine, a, False, 8, NOW, themes=THEMES) == "Already accepted by 7."
    assert "no longer in rules/" in missed.decide(engine, c, True, 7, NOW, themes=THEMES)
    assert missed.decide(engine, 999, True, 7, NOW, themes=THEMES) == "This report is no longer stored."
    with engine.connect() as conn:
        [item] = conn.execute(select(items)).all()
        assert (item.source_id, item.url, item.story_id is not None) == ("reported", "https://x.example/a", True)
        assert sorted(conn.execute(select(hits.c.theme)).scalars()) == ["detention", "pushbacks"]
        assert conn.execute(select(deliveries.c.dedupe_key)).scalars().all() == [f"alert:story:{item.story_id}"]
        judged = accepted_misses(conn, NOW - timedelta(days=1))
    assert {(j.item_id, j.theme, j.relevant) for j in judged} == {(item.id, "pushbacks", True), (item.id, "detention", True)}


def test_report_command_lists_open_reports(tmp_path, monkeypatch) -> None:
    """`newsbot report` (text and JSON): the open reported misses and the month's decisions."""
    import json

    from click.testing import CliRunner

    from bot.cli import cli
    from bot.storage.db import open_database

    (tmp_path / "rules").mkdir()
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = open_database(url)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        kept = report(conn, at=now - timedelta(hours=1))
        reported.decide(conn, report(conn, at=now - timedelta(hours=2)), "dismissed", 7, now)
    engine.dispose()
    res = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "report", "--format", "json"], catch_exceptions=False)
    section = json.loads(res.output)["reported_misses"]
    assert (section["open_count"], section["accepted_30d"], section["dismissed_30d"]) == (1, 0, 1)
    assert section["open"][0]["id"] == kept and section["open"][0]["rules_matched"] == ["detention"]
    text = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "report"], catch_exceptions=False).output
    assert "Reported misses waiting for a decision (1; 30 days: 0 accepted, 1 dismissed):" in text
    assert f"#{kept} pushbacks: Pushback at the Evros <https://x.example/a> (rules: detention)" in text
