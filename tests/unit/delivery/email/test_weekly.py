"""The weekly digest's content: selection, grouping, ranking, summary, templates and the
MIME message. Golden files in tests/fixtures/golden/ pin the rendered text, HTML and
message; regenerate them with UPDATE_GOLDEN=1 after an intended change, and read the diff."""

from __future__ import annotations

import email
import email.policy
import os
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config.themes import Theme, ThemeSet
from bot.delivery.email.weekly import (WeeklyEmail, parse_week, score, shift_week, theme_catalog, week_bounds,
                                week_label)
from bot.delivery.email.render import build_message, render, safe_url

from support.email_support import NOW, SOURCE_NAMES, THEMES, WEEK, deliveries, seed, settings
from support.paths import FIXTURES, REPO

GOLDEN = FIXTURES / "golden"
BRUSSELS = ZoneInfo("Europe/Brussels")
UTC = timezone.utc


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    # Read-only in this module: one database for all its tests.
    engine = seed(tmp_path_factory.mktemp("email") / "email.db")
    yield engine
    engine.dispose()


def weekly(db, tmp_path, lists=None, **kw):  # noqa: ANN001, ANN201
    return WeeklyEmail(db, deliveries(lists, **kw), THEMES, settings(tmp_path, "smtp://127.0.0.1:2525"),
                       clock=lambda: NOW, source_names=SOURCE_NAMES)


def scrub(text: str) -> str:
    """Boundaries, Message-ID and Date change every run; nothing else may."""
    text = re.sub(r"={10,}[0-9]+==", "==BOUNDARY==", text)
    text = re.sub(r"(?m)^Message-ID: <[^>]+>", "Message-ID: <SCRUBBED>", text)
    text = re.sub(r"(?m)^Date: .*$", "Date: SCRUBBED", text)
    return text


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path} was missing and has been written; check it and run again")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites)"


# ---- golden files --------------------------------------------------------------------------

def test_golden_text_html_and_message(db, tmp_path):
    w = weekly(db, tmp_path, [{"name": "members", "title": "Coalition members", "to": ["ana@example.org"]}])
    digest, html, text = w.render(w.list_named("members"), WEEK)
    golden("weekly.txt", text)
    golden("weekly.html", html)
    msg = build_message(digest, html, text, email_from="Συμμαχία newsbot <digest@coalition.example>",
                        recipient="ana@example.org", now=datetime.now(UTC))
    golden("weekly.eml", scrub(msg.as_string(policy=email.policy.SMTP.clone(linesep="\n"))))


# ---- what goes in --------------------------------------------------------------------------

def test_grouping_ranking_and_story_sources(db, tmp_path):
    w = weekly(db, tmp_path)
    d = w.digest(w.list_named(None), WEEK)
    assert [s.slug for s in d.sections] == ["pushbacks", "sea-rescue", "detention", "solidarity"]
    push = d.sections[0]
    # Three items of one story make one entry, led by the first reporter, with all sources.
    assert (push.stories, push.hits) == (2, 4)            # the backlog hit is left out
    lead = push.entries[0]
    assert lead.title.startswith("Boat with 40 people") and lead.source == "Alarm Phone"
    assert lead.sources == ["Alarm Phone", "Εφημερίδα των Συντακτών", "ECRE"]
    assert lead.countries == ["Greece", "Türkiye"]
    assert lead.why == ["pushed back NEAR Turkey, in title"]
    assert lead.published == datetime(2026, 11, 17, 7, tzinfo=BRUSSELS)
    # Two sources beat a newer single-source story.
    sea = d.sections[1]
    assert [e.sources for e in sea.entries] == [["الجزيرة", "InfoMigrants"], ["InfoMigrants"]]
    # Same sources and priority: the more recent first (no published date: when it was found).
    assert [e.source for e in d.sections[2].entries] == ["ECRE", "PICUM"]
    titles = [e.title for s in d.sections for e in s.entries]
    assert not any(t.startswith(("Week 46", "Week 48", "Backlog")) for t in titles)
    assert d.stories == 7 and d.hits == 10


@pytest.mark.parametrize("filters,themes,stories", [
    ({"themes": ["detention", "solidarity"]}, ["detention", "solidarity"], 3),
    ({"regions": ["Africa"]}, ["sea-rescue"], 1),
    ({"languages": ["el", "ar"]}, ["pushbacks", "sea-rescue"], 2),
    ({"themes": ["pushbacks"], "regions": ["Europe"], "languages": ["en"]}, ["pushbacks"], 2),
])
def test_list_filters(db, tmp_path, filters, themes, stories):
    w = weekly(db, tmp_path, [{"name": "l", "to": ["x@example.org"], **filters}])
    d = w.digest(w.list_named("l"), WEEK)
    assert [s.slug for s in d.sections] == themes and d.stories == stories


def test_summary_against_previous_four_weeks(db, tmp_path):
    w = weekly(db, tmp_path)
    d = w.digest(w.list_named(None), WEEK)
    rows = {r.slug: (r.this_week, r.average, r.trend) for r in d.summary}
    # detention: W46 1, W45 6, W44 4, W43 2 -> 13/4; pushbacks: 1 a week.
    assert rows == {"pushbacks": (4, 1.0, "up"), "sea-rescue": (3, 0.0, "up"),
                    "detention": (2, 3.25, "down"), "solidarity": (1, 0.0, "up")}
    assert d.weeks_averaged == 4
    bars = {r.slug: (r.bar, r.avg_bar) for r in d.summary}
    assert bars["pushbacks"] == (100, 25) and bars["detention"] == (50, 81)


def test_summary_averages_only_weeks_with_data(db, tmp_path):
    w = weekly(db, tmp_path)
    d = w.digest(w.list_named(None), shift_week(WEEK, -3))     # W44: only W43 before it
    assert d.weeks_averaged == 1
    assert {r.slug: r.average for r in d.summary} == {"pushbacks": 1.0, "detention": 2.0}
    first = w.digest(w.list_named(None), shift_week(WEEK, -4))  # W43: nothing before it
    assert first.weeks_averaged == 0 and all(r.average is None for r in first.summary)
    assert "earlier weeks (none recorded yet)" in render(first)[1]


def test_empty_week_still_renders(db, tmp_path):
    w = weekly(db, tmp_path)
    d, html, text = w.render(w.list_named(None), "2025-W01")
    assert d.sections == [] and "Nothing matched this list's themes this week." in text
    assert "Nothing matched" in html


def test_theme_catalog_from_a_theme_set_or_a_mapping():
    themes = ThemeSet([Theme(slug="a", title="A title", description="", priority="high", rules=())])
    assert theme_catalog(themes) == {"a": ("A title", "high")}
    assert theme_catalog({"b": ("B", "low")}) == {"b": ("B", "low")}
    assert theme_catalog([]) == {}


def test_the_shipped_themes_load_into_the_catalog():
    from bot.config.themes import load_themes

    catalog = theme_catalog(load_themes(REPO))
    assert catalog and all(p in ("high", "normal", "low") for _, p in catalog.values())


# ---- weeks, schedule, ranking ------------------------------------------------------------

@pytest.mark.parametrize("label,monday", [("2026-W47", date(2026, 11, 16)), ("2026-W01", date(2025, 12, 29)),
                                          ("2026-W53", date(2026, 12, 28))])
def test_parse_week(label, monday):
    assert parse_week(label) == monday and week_label(monday + timedelta(days=6)) == label


@pytest.mark.parametrize("bad", ["2026-47", "2026-W7", "W47", "2025-W53", ""])
def test_parse_week_rejects(bad):
    with pytest.raises(ValueError):
        parse_week(bad)


def test_week_bounds_follow_local_midnight_across_dst():
    start, end = week_bounds("2026-W13", BRUSSELS)           # clocks go forward on 29 March 2026
    assert start == datetime(2026, 3, 22, 23, tzinfo=UTC) and end == datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert end - start == timedelta(days=7, hours=-1)


@pytest.mark.parametrize("now,due", [
    (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), None),       # Monday 07:59 Brussels: W46 window is over
    (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "2026-W47"),  # Monday 08:00
    (datetime(2026, 11, 24, 20, 0, tzinfo=UTC), "2026-W47"),  # Tuesday: still catching up
    (datetime(2026, 11, 25, 7, 0, tzinfo=UTC), None),        # two days late: skipped, not sent stale
])
def test_due_week(db, tmp_path, now, due):
    w = weekly(db, tmp_path)
    assert w.due_week(now) == due


def test_schedule_day_time_and_zone(db, tmp_path):
    w = weekly(db, tmp_path, day="friday", time="17:30", timezone="America/New_York")
    assert w.scheduled_at(WEEK) == datetime(2026, 11, 27, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize("n,age_days,priority,kw,expected", [
    (1, 0, "normal", {}, 2.0),                     # the neutral story: bot.stories.ranking's 2
    (1, 3, "normal", {}, 1.0),                     # 72 h old at the end of the week: half
    (2, 0, "high", {}, 8.0),                       # priority 4 x coverage 2
    (4, 6, "low", {}, 0.75),                       # 1 x 3 x 0.25
    (1, 0, "normal", {"weight": 2.0}, 4.0),
    (1, 0, "normal", {"votes": (0, 1)}, 4 / 3),
    (1, 0, "normal", {"rule_votes": (3, 0)}, 3.2),
])
def test_score_is_the_shared_ranking_with_the_email_half_life(n, age_days, priority, kw, expected):
    from bot.stories.ranking import EMAIL_HALF_LIFE, Rankable
    from bot.stories.ranking import score as shared

    end = datetime(2026, 11, 23, tzinfo=UTC)
    when = end - timedelta(days=age_days)
    assert score(n, when, end, priority, **kw) == pytest.approx(expected)
    assert score(n, when, end, priority) == pytest.approx(
        shared(Rankable(key=1, priority=priority, sources=n, when=when), end, EMAIL_HALF_LIFE))


def test_weights_and_votes_reorder_a_theme(tmp_path):
    from sqlalchemy import select

    from bot.stories.feedback import record_vote
    from bot.storage.schema import hits, items

    engine = seed(tmp_path / "votes.db")
    try:
        def order(**kw):  # noqa: ANN202
            w = WeeklyEmail(engine, deliveries(None), THEMES, settings(tmp_path, "smtp://127.0.0.1:2525"),
                            clock=lambda: NOW, source_names=SOURCE_NAMES, **kw)
            d = w.digest(w.list_named(None), WEEK)
            return [e.source for e in next(s for s in d.sections if s.slug == "detention").entries]

        assert order() == ["ECRE", "PICUM"]                       # the newer first
        # PICUM's story is 6.6 days old at the end of the week, ECRE's 4 hours: recency 0.22
        # against 0.96 (half-life 72 h); a source 5x heavier, or 8 "not relevant" votes, flip it.
        assert order(weights={"picum": 5.0}) == ["PICUM", "ECRE"]
        with engine.begin() as conn:
            ecre_hit = conn.execute(select(hits.c.id).join(items, items.c.id == hits.c.item_id).where(
                items.c.source_id == "ecre", hits.c.theme == "detention", items.c.story_id == 6)).scalar_one()
            for k in range(8):
                record_vote(conn, ecre_hit, f"u{k}", -1, NOW)
        assert order() == ["PICUM", "ECRE"]                       # members said not relevant
    finally:
        engine.dispose()


# ---- templates and message ---------------------------------------------------------------

def test_html_is_escaped_safe_and_self_contained(db, tmp_path):
    w = weekly(db, tmp_path)
    _, html, text = w.render(w.list_named(None), WEEK)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "A &lt;b&gt;court&lt;/b&gt; fined three volunteers &amp; a priest for &#34;facilitation&#34;" in html
    assert "javascript:" not in html and "javascript:" not in text
    assert not re.search(r"<img|url\(|@import|<link", html, re.I)          # nothing remote
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "max-width:640px" in html
    # Dark-mode safety: every element that sets a text colour also sits on an explicit background
    # somewhere up its chain; the page and cards set both.
    for cls in ("nb-page", "nb-card", "nb-head", "nb-theme"):
        for tag in re.findall(rf'<[^>]*class="[^"]*{cls}[^"]*"[^>]*>', html):
            assert "background-color:" in tag and re.search(r"[^-]color:", tag), tag
    assert "A <b>court</b> fined" in text                       # plain text is not HTML-escaped


@pytest.mark.parametrize("url,ok", [("https://a.org/x", True), ("http://a.org", True), ("javascript:alert(1)", False),
                                    ("data:text/html,x", False), ("", False), (None, False), ("//a.org", False)])
def test_safe_url(url, ok):
    assert safe_url(url) == (url if ok else None)


def test_message_headers_and_one_click_unsubscribe(db, tmp_path):
    w = weekly(db, tmp_path)
    d, html, text = w.render(w.list_named(None), WEEK)
    msg = build_message(d, html, text, email_from="digest@coalition.example", recipient="ana@example.org",
                        now=NOW, unsubscribe_url="https://coalition.example/u/members")
    parsed = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == "Coalition members"   # list title without a name
    assert parsed["List-Unsubscribe"] == ("<mailto:digest@coalition.example?subject=unsubscribe%20members%20"
                                          "ana%40example.org>, <https://coalition.example/u/members>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Auto-Submitted"] == "auto-generated"
    plain = build_message(d, html, text, email_from="digest@coalition.example", recipient="ana@example.org",
                          now=NOW, unsubscribe_url="http://not-https.example/u")
    assert "List-Unsubscribe-Post" not in plain and "not-https" not in plain["List-Unsubscribe"]
