"""Members see each event once (README "Stories, ranking and search"): a story alerted to a chat
gets a second outlet -> no second alert; the next digest shows it once as an update with "also
reported by"; /latest lists the event once. Real Sender and bot against the fake Bot API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.delivery.outbox import NewHit, queue_for_hits
from bot.storage.schema import destinations, hits, items, stories
from support.telegram_support import running_bot, say

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
CHAT = 4242
SOURCES_YAML = "sources:\n  - id: ansa\n    url: https://ansa.example/feed\n"
NAMES = {"ansa": "ANSA", "guardian": "The Guardian", "infomigrants": "InfoMigrants"}


@pytest.fixture
async def world(tmp_path, fake_bot_api):
    async with running_bot(tmp_path, fake_bot_api, SOURCES_YAML, NAMES) as w:
        yield w


def report(conn, item_id: int, source: str, title: str, at: datetime) -> NewHit:
    """An item of story 1 and its high-priority hit, as the pipeline stores them."""
    if not conn.execute(select(stories.c.id).where(stories.c.id == 1)).first():
        conn.execute(stories.insert().values(id=1, lead_item_id=item_id, created_at=at, updated_at=at))
    conn.execute(items.insert().values(id=item_id, source_id=source, guid=f"g{item_id}", language="en",
                                       url=f"https://{source}.example/{item_id}", title=title,
                                       first_seen_at=at, published_at=at, story_id=1, regions=["Europe"]))
    hid = conn.execute(hits.insert().values(item_id=item_id, theme="pushbacks", priority="high",
                                            created_at=at)).inserted_primary_key[0]
    return NewHit(hid, item_id, 1, "pushbacks", "high", "en", ("Europe",))


async def test_a_second_outlet_is_an_update_in_the_digest_not_a_second_alert(world) -> None:
    w = world
    with w.engine.begin() as conn:
        conn.execute(destinations.insert().values(chat_id=str(CHAT), origin="self", alerts="instant",
                                                  digest="daily 08:00", active=True, created_at=NOW))
        dest_id = conn.execute(select(destinations.c.id)).scalar()
        queue_for_hits(conn, [report(conn, 1, "ansa", "Boat capsizes off Lampedusa, dozens missing", NOW)], NOW)
    await w.sender.send_alerts()
    alerts = w.server.messages_to(CHAT)
    assert len(alerts) == 1 and "Lampedusa" in alerts[0].text

    later = NOW + timedelta(hours=3)
    with w.engine.begin() as conn:
        queue_for_hits(conn, [report(conn, 2, "guardian", "41 missing after boat capsizes off Lampedusa", later),
                              report(conn, 3, "infomigrants", "Lampedusa: 41 migrants missing", later)], later)
    await w.sender.send_alerts()
    assert len(w.server.messages_to(CHAT)) == 1, "a later report of an alerted story alerted again"

    assert await w.sender.send_digest(dest_id) == 1
    digest = w.server.messages_to(CHAT)[-1].text
    assert digest.count("Update (+2 outlets):") == 1, digest
    assert "41 missing" in digest and "also reported by" in digest and "ANSA" in digest

    # A chat that takes alerts and digests ("both") sees the alerted report itself in its
    # digest as a plain line, not as an update.
    with w.engine.begin() as conn:
        both = conn.execute(destinations.insert().values(
            chat_id="4343", origin="self", alerts="both", digest="daily 08:00", active=True,
            created_at=NOW)).inserted_primary_key[0]
        conn.execute(stories.insert().values(id=2, lead_item_id=9, created_at=NOW, updated_at=NOW))
        conn.execute(items.insert().values(id=9, source_id="ansa", guid="g9", language="en", story_id=2,
                                           url="https://ansa.example/9", title="Court frees rescue ship in Sicily",
                                           first_seen_at=NOW, published_at=NOW, regions=["Europe"]))
        hid = conn.execute(hits.insert().values(item_id=9, theme="pushbacks", priority="high",
                                                created_at=NOW)).inserted_primary_key[0]
        queue_for_hits(conn, [NewHit(hid, 9, 2, "pushbacks", "high", "en", ("Europe",))], NOW)
    await w.sender.send_alerts()
    assert await w.sender.send_digest(both) == 1
    plain = w.server.messages_to(4343)[-1].text
    assert "Court frees rescue ship" in plain and "Update" not in plain, plain

    latest = await say(w, "/latest", user=CHAT)
    assert latest.count("Lampedusa") == 1, latest
    assert "also reported by" in latest


async def test_reports_queued_together_alert_once_naming_the_other_outlets(world) -> None:
    """Five outlets' reports of one event reach the sender in one pass: the chat gets one
    alert, whose "also reported by" line names three outlets and counts the rest."""
    w = world
    with w.engine.begin() as conn:
        conn.execute(destinations.insert().values(chat_id=str(CHAT), origin="self", alerts="instant",
                                                  digest="off", active=True, created_at=NOW))
        queue_for_hits(conn, [report(conn, i, source, f"Boat capsizes off Lampedusa ({source})", NOW)
                              for i, source in enumerate(["ansa", "guardian", "infomigrants", "ecre", "ap"], 1)],
                       NOW)
    await w.sender.send_alerts()
    alerts = w.server.messages_to(CHAT)
    assert len(alerts) == 1, [a.text for a in alerts]
    assert "Also reported by The Guardian, InfoMigrants, ecre (+1)" in alerts[0].text, alerts[0].text
