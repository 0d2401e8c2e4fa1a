"""The real python-telegram-bot client against the fake Bot API: 500+ hits to a dozen
destinations with faults injected, flood limits checked on the recorded (virtual) times,
and a sender killed mid-run and restarted. Nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.delivery.outbox import NewHit, queue_for_hits
from bot.delivery.telegram.flood import FloodLimits
from bot.delivery.telegram.sender import Sender
from bot.delivery.telegram.api import TelegramTransport, make_bot
from bot.storage.db import open_database
from bot.storage.schema import deliveries, destinations, hits, items, stories
from support.fakebotapi import TOKEN, FakeBotAPI, FloodLimits as ServerLimits
from support.flood_check import check_flood_limits
from support.clocks import VirtualClock

START = datetime(2026, 11, 22, 8, 30, tzinfo=timezone.utc)
THEMES = {"pushbacks": "high", "deaths": "high", "detention": "normal", "funding": "low", "policy": "normal"}
TITLE_BITS = ["Pushback at Evros <b>&", "Ναυάγιο στη Λέσβο 🚤", "وفاة مهاجرين على الحدود 🆘",
              "Détention & « centres »", "A<B & C>D"]
REGIONS = ["Europe", "Africa", "Middle East", "Asia"]



# (chat, thread, alerts, digest, themes, regions, languages)
DESTS = [
    ("1001", None, "instant", "daily 08:00", None, None, None),
    ("1002", None, "both", "daily 08:00", None, None, None),
    ("1003", None, "digest", "daily 08:00", None, None, None),
    ("1004", None, "instant", "off", ["pushbacks"], None, None),
    ("1005", None, "instant", "daily 08:00", None, ["Africa"], None),
    ("1006", None, "both", "daily 08:00", ["deaths", "detention"], None, ["en", "el"]),
    ("1007", None, "instant", "daily 08:00", None, None, None),           # blocks the bot
    ("-4001", None, "instant", "daily 08:00", None, ["Europe"], None),     # migrates
    ("-1002000", None, "instant", "daily 08:00", None, None, None),        # busy supergroup
    ("-1002001", 17, "both", "daily 08:00", ["pushbacks", "deaths"], None, None),  # forum topic
    ("@coalition_alerts", None, "instant", "off", ["pushbacks", "deaths"], None, None),
    ("1008", None, "digest", "weekly sunday 08:00", ["funding", "policy"], None, None),
]
BLOCKED, MIGRATING, MIGRATED_TO = "1007", "-4001", -1004001


def build(engine, n_hits: int, seed: int = 7) -> dict:
    """Destinations, then n_hits hits queued as the pipeline does (one transaction per item)."""
    rnd = random.Random(seed)
    with engine.begin() as conn:
        for chat, thread, alerts, digest, th, rg, lg in DESTS:
            conn.execute(destinations.insert().values(
                chat_id=chat, thread_id=thread, name=f"dest {chat}", origin="config", alerts=alerts,
                digest=digest, themes=th, regions=rg, languages=lg, active=True,
                created_at=START - timedelta(days=1)))
    made, item_id, story_id = 0, 0, 0
    while made < n_hits:
        item_id += 1
        if story_id == 0 or rnd.random() < 0.7:
            story_id += 1                      # otherwise: another source of the same story
        themes = rnd.sample(sorted(THEMES), rnd.choice([1, 1, 1, 2]))
        lang = rnd.choice(["en", "el", "ar", "fr"])
        regions = rnd.sample(REGIONS, rnd.choice([0, 1, 2]))
        backlog = rnd.random() < 0.05
        with engine.begin() as conn:
            if not conn.execute(select(stories.c.id).where(stories.c.id == story_id)).first():
                conn.execute(stories.insert().values(id=story_id, created_at=START, updated_at=START))
            title = f"S{story_id:04d}-I{item_id:04d} {rnd.choice(TITLE_BITS)}"
            conn.execute(items.insert().values(
                id=item_id, source_id=f"src{item_id % 9}", guid=f"g{item_id}",
                url=f"https://news.example/{item_id}?a=1&b=2", title=title,
                summary="Summary with <tags> & “quotes” " * 4, first_seen_at=START, language=lang,
                published_at=START - timedelta(hours=1), countries=["GR"], regions=regions,
                story_id=story_id, is_backlog=backlog))
            new = []
            for theme in themes:
                hid = conn.execute(hits.insert().values(
                    item_id=item_id, theme=theme, priority=THEMES[theme], rules=[f"{theme}-en"],
                    explanations=[{"rule": f"{theme}-en", "description": f"{theme} NEAR Greece, in title",
                                   "snippet": "…people <pushed back> & left at sea…"}],
                    created_at=START)).inserted_primary_key[0]
                new.append(NewHit(hid, item_id, story_id, theme, THEMES[theme], lang, tuple(regions), backlog))
            queue_for_hits(conn, new, START)
        made += len(themes)
    return {"hits": made}


def expected(engine) -> tuple[set, set]:
    """Recomputed from the rows, independently of the outbox: which (dest, story) alerts and
    which (dest, hit) digest lines should exist (blocked chat excluded)."""
    alerts, digest = set(), set()
    with engine.connect() as conn:
        rows = conn.execute(select(hits.c.id, hits.c.theme, hits.c.priority, items.c.story_id,
                                   items.c.language, items.c.regions, items.c.is_backlog)
                            .join(items, items.c.id == hits.c.item_id).order_by(hits.c.id)).all()
    for chat, _thread, alert_mode, dig, th, rg, lg in DESTS:
        if chat == BLOCKED:
            continue
        for h in rows:
            if h.is_backlog or (th and h.theme not in th) or (rg and not set(rg) & set(h.regions)) \
                    or (lg and h.language not in lg):
                continue
            instant = h.priority == "high" and alert_mode in ("instant", "both")
            if instant:
                if (chat, h.story_id) in alerts and dig != "off" and alert_mode != "both":
                    digest.add((chat, h.id))   # a later report of an alerted story: an update
                alerts.add((chat, h.story_id))
            if dig != "off" and (not instant or alert_mode == "both"):
                digest.add((chat, h.id))
    return alerts, digest


@pytest.fixture
async def world(db_url):
    clock = VirtualClock(START)
    server = await FakeBotAPI(clock=clock.ts, enforce_limits=ServerLimits()).start()
    engine = open_database(db_url)   # SQLite and PostgreSQL (tests/support/fixtures_db.py)
    yield clock, server, engine
    await server.stop()
    engine.dispose()


def faults(server: FakeBotAPI, seed: int = 3) -> None:
    rnd = random.Random(seed)

    def pick(params: dict) -> str | None:
        x = rnd.random()
        return "429" if x < 0.03 else "500" if x < 0.06 else "drop" if x < 0.08 else None

    server.random_faults = pick
    server.blocked.add(BLOCKED)
    server.migrated[MIGRATING] = MIGRATED_TO
    server.inject("400", chat_id="1002", times=1, description="Bad Request: message is too long")


def new_sender(engine, server: FakeBotAPI, clock: VirtualClock) -> Sender:
    bot = make_bot(TOKEN, server.url, read_timeout=5.0)
    return Sender(engine, TelegramTransport(bot), clock=clock, sleep=clock.sleep,
                  admin_ids={99}, per_theme=10_000)


def verify(engine, server: FakeBotAPI, n_hits: int) -> dict:
    want_alerts, want_digest = expected(engine)
    accepted = defaultdict(dict)
    for s in server.sent:
        accepted[s.chat_id][s.message_id] = s
    with engine.connect() as conn:
        chat_of = {d.id: d.chat_id for d in conn.execute(select(destinations))}
        orig = {d.id: d.chat_id for d in conn.execute(select(destinations))}
        rows = conn.execute(select(deliveries, items.c.story_id).join(hits, hits.c.id == deliveries.c.hit_id)
                            .join(items, items.c.id == hits.c.item_id)).all()
        dests = {d.id: d for d in conn.execute(select(destinations))}
    by_status = Counter(r.status for r in rows)
    # the one message refused with BadRequest is recorded; the rest of that chat went on
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 1 and "message is too long" in failed[0].error.lower()
    if failed[0].kind == "digest":
        want_digest.discard(("1002", failed[0].hit_id))
    else:
        want_alerts.discard(("1002", failed[0].story_id))
    # every alert message that Telegram accepted, per chat and story: exactly one
    alert_msgs = Counter()
    for chat, msgs in accepted.items():
        for s in msgs.values():
            if not s.disable_preview and chat != "99":
                m = re.search(r"S(\d{4})-I\d{4}", s.text)
                assert m, s.text
                alert_msgs[(chat, int(m.group(1)))] += 1
    dup = {k: v for k, v in alert_msgs.items() if v > 1}
    assert not dup, f"alerts sent twice: {dup}"
    final = {c: (str(MIGRATED_TO) if c == MIGRATING else c) for c, *_ in DESTS}
    assert set(alert_msgs) == {(final[c], s) for c, s in want_alerts}
    # every sent row points at a message that really arrived in its chat
    got_alerts, got_digest = set(), set()
    for r in rows:
        chat = orig[r.destination_id]
        if r.status == "sent":
            assert r.message_id in accepted[chat_of[r.destination_id]], r
            if r.kind == "alert":
                got_alerts.add((_orig_chat(dests[r.destination_id]), r.story_id))
            else:
                got_digest.add((_orig_chat(dests[r.destination_id]), r.hit_id))
    assert got_alerts == want_alerts
    assert got_digest == want_digest
    # digests: every story line once per chat
    lines = Counter()
    for chat, msgs in accepted.items():
        for s in msgs.values():
            if s.disable_preview:
                for m in re.finditer(r"S(\d{4})-I\d{4}", s.text):
                    lines[(chat, int(m.group(1)))] += 1
    assert all(v == 1 for v in lines.values()), [k for k, v in lines.items() if v > 1][:5]
    blocked = [d for d in dests.values() if d.chat_id == BLOCKED][0]
    assert not blocked.active and "blocked" in blocked.inactive_reason
    assert all(r.status == "skipped" for r in rows if r.destination_id == blocked.id)
    assert any("1007" in s.text for s in server.messages_to(99)), "admins were not told"
    return {"rows": len(rows), "status": dict(by_status), "alerts": len(want_alerts),
            "digest_lines": len(want_digest), "messages": len(server.sent)}


def _orig_chat(dest) -> str:
    return MIGRATING if dest.chat_id == str(MIGRATED_TO) else dest.chat_id


# The longest test of the suite: on SQLite only (the cancel/restart test below and
# tests/integration/runtime/test_daemon_multiworker.py cover the sender on PostgreSQL).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_500_hits_to_a_dozen_destinations_exactly_once_within_flood_limits(world, capsys) -> None:
    clock, server, engine = world
    built = build(engine, 520)
    faults(server)
    async with new_sender(engine, server, clock) as sender:
        report = await sender.run_once(wait_retries=True, max_wait=6 * 3600)
    figures = verify(engine, server, built["hits"])
    check_flood_limits(server, FloodLimits())
    refused = Counter(c.status for c in server.calls if c.method == "sendMessage")
    assert refused[429] and refused[500] and refused[-1] and refused[403] and refused[400]
    assert report.flood_waits >= refused[429] - 1 and report.migrated == [(MIGRATING, str(MIGRATED_TO))]
    elapsed = (clock.now - START).total_seconds()
    with capsys.disabled():
        print(f"\n[telegram] hits={built['hits']} destinations={len(DESTS)} {figures} "
              f"attempts={dict(refused)} simulated={elapsed:.0f}s")


async def test_sender_cancelled_mid_run_then_restarted_loses_and_repeats_nothing(world) -> None:
    clock, server, engine = world
    built = build(engine, 300, seed=11)
    faults(server, seed=5)
    halfway = asyncio.Event()
    server.on_send = lambda s: halfway.set() if len(server.sent) == 100 else None
    sender = new_sender(engine, server, clock)
    await sender.__aenter__()
    task = asyncio.create_task(sender.run_once(wait_retries=True, max_wait=6 * 3600))
    await halfway.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sender.__aexit__(None, None, None)
    with engine.connect() as conn:
        st = Counter(conn.execute(select(deliveries.c.status)).scalars())
    assert st["sending"] == 0 and st["queued"] > 0 and st["sent"] >= 90
    async with new_sender(engine, server, clock) as again:
        await again.run_once(wait_retries=True, max_wait=6 * 3600)
    verify(engine, server, built["hits"])
    check_flood_limits(server, FloodLimits(), accepted_only=True)
