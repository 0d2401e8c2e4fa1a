"""Bot commands through the real python-telegram-bot Application (long polling) against the
fake Bot API: scripted user updates in, replies checked like Telegram would."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.chat import members
from bot.storage.schema import deliveries, destinations, hits, items
from support.telegram_support import running_bot
from support.telegram_support import say as support_say

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
SOURCES_YAML = """\
# Coalition sources: keep this comment
defaults:
  interval: 30m
sources:
  # NGOs
  - id: picum
    name: PICUM
    url: https://picum.org/feed/
  - id: ecre   # European Council on Refugees and Exiles
    url: https://ecre.org/feed/
"""
ADMIN, USER, GROUP = 7, 42, -100300


@pytest.fixture
async def bot(tmp_path, fake_bot_api):
    async with running_bot(tmp_path, fake_bot_api, SOURCES_YAML, {"picum": "PICUM"}) as w:
        yield w


async def say(w, text: str, *, user: int = USER, chat: int | None = None) -> str:
    reply = await support_say(w, text, user=user, chat=chat)
    assert "Traceback" not in reply and "\n" not in reply.strip() or reply.count("\n") < 60
    return reply


def dest(w, chat: int):
    with w.engine.connect() as conn:
        return conn.execute(select(destinations).where(destinations.c.chat_id == str(chat))).first()


async def test_commands_are_registered_and_basic_replies(bot) -> None:
    w = bot
    assert {c["command"] for c in w.server.commands} >= {"start", "help", "themes", "subscribe", "unsubscribe",
                                                          "settings", "digest", "latest", "sources", "status"}
    assert "newsbot" in await say(w, "/start")
    assert "/subscribe" in await say(w, "/help")
    text = await say(w, "/themes")
    assert "Pushbacks &amp; violence" in text and "Middle East" in text
    assert (await say(w, "/frobnicate now")).startswith("Unknown command /frobnicate")
    assert (await say(w, "/subscribe")).startswith("Usage: /subscribe")
    assert "Unknown theme or region: atlantis" in await say(w, "/subscribe atlantis")
    assert "admins" in await say(w, "/pausesource picum")          # not an admin


async def test_self_subscription_lifecycle(bot) -> None:
    w = bot
    assert "You follow Pushbacks &amp; violence, in Europe, Middle East" in await say(w, "/subscribe pushbacks Europe middle east")
    row = dest(w, USER)
    assert row.origin == "self" and row.themes == ["pushbacks"] and row.regions == ["Europe", "Middle East"]
    await say(w, "/subscribe detention")
    assert dest(w, USER).themes == ["detention", "pushbacks"]
    await say(w, "/unsubscribe pushbacks")
    assert dest(w, USER).themes == ["detention"]
    assert "Detention" in await say(w, "/status")
    await say(w, "/unsubscribe all")
    assert not dest(w, USER).active


async def test_settings_keyboard_changes_the_subscription(bot) -> None:
    w = bot
    await say(w, "/subscribe all")
    await say(w, "/settings")
    msg = w.server.messages_to(USER)[-1]
    assert "Settings" in msg.text
    before = len(w.server.sent)
    w.server.callback("m:digest", user_id=USER, message_id=msg.message_id)
    await w.server.wait_for(lambda: len(w.server.sent) > before)
    assert dest(w, USER).alerts == "digest"
    w.server.callback("d:weekly monday 08:00", user_id=USER, message_id=msg.message_id)
    await w.server.wait_for(lambda: dest(w, USER).digest == "weekly monday 08:00")
    w.server.callback("t:pushbacks", user_id=USER, message_id=msg.message_id)
    await w.server.wait_for(lambda: dest(w, USER).themes == ["detention"])
    assert any(c.method == "answerCallbackQuery" for c in w.server.calls)


async def test_in_groups_only_admins_change_and_config_chats_are_locked(bot) -> None:
    w = bot
    assert "Only the group's admins" in await say(w, "/subscribe pushbacks", user=USER, chat=GROUP)
    assert dest(w, GROUP) is None
    w.server.chat_admins[str(GROUP)].add(USER)
    assert "Subscribed" in await say(w, "/subscribe pushbacks", user=USER, chat=GROUP)
    with w.engine.begin() as conn:
        conn.execute(destinations.insert().values(chat_id="-100900", origin="config", alerts="instant",
                                                  digest="daily 08:00", active=True, created_at=NOW))
    w.server.chat_admins["-100900"].add(USER)
    assert "deliveries.yaml" in await say(w, "/unsubscribe all", user=USER, chat=-100900)


async def test_digest_now_latest_and_sources(bot) -> None:
    w = bot
    await say(w, "/subscribe all")
    assert "Nothing new" in await say(w, "/digest")
    row = dest(w, USER)
    with w.engine.begin() as conn:
        for i in range(1, 4):
            conn.execute(items.insert().values(id=i, source_id="picum", guid=f"g{i}", url=f"https://x.org/{i}",
                                               title=f"Ναυάγιο <{i}> & 🚤", first_seen_at=NOW))
            hid = conn.execute(hits.insert().values(item_id=i, theme="detention", priority="normal",
                                                    created_at=NOW)).inserted_primary_key[0]
            conn.execute(deliveries.insert().values(destination_id=row.id, hit_id=hid, kind="digest",
                                                    dedupe_key=f"digest:hit:{hid}", created_at=NOW))
    text = await say(w, "/digest")
    assert "Ναυάγιο &lt;1&gt; &amp; 🚤" in text and "PICUM" in text

    # The server has the message before the bot has its answer and marks the rows sent.
    def statuses() -> set[str]:
        with w.engine.connect() as conn:
            return set(conn.execute(select(deliveries.c.status)).scalars())

    await w.server.wait_for(lambda: "sending" not in statuses())
    assert statuses() == {"sent"}
    assert "Nothing new" in await say(w, "/digest")
    assert "Ναυάγιο &lt;3&gt;" in await say(w, "/latest detention")
    assert "Unknown theme" in await say(w, "/latest nope")
    text = await say(w, "/sources")
    assert "picum" in text and "ecre" in text


async def test_admin_source_commands_keep_comments(bot) -> None:
    w = bot
    text = await say(w, "/pausesource picum", user=ADMIN)
    assert "paused" in text
    saved = (w.dir / "sources.yaml").read_text()
    assert "# Coalition sources: keep this comment" in saved and "enabled: false" in saved
    assert "# European Council on Refugees and Exiles" in saved
    assert "no source" in await say(w, "/removesource nope", user=ADMIN)
    assert "removed" in await say(w, "/removesource ecre", user=ADMIN)
    assert "ecre" not in (w.dir / "sources.yaml").read_text()
    assert (await say(w, "/addsource", user=ADMIN)).startswith("Usage: /addsource URL")
    assert "Not added" in await say(w, "/addsource http://127.0.0.1:1/feed", user=ADMIN)
    assert "All sources are healthy" in await say(w, "/health", user=ADMIN)


async def test_a_failing_handler_sends_one_line_and_no_traceback(bot, monkeypatch) -> None:
    w = bot

    def boom(*a, **k):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(members, "load_entries", boom)
    text = await say(w, "/latest")
    assert text.startswith("Sorry") and "secret" not in text and "RuntimeError" not in text


async def test_addsource_follows_a_page_to_its_feed_and_keeps_comments(bot) -> None:
    """An admin's /addsource of a web page: the page's feed link is followed, the feed is
    fetched and parsed once, and its URL goes into sources.yaml beside the comments."""
    import dataclasses

    from support.feedserver import FeedServer

    w = bot
    w.bot.state.settings = dataclasses.replace(w.bot.state.settings, allow_private_networks=True)
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Border Monitor</title>"
           "<link>https://bordermonitor.example/</link>"
           "<item><title>Pushbacks at the border</title><link>https://bordermonitor.example/1</link></item>"
           "<item><title>Camp report</title><link>https://bordermonitor.example/2</link></item>"
           "</channel></rss>").encode()
    with FeedServer() as feeds:
        feeds.add("/feed.xml", body=rss, content_type="application/rss+xml")
        feeds.add("/", body=b"<html><head><link rel='alternate' type='application/rss+xml' "
                            b"href='/feed.xml'></head><body>News</body></html>", content_type="text/html")
        text = await say(w, f"/addsource {feeds.url('/')}", user=ADMIN)
        assert text.startswith("Added <code>") and "(2 items now)" in text, text
        saved = (w.dir / "sources.yaml").read_text()
        assert feeds.url("/feed.xml") in saved
        assert "# Coalition sources: keep this comment" in saved and "# European Council on Refugees and Exiles" in saved
        assert "for newsbot admins" in await say(w, f"/addsource {feeds.url('/')}", user=USER)
        assert feeds.hits("/feed.xml") == 1      # a refused command fetches nothing
