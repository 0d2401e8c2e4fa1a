"""Issue 7 in Telegram, through the real python-telegram-bot client and the fake Bot API:
alerts carry relevant / not relevant buttons whose presses are stored per hit and member,
`/search`, rule precision in `/health`, and `/report`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.stories.feedback import record_vote
from bot.storage.schema import deliveries, destinations, feedback
from support.telegram_support import running_bot
from support.telegram_support import say as support_say
from support.seed_hits import add_hit, add_item, add_source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
SOURCES_YAML = """\
sources:
  - id: picum
    name: PICUM
    url: https://picum.org/feed/
  - id: ecre
    name: ECRE
    url: https://ecre.org/feed/
    weight: 2
"""
ADMIN, USER, OTHER, GROUP = 7, 42, 43, -100300


@pytest.fixture
async def w(tmp_path, fake_bot_api):
    async with running_bot(tmp_path, fake_bot_api, SOURCES_YAML, {"picum": "PICUM", "ecre": "ECRE"},
                           clock=lambda: NOW) as running:
        yield running


async def say(w, text: str, *, user: int = USER, chat: int | None = None) -> str:
    return await support_say(w, text, user=user, chat=chat)


async def press(w, data: str, *, user: int, chat: int, message_id: int) -> str:
    qid = w.server.callback(data, user_id=user, chat_id=chat, message_id=message_id)
    await w.server.wait_for(lambda: any(a["callback_query_id"] == qid for a in w.server.answers))
    return next(a["text"] for a in w.server.answers if a["callback_query_id"] == qid)


def votes(w) -> list[tuple]:
    with w.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(feedback.c.hit_id, feedback.c.user_id, feedback.c.vote)
                                               .order_by(feedback.c.hit_id, feedback.c.user_id))]


async def test_alerts_carry_feedback_buttons_and_votes_are_stored_per_member(w) -> None:
    with w.engine.begin() as conn:
        dest_id = conn.execute(destinations.insert().values(
            chat_id=str(GROUP), name="group", origin="config", alerts="instant", digest="off",
            active=True, created_at=NOW - timedelta(days=1))).inserted_primary_key[0]
        item, _ = add_item(conn, "picum", "Pushback <at> Evros & beyond", NOW - timedelta(hours=1))
        hit = add_hit(conn, item, "pushbacks", ["pb-en"], NOW - timedelta(hours=1), "high")
        conn.execute(deliveries.insert().values(destination_id=dest_id, hit_id=hit, kind="alert",
                                                dedupe_key=f"alert:hit:{hit}", created_at=NOW))
    report = await w.sender.run_once()
    assert report.sent == 1
    (alert,) = w.server.messages_to(GROUP)
    assert "Pushback &lt;at&gt; Evros &amp; beyond" in alert.text
    assert alert.reply_markup == {"inline_keyboard": [[
        {"text": "👍 Relevant", "callback_data": f"fb:{hit}:+"},
        {"text": "👎 Not relevant", "callback_data": f"fb:{hit}:-"}]]}

    # Any member may vote in a group (no admin rights needed); one vote per member.
    assert await press(w, f"fb:{hit}:+", user=USER, chat=GROUP, message_id=alert.message_id) == "Thanks: marked relevant."
    assert await press(w, f"fb:{hit}:-", user=OTHER, chat=GROUP, message_id=alert.message_id) \
        == "Thanks: marked not relevant. It helps tune the rules."
    assert await press(w, f"fb:{hit}:+", user=USER, chat=GROUP, message_id=alert.message_id) == "You already voted this way."
    assert await press(w, f"fb:{hit}:-", user=USER, chat=GROUP, message_id=alert.message_id) == "Changed your vote to not relevant."
    assert votes(w) == [(hit, str(USER), -1), (hit, str(OTHER), -1)]
    # A vote on a hit purged meanwhile is answered politely and stores nothing.
    assert "no longer stored" in await press(w, "fb:999999:+", user=USER, chat=GROUP, message_id=alert.message_id)
    assert len(votes(w)) == 2
    # The alert itself is not edited or answered with a chat message: only callback answers.
    assert len(w.server.messages_to(GROUP)) == 1


async def test_settings_buttons_still_work_beside_feedback(w) -> None:
    await say(w, "/subscribe all")
    await say(w, "/settings")
    msg = w.server.messages_to(USER)[-1]
    assert await press(w, "m:digest", user=USER, chat=USER, message_id=msg.message_id) == "Saved."
    with w.engine.connect() as conn:
        assert conn.execute(select(destinations.c.alerts).where(destinations.c.chat_id == str(USER))).scalar() == "digest"


def seed_search(engine) -> dict:
    ids = {}
    with engine.begin() as conn:
        ids["lesbos"], _ = add_item(conn, "picum", "Asylum seekers <detained> on Lesbos & Chios",
                                    NOW - timedelta(days=1), summary="Dozens of migrants were detained.")
        ids["lesbos2"], _ = add_item(conn, "ecre", "Asylum seekers <detained> on Lesbos & Chios - ECRE",
                                     NOW - timedelta(days=1) + timedelta(hours=2))
        ids["centre"], _ = add_item(conn, "picum", "Νέο κέντρο κράτησης: detention centre opens 🚨",
                                    NOW - timedelta(days=3), summary="The centre will hold migrants.")
        ids["old"], _ = add_item(conn, "picum", "Migrants detained in a 2019 raid", NOW - timedelta(days=60))
        add_hit(conn, ids["centre"], "detention", ["det-en"], NOW - timedelta(days=3), "high")
    return ids


async def test_search_command(w) -> None:
    seed_search(w.engine)
    assert {c["command"] for c in w.server.commands} >= {"search"}
    assert "/search" in await say(w, "/help")
    text = await say(w, "/search detain*")
    lines = text.split("\n")
    assert lines[0].startswith("<b>🔎 detain*</b>")
    # one line per story; the Lesbos story once, naming the other outlet; the old item is out
    assert sum("Lesbos" in line for line in lines) == 1
    assert "Asylum seekers &lt;detained&gt; on Lesbos &amp; Chios" in text
    assert "also reported by" in text and "2019" not in text
    text = await say(w, '/search "detention centre" -football')
    assert "Νέο κέντρο κράτησης" in text and "Detention" in text and "Lesbos" not in text
    assert "Nothing matches <code>zzzqqq</code>" in await say(w, "/search zzzqqq")
    err = await say(w, "/search (detention AND")
    assert err.startswith("Query error at column") and "Usage: /search QUERY" in err and "\n" not in err
    assert (await say(w, "/search")).startswith("Usage: /search QUERY")


async def test_health_shows_rule_precision_and_report_on_demand(w) -> None:
    with w.engine.begin() as conn:
        add_source(conn, "picum", NOW - timedelta(days=40), status="failing", last_error_kind="timeout",
                   failing_since=NOW - timedelta(days=2), error_count=4, last_error="timed out <30s>")
        for i in range(4):
            item, _ = add_item(conn, "ecre", f"Broad detention item number {i} about football",
                               NOW - timedelta(days=1, hours=i))
            hit = add_hit(conn, item, "detention", ["det-broad"], NOW - timedelta(days=1, hours=i))
            record_vote(conn, hit, f"u{i}", -1 if i < 3 else 1, NOW)
        item, _ = add_item(conn, "ecre", "Pushback at the Evros border", NOW - timedelta(hours=3))
        hit = add_hit(conn, item, "pushbacks", ["pb-en"], NOW - timedelta(hours=3), "high")
        record_vote(conn, hit, "u1", 1, NOW)
    assert "admins" in await say(w, "/health")
    text = await say(w, "/health", user=ADMIN)
    assert "1 failing sources" in text and "timed out &lt;30s&gt;" in text
    assert "<code>det-broad</code> (detention): 25% relevant, 1👍 3👎 on 4 hits" in text
    assert "<code>pb-en</code> (pushbacks): 100% relevant" in text
    assert "<b>Noisiest rules</b>: <code>det-broad</code> 25% of 4" in text

    assert "admins" in await say(w, "/report")
    before = len(w.server.messages_to(ADMIN))
    w.server.user_message("/report", user_id=ADMIN)
    await w.server.wait_for(lambda: len(w.server.messages_to(ADMIN)) > before)
    report = w.server.messages_to(ADMIN)[-1]
    assert report.text.startswith("<pre>Coordinator report, 2026-11-22T09:00:00Z")
    assert "picum: timeout since 2026-11-20T09:00:00Z (4 errors)" in report.text
    assert "det-broad (detention): 25% relevant of 4 votes" in report.text
    assert "/report" in await say(w, "/help", user=ADMIN)
