"""Members report misses: `/missed URL [THEME]` through the real python-telegram-bot client and
the fake Bot API, with the article on a loopback page; the report stored, shown to admins in
`/report` with Accept / Dismiss buttons; an accepted one becomes a hit that is delivered like
any other, and a judgement for `rules evaluate --from-feedback`."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.config.themes import load_themes
from bot.insight.report import build_report, render_text
from bot.storage import reported
from bot.storage.schema import deliveries, hits, items, reported_misses
from bot.stories.feedback import labelled_from_feedback
from support.telegram_support import running_bot
from support.telegram_support import say as support_say
from support.paths import FIXTURES

RULESET = FIXTURES / "ruleset"   # stable rules, unlike the packs
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
ADMIN, USER, OTHER = 7, 42, 43
SOURCES_YAML = "sources:\n  - id: picum\n    name: PICUM\n    url: https://picum.org/feed/\n"
EVROS = """<html lang="en"><head>
<meta property="og:title" content="Police pushback at the Evros river &amp; people sent back">
<meta name="description" content="Witnesses said the group, including children, was forced onto boats at night.">
</head><body></body></html>"""
QUIET = "<html><head><title>Town council approves new bicycle lanes</title></head><body></body></html>"


@pytest.fixture
async def w(tmp_path, fake_bot_api, feedserver):
    async with running_bot(tmp_path, fake_bot_api, SOURCES_YAML, {"picum": "PICUM"}, clock=lambda: NOW,
                           themes=load_themes(RULESET)) as running:
        running.bot.state.settings = dataclasses.replace(running.bot.state.settings, allow_private_networks=True)
        running.pages = feedserver
        yield running


async def say(w, text: str, *, user: int = USER) -> str:
    return await support_say(w, text, user=user)


async def press(w, data: str, *, user: int, message_id: int) -> str:
    qid = w.server.callback(data, user_id=user, chat_id=user, message_id=message_id)
    await w.server.wait_for(lambda: any(a["callback_query_id"] == qid for a in w.server.answers))
    return next(a["text"] for a in w.server.answers if a["callback_query_id"] == qid)


def rows(w) -> list:
    with w.engine.connect() as conn:
        return list(conn.execute(select(reported_misses).order_by(reported_misses.c.id)))


async def test_a_member_reports_a_miss_and_an_admin_accepts_it(w) -> None:
    url = w.pages.add("/evros", EVROS, content_type="text/html; charset=utf-8")
    assert "Subscribed" in await say(w, "/subscribe pushbacks", user=OTHER)   # who should get it once accepted
    assert any(c["command"] == "missed" for c in w.server.commands)

    text = await say(w, f"/missed {url} pushbacks")
    assert "Police pushback at the Evros river &amp; people sent back</a></b> (en)" in text
    assert ("Closest rules of <b>Pushbacks</b>:\n"
            "• found pushback; but no (Greece OR Croatia OR Poland) near pushback (NEAR/5)") in text
    assert text.endswith("Thank you: reported to the coordinators (#1).")
    [row] = rows(w)
    assert (row.theme, row.status, row.user_id, row.chat_id, row.url) == ("pushbacks", "reported", str(USER), str(USER), url)
    assert row.title.startswith("Police pushback") and row.summary.startswith("Witnesses said") and row.language == "en"
    assert row.matched == []

    # coordinators see it in the report (text and dict), and admins get a card with buttons
    with w.engine.connect() as conn:
        report = build_report(conn, NOW, source_ids=["picum"])
    assert report["reported_misses"]["open_count"] == 1 and report["reported_misses"]["open"][0]["url"] == url
    assert "Reported misses waiting for a decision (1; 30 days: 0 accepted, 0 dismissed):" in render_text(report)
    assert "for newsbot admins" in await say(w, "/report")
    before = len(w.server.messages_to(ADMIN))
    await say(w, "/report", user=ADMIN)
    await w.server.wait_for(lambda: any(m.reply_markup for m in w.server.messages_to(ADMIN)[before:]))
    sent = w.server.messages_to(ADMIN)[before:]
    assert "Reported misses waiting for a decision (1;" in sent[0].text
    card = next(m for m in sent if m.reply_markup)
    assert card.text.startswith("<b>Reported miss #1</b>")
    buttons = [b["callback_data"] for b in card.reply_markup["inline_keyboard"][0]]
    assert buttons == ["rm:1:a", "rm:1:d"]

    # only admins decide
    assert "Only newsbot admins" in await press(w, "rm:1:a", user=USER, message_id=card.message_id)
    assert rows(w)[0].status == "reported"
    answer = await press(w, "rm:1:a", user=ADMIN, message_id=card.message_id)
    assert answer == "Accepted: now a hit of pushbacks, queued for 1 deliveries."
    row = rows(w)[0]
    assert (row.status, row.decided_by, row.decided_at) == ("accepted", str(ADMIN), NOW)
    with w.engine.connect() as conn:
        item = conn.execute(select(items).where(items.c.id == row.item_id)).one()
        hit = conn.execute(select(hits).where(hits.c.item_id == item.id)).one()
        queued = conn.execute(select(deliveries).where(deliveries.c.hit_id == hit.id)).one()
    assert (item.source_id, item.url, item.is_backlog) == ("reported", url, False)
    assert (hit.theme, hit.rules, hit.priority) == ("pushbacks", ["reported"], "high")
    assert queued.kind == "alert" and queued.status == "queued"
    assert "Already accepted by 7" in await press(w, "rm:1:d", user=ADMIN, message_id=card.message_id)

    # delivered like any hit: the sender sends the alert to the subscriber
    await w.sender.run_once()
    assert any("Evros river" in m.text for m in w.server.messages_to(OTHER))

    # and the accepted report is a judgement for `rules evaluate --from-feedback`
    with w.engine.connect() as conn:
        [label] = labelled_from_feedback(conn, NOW - timedelta(days=90))
    assert (label.item_id, label.gold, label.judged) == (item.id, frozenset({"pushbacks"}), frozenset({"pushbacks"}))
    assert label.item.title.startswith("Police pushback")


async def test_a_report_of_a_stored_item_adds_the_hit_to_it(w) -> None:
    """The page was polled from a monitored source (same canonical URL) and missed: accepting
    adds the theme's hit to that item rather than storing it twice; dismissing stores nothing."""
    url = w.pages.add("/evros", EVROS, content_type="text/html")
    with w.engine.begin() as conn:
        item_id = conn.execute(items.insert().values(source_id="picum", guid="p1", url=url, title="Evros",
                                                     first_seen_at=NOW)).inserted_primary_key[0]
    await say(w, f"/missed {url} detention")
    await say(w, f"/missed {url} pushbacks", user=OTHER)
    assert (await press(w, "rm:1:a", user=ADMIN, message_id=1)).startswith("Accepted: now a hit of detention")
    assert await press(w, "rm:2:d", user=ADMIN, message_id=1) == "Dismissed."
    with w.engine.connect() as conn:
        assert conn.execute(select(items.c.id)).scalars().all() == [item_id]
        assert conn.execute(select(hits.c.theme).where(hits.c.item_id == item_id)).scalars().all() == ["detention"]
        assert reported.decided_since(conn, None, "dismissed")[0].theme == "pushbacks"


async def test_what_is_refused(w) -> None:
    url = w.pages.add("/evros", EVROS, content_type="text/html")
    assert (await say(w, "/missed")).startswith("Usage: /missed URL [THEME]")
    assert (await say(w, "/missed not-a-link")).startswith("Usage: /missed URL [THEME]")
    text = await say(w, f"/missed {url} pushback")
    assert "Unknown theme <code>pushback</code>. Did you mean <code>pushbacks</code>?" in text
    assert w.pages.hits("/evros") == 0                       # refused before fetching
    gone = w.pages.add("/gone", status=404, body=b"no", content_type="text/html")
    assert (await say(w, f"/missed {gone} pushbacks")).startswith("Could not read that page (not-found)")
    quiet = w.pages.add("/quiet", QUIET, content_type="text/html")
    text = await say(w, f"/missed {quiet}")
    assert "Not reported yet: which theme did you expect it in" in text and "Town council approves" in text
    assert f"/missed {url}" in await say(w, f"/missed {url}")
    assert rows(w) == []

    # the guarded fetcher's rules: a loopback page is refused without the allowance
    fetched = w.pages.hits("/evros")
    w.bot.state.settings = dataclasses.replace(w.bot.state.settings, allow_private_networks=False)
    assert (await say(w, f"/missed {url} pushbacks")).startswith("Could not read that page (blocked)")
    assert w.pages.hits("/evros") == fetched
    w.bot.state.settings = dataclasses.replace(w.bot.state.settings, allow_private_networks=True)

    # at most 20 a day per member
    with w.engine.begin() as conn:
        for i in range(reported.DAILY_LIMIT - 1):
            reported.add_report(conn, url=f"https://x.example/{i}", title="t", summary="", language="en",
                                theme="pushbacks", matched=[], chat_id=USER, user_id=USER, now=NOW - timedelta(hours=1))
        reported.add_report(conn, url="https://x.example/old", title="t", summary="", language="en",
                            theme="pushbacks", matched=[], chat_id=USER, user_id=USER, now=NOW - timedelta(hours=30))
    assert "Thank you: reported" in await say(w, f"/missed {url} pushbacks")
    hits_before = w.pages.hits("/evros")
    assert "You have reported 20 articles in the last 24 hours" in await say(w, f"/missed {url} pushbacks")
    assert w.pages.hits("/evros") == hits_before
    assert "Thank you: reported" in await say(w, f"/missed {url} pushbacks", user=OTHER)   # per member
