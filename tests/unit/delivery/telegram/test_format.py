"""Telegram message formatting: escaping, the UTF-16 length rule, digest splitting."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from bot.delivery.telegram.format import Entry, MAX_LEN, esc, render_alert, render_digest, tg_len, visible
from support.fakebotapi import check_message, parse_html, utf16_len

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc)
TITLES = {"pushbacks": "Pushbacks & border violence", "detention": "Detention", "funding": "Funding"}
PRIO = {"pushbacks": "high", "detention": "normal", "funding": "low"}

NASTY = [
    "Pushback at Evros <b>not bold</b> & more",
    "Επαναπροωθήσεις στον Έβρο: 40 άνθρωποι 🚤🆘",
    "عمليات الصد على الحدود اليونانية التركية 👨‍👩‍👧",
    "Tom &amp; Jerry &#8217;quoted&#8217; &lt;script&gt;",
    "A < B && C > D; 5 &gt 3",
]


def entry(i: int, theme: str = "pushbacks", title: str | None = None, story: int | None = None,
          **kw) -> Entry:
    return Entry(hit_id=i, item_id=i, story_id=story if story is not None else i, theme=theme,
                 priority=PRIO[theme], title=title or f"Item {i}", url=f"https://ex.org/a?i={i}&x=\"1\"",
                 source="Src <1> & co", published=WHEN, countries=["Greece", "Türkiye"],
                 summary="Summary <with> markup & ampersands. " * 3,
                 explanations=[{"rule": "r1", "description": "pushback NEAR Greece, in title",
                                "snippet": "…the <pushback> near Greece & Türkiye…"}],
                 delivery_ids=[i * 10], **kw)


@pytest.mark.parametrize("text,units", [
    ("abc", 3), ("Ελλάδα", 6), ("مرحبا", 5), ("🚤", 2), ("👨‍👩‍👧", 8), ("a&amp;b", 3), ("<b>x</b>", 1),
])
def test_tg_len_counts_utf16_after_entities(text: str, units: int) -> None:
    assert tg_len(text) == units


@pytest.mark.parametrize("raw,escaped", [
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("Tom &amp; Jerry", "Tom &amp; Jerry"),        # decoded first, so not double-escaped
    ("&lt;script&gt;", "&lt;script&gt;"),
    ("&#8217;quote&#8217;", "’quote’"),
    ("Ελλάδα 🚤", "Ελλάδα 🚤"),
])
def test_escape_decodes_then_escapes(raw: str, escaped: str) -> None:
    assert esc(raw) == escaped


@pytest.mark.parametrize("title", NASTY)
def test_alert_is_valid_telegram_html_with_every_part(title: str) -> None:
    msg = render_alert(entry(1, title=title), TITLES["pushbacks"])
    assert check_message(msg.html, "HTML") is None, msg.html
    text = parse_html(msg.html)
    import html as h
    assert h.unescape(title).split()[0] in text
    assert "Pushbacks & border violence" in text          # theme
    assert '<a href="https://ex.org/a?i=1&amp;x=&quot;1&quot;">' in msg.html   # title as link
    assert "Src <1> & co" in text and "22 Nov 2026" in text
    assert "Greece, Türkiye" in text
    assert "the <pushback> near Greece" in text           # snippet
    assert "Why: pushback NEAR Greece, in title" in text
    assert msg.delivery_ids == [10]


def test_alert_names_three_other_outlets_and_counts_the_rest() -> None:
    e = entry(1, also=["Src <1> & co", "ANSA", "The Guardian", "InfoMigrants", "ECRE", "AP"])
    text = parse_html(render_alert(e, TITLES["pushbacks"]).html)
    assert "Also reported by ANSA, The Guardian, InfoMigrants (+2)" in text, text
    assert text.count("Src <1> & co") == 1            # its own source is not "also"
    two = parse_html(render_alert(entry(2, also=["ANSA", "AP"]), TITLES["pushbacks"]).html)
    assert "Also reported by ANSA, AP\n" in two and "(+" not in two


def test_alert_with_giant_fields_stays_under_limit() -> None:
    e = entry(1, title="🆘" * 5000)
    e.summary = "Ω" * 20000
    e.explanations = []
    msg = render_alert(e, "T" * 1000)
    assert check_message(msg.html, "HTML") is None
    assert utf16_len(parse_html(msg.html)) <= MAX_LEN


def test_digest_groups_high_priority_first_and_counts_more() -> None:
    entries = [entry(i, "funding") for i in range(1, 4)] + [entry(i, "pushbacks") for i in range(10, 22)] \
        + [entry(i, "detention") for i in range(30, 32)]
    parts = render_digest(entries, TITLES, per_theme=8)
    assert len(parts) == 1
    text = parse_html(parts[0].html)
    assert text.index("Pushbacks") < text.index("Detention") < text.index("Funding")
    assert "+4 more" in text
    assert sorted(parts[0].delivery_ids) == sorted(i for e in entries for i in e.delivery_ids)
    assert parts[0].disable_preview


def test_digest_merges_a_story_and_says_who_else_reported_it() -> None:
    a = entry(1, story=7)
    b = entry(2, story=7)
    b.source = "Other outlet"
    c = entry(3, "detention", story=7)
    parts = render_digest([a, b, c], TITLES)
    text = parse_html(parts[0].html)
    assert text.count("Item 1") == 1 and "Item 2" not in text
    assert "also reported by Other outlet" in text
    assert "also in Detention" in text
    assert sorted(parts[0].delivery_ids) == [10, 20, 30]


@pytest.mark.parametrize("n", [60, 400])
def test_digest_splits_on_item_boundaries_under_4096(n: int) -> None:
    entries = [entry(i, ("pushbacks", "detention", "funding")[i % 3], title=f"#{i:04d} " + NASTY[i % len(NASTY)] * 3)
               for i in range(1, n + 1)]
    parts = render_digest(entries, TITLES, per_theme=10_000)
    assert len(parts) > 1
    seen: list[int] = []
    for part in parts:
        assert check_message(part.html, "HTML") is None
        assert tg_len(part.html) <= MAX_LEN
        assert utf16_len(parse_html(part.html)) == tg_len(part.html)
        seen += [int(x) for x in re.findall(r"#(\d{4}) ", visible(part.html))]
        for line in part.html.split("\n"):       # no item line is cut in two
            if line.startswith("• "):
                assert line.count("<a ") == line.count("</a>") == 1
    assert sorted(seen) == list(range(1, n + 1))
    assert sorted(i for p in parts for i in p.delivery_ids) == sorted(e.delivery_ids[0] for e in entries)
    assert "(continued)" in parse_html(parts[1].html)


def test_digest_of_nothing_is_no_message() -> None:
    assert render_digest([], TITLES) == []
