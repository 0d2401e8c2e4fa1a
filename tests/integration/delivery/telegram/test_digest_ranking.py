"""Telegram digests rank stories within a theme by bot.stories.ranking (DIGEST_HALF_LIFE), with
"also reported by" from the story's members, on a real SQLite database, through the real
Sender (console transport) and the preview used by `newsbot digest --preview`."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone

from bot.delivery.console import ConsoleTransport
from bot.delivery.telegram.digest import load_entries, preview_messages, rank_entries
from bot.delivery.telegram.sender import Sender
from bot.config.themes import Theme, ThemeSet
from bot.stories.feedback import record_vote
from bot.stories.ranking import DIGEST_HALF_LIFE, EMAIL_HALF_LIFE
from bot.storage.schema import deliveries, destinations
from support.seed_hits import add_hit, add_item

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
THEMES = ThemeSet([Theme(slug="detention", title="Detention", description="", priority="normal", rules=()),
                   Theme(slug="pushbacks", title="Pushbacks", description="", priority="high", rules=())])


def seed(conn) -> dict:
    h = {}
    # A: two outlets, 20 h old. B: one outlet, 1 h old. C: 10 h old from a heavy source.
    # D: 2 h old but voted not relevant. E: a high-priority theme, old: its theme leads anyway.
    a, _ = add_item(conn, "picum", "Detention centre on Samos holds 400 asylum seekers", NOW - timedelta(hours=20))
    add_item(conn, "ecre", "Detention centre on Samos holds 400 asylum seekers - ECRE", NOW - timedelta(hours=19))
    b, _ = add_item(conn, "local", "Council debates a small holding room at the port", NOW - timedelta(hours=1))
    c, _ = add_item(conn, "unhcr", "UNHCR: children detained in Malta must be released", NOW - timedelta(hours=10))
    d, _ = add_item(conn, "local", "Football: the detention of a referee after the match", NOW - timedelta(hours=2))
    e, _ = add_item(conn, "local", "Pushback reported at the Evros river", NOW - timedelta(hours=40))
    for key, item, theme, prio in (("A", a, "detention", "normal"), ("B", b, "detention", "normal"),
                                   ("C", c, "detention", "normal"), ("D", d, "detention", "normal"),
                                   ("E", e, "pushbacks", "high")):
        h[key] = add_hit(conn, item, theme, [f"{theme}-en"], NOW, prio)
    for k in range(3):
        record_vote(conn, h["D"], f"u{k}", -1, NOW)
    return h


def test_rank_entries_orders_by_the_shared_formula(engine):
    with engine.begin() as conn:
        h = seed(conn)
        entries = load_entries(conn, [(0, i) for i in h.values()], {"ecre": "ECRE"})
        rank_entries(conn, entries, NOW, weights={"unhcr": 3.0})
    by = {e.hit_id: e for e in entries}
    # A = 2 x 2 x 0.5^(20/24) = 2.24; B = 2 x 0.97 = 1.94; C = 2 x 3 x 0.75 = 4.5;
    # D = 2 x 0.94 x 2 x (1/5) = 0.75 (3 "not relevant" votes; the rule's votes count for all)
    assert by[h["C"]].score > by[h["A"]].score > by[h["B"]].score > by[h["D"]].score
    assert by[h["A"]].also == ["ECRE"] and by[h["A"]].source_ids == ["picum", "ecre"]
    # the email's longer half-life weighs age less still
    with engine.connect() as conn:
        rank_entries(conn, entries, NOW, half_life=EMAIL_HALF_LIFE)
    assert by[h["A"]].score > by[h["B"]].score        # two outlets matter more over 72 h
    assert DIGEST_HALF_LIFE < EMAIL_HALF_LIFE


def test_sender_digest_and_preview_use_the_ranking(engine):
    with engine.begin() as conn:
        h = seed(conn)
        dest_id = conn.execute(destinations.insert().values(
            chat_id="1001", name="ana", origin="config", alerts="digest", digest="daily 08:00",
            active=True, created_at=NOW - timedelta(days=2))).inserted_primary_key[0]
        for hit in h.values():
            conn.execute(deliveries.insert().values(destination_id=dest_id, hit_id=hit, kind="digest",
                                                    dedupe_key=f"digest:hit:{hit}", created_at=NOW))
    expected = ["UNHCR: children", "Detention centre on Samos", "Council debates", "Football: the detention"]

    def order(text: str) -> list[str]:
        return sorted(expected, key=lambda t: text.index(t))

    with engine.connect() as conn:
        (part,) = preview_messages(conn, since=NOW - timedelta(days=3), titles={"detention": "Detention"},
                                   source_names={"ecre": "ECRE"}, now=NOW, weights={"unhcr": 3.0})
    assert order(part.html) == expected
    assert "also reported by ECRE" in part.html
    assert part.html.index("Pushback reported") < part.html.index("UNHCR")   # high priority theme first

    out = io.StringIO()

    async def run() -> int:
        sender = Sender(engine, ConsoleTransport(out), themes=THEMES, source_names={"ecre": "ECRE"},
                        clock=lambda: NOW, weights={"unhcr": 3.0})
        async with sender:
            return await sender.send_digest(dest_id)

    assert asyncio.run(run()) == 1
    text = out.getvalue()
    assert order(text) == expected and "also reported by ECRE" in text
