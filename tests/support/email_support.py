"""Shared data for the email tests: a real SQLite database filled with one realistic week
(2026-W47, Europe/Brussels) and four weeks before it, written straight into the tables of
bot/storage/schema.py so the tests do not depend on the pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from bot.config.deliveries import DeliveriesFile
from bot.config.settings import Settings
from bot.storage.db import open_database
from bot.storage.schema import hits, items, stories

UTC = timezone.utc
WEEK = "2026-W47"                                    # Mon 16 Nov – Sun 22 Nov 2026
WEEK_START = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)   # Monday 00:00 in Brussels
NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)          # Monday 08:30 in Brussels

THEMES = {
    "pushbacks": ("Pushbacks and border violence", "high"),
    "sea-rescue": ("Search and rescue at sea", "high"),
    "detention": ("Immigration detention", "normal"),
    "solidarity": ("Criminalisation of solidarity", "low"),
}

SOURCE_NAMES = {
    "ecre": "ECRE",
    "picum": "PICUM",
    "infomigrants": "InfoMigrants",
    "alarmphone": "Alarm Phone",
    "amnesty": "Amnesty International",
    "efsyn": "Εφημερίδα των Συντακτών",
    "aljazeera-ar": "الجزيرة",
}


def deliveries(lists: list[dict] | None = None, **weekly) -> DeliveriesFile:
    lists = lists if lists is not None else [
        {"name": "members", "title": "Coalition members", "to": ["ana@example.org", "bilal@example.org"]},
    ]
    return DeliveriesFile.model_validate({
        "timezone": "Europe/Brussels",
        "email": {"weekly": {"day": "monday", "time": "08:00", "lists": lists, **weekly}},
    })


def settings(tmp_path: Path, smtp_url: str | None = None,
             email_from: str | None = "Coalition newsbot <digest@coalition.example>") -> Settings:
    return Settings(config_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'email.db'}", smtp_url=smtp_url,
                    email_from=email_from)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A UTC moment on a day of November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


_ROWS = [
    # (source, title, url, summary, lang, published, found, countries, regions, story, theme, priority, why)
    ("alarmphone", "Boat with 40 people pushed back to Turkey near Lesvos, survivors say",
     "https://alarmphone.org/en/2026/11/17/lesvos-pushback/",
     "Survivors describe masked men who took their engine and towed the dinghy back into Turkish waters "
     "before dawn; the coast guard denies any operation in the area.",
     "en", at(17, 6), at(17, 7), ["GR", "TR"], ["Europe", "Middle East"], 1, "pushbacks", "high",
     ["pushed back NEAR Turkey, in title"]),
    ("efsyn", "Επαναπροώθηση 40 ανθρώπων στη Λέσβο: μαρτυρίες επιζώντων",
     "https://www.efsyn.gr/ellada/dikaiomata/lesvos-epanaproothisi",
     "Μαρτυρίες για επαναπροώθηση βάρκας με 40 ανθρώπους ανοιχτά της Λέσβου.",
     "el", at(17, 9), at(17, 10), ["GR"], ["Europe"], 1, "pushbacks", "high",
     ["επαναπροώθηση NEAR Λέσβο, in title"]),
    ("ecre", "Lesvos: NGOs demand investigation into reported pushback",
     "https://ecre.org/lesvos-ngos-demand-investigation/",
     "Eleven organisations call on the Greek authorities to investigate.",
     "en", at(18, 12), at(18, 13), ["GR"], ["Europe"], 1, "pushbacks", "high",
     ["pushback, in title"]),
    ("amnesty", "Croatia: new evidence of violent pushbacks to Bosnia and Herzegovina",
     "https://www.amnesty.org/en/latest/news/2026/11/croatia-pushbacks/",
     "Testimonies gathered in Velika Kladuša describe beatings and confiscated phones.",
     "en", at(20, 8), at(20, 9), ["BA", "HR"], ["Europe"], 2, "pushbacks", "high",
     ["pushbacks NEAR Bosnia, in title"]),
    ("aljazeera-ar", "غرق قارب قبالة سواحل ليبيا وفقدان 60 مهاجراً",
     "https://www.aljazeera.net/news/2026/11/19/libya-boat",
     "أعلنت المنظمة الدولية للهجرة فقدان 60 مهاجرا بعد غرق قارب قبالة سواحل ليبيا.",
     "ar", at(19, 15), at(19, 16), ["LY"], ["Africa"], 3, "sea-rescue", "high",
     ["مهاجر NEAR قارب, in summary"]),
    ("infomigrants", "Shipwreck off Libya: 60 missing, IOM says",
     "https://www.infomigrants.net/en/post/2026/11/19/shipwreck-libya",
     "The IOM said 60 people were missing after a boat capsized off Zuwara.",
     "en", at(19, 18), at(19, 19), ["LY"], ["Africa"], 3, "sea-rescue", "high",
     ["shipwreck, in title"]),
    ("infomigrants", "Rescue ship detained in Italian port after disembarking 120 people",
     "https://www.infomigrants.net/en/post/2026/11/21/rescue-ship-detained",
     "Authorities ordered a 20-day administrative detention of the vessel under the Piantedosi decree.",
     "en", at(21, 11), at(21, 12), ["IT"], ["Europe"], 4, "sea-rescue", "high",
     ["rescue ship, in title"]),
    ("picum", "Children still held in immigration detention in Belgium despite court ruling",
     "https://picum.org/blog/children-detention-belgium/",
     "Families with children are again detained in closed family units, PICUM's members report.",
     "en", at(16, 9), at(16, 10), ["BE"], ["Europe"], 5, "detention", "normal",
     ["detention AND migrant, in summary"]),
    ("ecre", "UK: Home Office to reopen two immigration removal centres",
     "https://ecre.org/uk-removal-centres/",
     "The plan would add 1,000 detention places by 2027.",
     "en", None, at(22, 20), ["GB"], ["Europe"], 6, "detention", "normal",
     ["detention, in summary"]),
    ("picum", "Volunteers-fined-for-giving-water-to-people-on-the-move-at-the-border-"
              "https://example.org/a-very-long-unbroken-token-that-must-wrap-on-a-phone-screen-too",
     "javascript:alert(1)",
     "A <b>court</b> fined three volunteers & a priest for \"facilitation\" <script>alert(1)</script>.",
     "en", at(18, 7), at(18, 8), ["FR"], ["Europe"], 7, "solidarity", "low",
     ["volunteers NEAR fined, in title"]),
    # Out of W47: found the Sunday evening before (W46) and the Monday after (W48).
    ("ecre", "Week 46 item about detention", "https://ecre.org/w46/", "", "en",
     at(15, 21), at(15, 22), ["DE"], ["Europe"], 8, "detention", "normal", ["detention"]),
    ("ecre", "Week 48 item about detention", "https://ecre.org/w48/", "", "en",
     at(23, 1), at(23, 2), ["DE"], ["Europe"], 9, "detention", "normal", ["detention"]),
]


def seed(db_path: Path):  # noqa: ANN201
    """A migrated SQLite database holding the week's hits, a backlog item and history."""
    engine = open_database(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        for sid in range(1, 11):
            conn.execute(insert(stories).values(id=sid, created_at=WEEK_START, updated_at=WEEK_START))
        for i, (source, title, url, summary, lang, published, found, countries, regions, story, theme,
                priority, why) in enumerate(_ROWS, start=1):
            conn.execute(insert(items).values(
                id=i, source_id=source, guid=f"g{i}", url=url, title=title, summary=summary, text="",
                categories=[], tags=[], language=lang, published_at=published, first_seen_at=found,
                is_backlog=False, countries=countries, regions=regions, story_id=story))
            conn.execute(insert(hits).values(
                item_id=i, theme=theme, priority=priority, rules=[f"{theme}-{lang}"],
                explanations=[{"rule": f"{theme}-{lang}", "field": "title", "terms": [], "snippet": "",
                               "description": d} for d in why],
                created_at=found))
        # A backlog item (a new source's old post): stored and matched, never mailed.
        conn.execute(insert(items).values(
            id=100, source_id="amnesty", guid="old", url="https://www.amnesty.org/old", title="Backlog pushback item",
            summary="", text="", categories=[], tags=[], language="en", published_at=at(17), first_seen_at=at(17),
            is_backlog=True, countries=["GR"], regions=["Europe"], story_id=10))
        conn.execute(insert(hits).values(item_id=100, theme="pushbacks", priority="high", rules=["x"],
                                         explanations=[], created_at=at(17)))
        # History: weeks W43..W46 with 2, 4, 6, 0 detention hits and 1 pushback hit each.
        n = 200
        for weeks_back, count in ((1, 0), (2, 6), (3, 4), (4, 2)):
            base = WEEK_START - timedelta(weeks=weeks_back) + timedelta(days=2)
            for theme, k in (("detention", count), ("pushbacks", 1)):
                for j in range(k):
                    n += 1
                    conn.execute(insert(items).values(
                        id=n, source_id="ecre", guid=f"h{n}", url=f"https://ecre.org/h{n}", title=f"History {n}",
                        summary="", text="", categories=[], tags=[], language="en", published_at=base,
                        first_seen_at=base, is_backlog=False, countries=["DE"], regions=["Europe"]))
                    conn.execute(insert(hits).values(item_id=n, theme=theme, priority="normal", rules=["h"],
                                                     explanations=[], created_at=base + timedelta(minutes=j)))
    return engine
