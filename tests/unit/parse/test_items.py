"""bot.parse.items: canonical URLs, plain text, dates, GUIDs, languages."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.parse.items import build_item, canonical_url, clamp_published, clean_text, make_guid, parse_date, to_utc
from bot.tagging.language import detect_language, normalise_language

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw,expected", [
    ("HTTPS://Example.ORG:443/News/a?id=3#comments", "https://example.org/News/a?id=3"),
    ("http://example.org:80", "http://example.org/"),
    ("http://example.org:8080/x", "http://example.org:8080/x"),
    ("https://ex.org/a?utm_source=rss&utm_medium=feed&id=7&fbclid=abc", "https://ex.org/a?id=7"),
    ("https://ex.org/a?b=2&gclid=x&a=1&mc_cid=1&mc_eid=2", "https://ex.org/a?b=2&a=1"),
    ("https://ex.org/a?at_medium=RSS&at_campaign=KARANGA&ref=home&ref_src=twsrc&igshid=9",
     "https://ex.org/a"),
    ("https://ex.org/a?UTM_Campaign=x&page=2&q=", "https://ex.org/a?page=2&q="),
    ("https://ex.org/a?q=d%C3%A9tention+centre", "https://ex.org/a?q=d%C3%A9tention+centre"),
    ("https://ex.org/path%20with/x", "https://ex.org/path%20with/x"),
    ("https://EX.org./a", "https://ex.org/a"),
    ("mailto:someone@example.org", None),
    ("javascript:alert(1)", None),
    ("", None),
    (None, None),
    ("http://[::1]:80/x", "http://[::1]/x"),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_canonical_url_resolves_relative_links():
    assert canonical_url("/a/b?utm_source=x", "https://Ex.org/feed/") == "https://ex.org/a/b"
    assert canonical_url("c.html", "https://ex.org/news/list.html") == "https://ex.org/news/c.html"
    assert canonical_url("//cdn.ex.org/x", "https://ex.org/") == "https://cdn.ex.org/x"


@pytest.mark.parametrize("raw,expected", [
    ("<p>Hello <b>world</b></p><p>Again</p>", "Hello world Again"),
    ("Caf&eacute; &amp; th&#233; &#x2014; ok", "Café & thé — ok"),
    ("<script>var x = '<b>';</script><style>p{}</style>Visible", "Visible"),
    ("  many\n\n  spaces\t here ", "many spaces here"),
    ("line<br>break<br/>again", "line break again"),
    ("a < b and c > d", "a < b and c > d"),
    ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),  # decoded once, as the feed said
    ("&lt;p&gt;Escaped &lt;b&gt;twice&lt;/b&gt;&lt;/p&gt;", "Escaped twice"),
    ("&lt;!-- SC_OFF --&gt;&lt;div class=\"md\"&gt;Reddit&lt;/div&gt;", "Reddit"),
    ("<![CDATA[x]]>text", "text"),
    ("", ""),
    (None, ""),
    ("no\u00a0break soft\u00adhyphen", "no break softhyphen"),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_to_utc_and_parse_date():
    st = time.strptime("2025-11-01 10:00:00", "%Y-%m-%d %H:%M:%S")
    assert to_utc(st) == datetime(2025, 11, 1, 10, tzinfo=timezone.utc)
    assert to_utc(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=timezone.utc)
    cet = timezone(timedelta(hours=1))
    assert to_utc(datetime(2025, 1, 1, 12, tzinfo=cet)) == datetime(2025, 1, 1, 11, tzinfo=timezone.utc)
    assert parse_date("2025-11-01T10:00:00Z") == datetime(2025, 11, 1, 10, tzinfo=timezone.utc)
    assert parse_date("Sat, 01 Nov 2025 12:00:00 +0200") == datetime(2025, 11, 1, 10, tzinfo=timezone.utc)
    assert parse_date("2025-11-01") == datetime(2025, 11, 1, tzinfo=timezone.utc)
    assert parse_date("not a date") is None
    assert parse_date(None) is None


def test_future_dates_clamped_but_not_small_skew():
    assert clamp_published(NOW + timedelta(days=3), NOW) == NOW
    assert clamp_published(NOW + timedelta(hours=5), NOW) == NOW + timedelta(hours=5)
    assert clamp_published(None, NOW) is None


def test_guid_fallbacks():
    assert make_guid(" tag:x,2025:1 ", "https://ex.org/a", "t", "s") == "tag:x,2025:1"
    assert make_guid(None, "https://ex.org/a", "t", "s") == "https://ex.org/a"
    g = make_guid(None, None, "Title", "Summary")
    assert g.startswith("sha256:") and g == make_guid("", None, "Title", "Summary")
    assert g != make_guid(None, None, "Title", "Other")


@pytest.mark.parametrize("raw,expected", [
    ("en-US", "en"), ("fr_FR", "fr"), ("FR", "fr"), ("fra", "fr"), ("ger", "de"), ("English", "en"),
    ("el", "el"), ("", None), (None, None), ("x-unknown-thing", None), ("12", None),
])
def test_normalise_language(raw, expected):
    assert normalise_language(raw) == expected


@pytest.mark.parametrize("text,lang", [
    ("Les demandeurs d'asile ont été placés en rétention administrative à Calais hier soir.", "fr"),
    ("Asylum seekers were pushed back at the border according to a new report by the NGO.", "en"),
    ("Los solicitantes de asilo fueron devueltos en la frontera según un nuevo informe.", "es"),
    ("I richiedenti asilo sono stati respinti al confine secondo un nuovo rapporto.", "it"),
    ("Asylsuchende wurden laut einem neuen Bericht an der Grenze zurückgewiesen.", "de"),
    ("Οι αιτούντες άσυλο απωθήθηκαν στα σύνορα σύμφωνα με νέα έκθεση της οργάνωσης.", "el"),
    ("تم ترحيل طالبي اللجوء على الحدود وفقا لتقرير جديد صادر عن المنظمة.", "ar"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_detect_language_needs_enough_text():
    assert detect_language("Calais") is None
    assert detect_language("") is None


def test_build_item_normalises_everything():
    item = build_item(
        source_id="picum", tags=["ngo"], now=NOW, base_url="https://picum.org/feed/",
        entry_id=None, link="/news/a?utm_source=rss#top", title="  Détention &amp; <i>asile</i> ",
        summary="<p>Short &laquo;summary&raquo;</p>", content="<p>Long text</p><script>x()</script>",
        author="<b>Jane</b>", categories=["Detention", "Detention", " <i>Asylum</i> "],
        languages=[None, "fr-FR"], published=NOW + timedelta(days=10), default_language="en",
    )
    assert item.url == "https://picum.org/news/a"
    assert item.guid == item.url
    assert item.title == "Détention & asile"
    assert item.summary == "Short «summary»"
    assert item.text == "Long text"
    assert item.author == "Jane"
    assert item.categories == ["Detention", "Asylum"]
    assert item.language == "fr"
    assert item.published == NOW
    assert item.tags == ["ngo"] and item.source_id == "picum"


def test_build_item_language_detection_then_default():
    kw = dict(source_id="s", tags=(), now=NOW, base_url=None, entry_id="1", link=None, content=None)
    fr = build_item(title="Rétention des mineurs", summary="Le gouvernement a annoncé hier une nouvelle loi "
                    "sur la rétention administrative des enfants.", default_language="en", **kw)
    assert fr.language == "fr"
    short = build_item(title="Update", summary="", default_language="en", **kw)
    assert short.language == "en"
    assert build_item(title="Update", summary="", **kw).language is None


def test_build_item_summary_from_content_and_title_from_summary():
    kw = dict(source_id="s", tags=(), now=NOW, base_url=None, entry_id="1", link=None)
    item = build_item(title=None, summary=None, content="<p>" + "word " * 400 + "</p>", **kw)
    assert item.text.startswith("word word") and item.summary.endswith("…")
    assert len(item.summary) <= 1001
    assert item.title and len(item.title) <= 121
    same = build_item(title="t", summary="<p>Same</p>", content="Same", **kw)
    assert same.summary == "Same" and same.text == ""


def test_long_description_becomes_text_with_a_short_summary():
    body = "<p>" + "Pushbacks continue at the border. " * 100 + "</p>"
    item = build_item(source_id="s", tags=(), now=NOW, base_url=None, entry_id="1", link=None, title="t",
                      summary=body, content=None)
    assert item.text == clean_text(body) and len(item.text) > 3000
    assert len(item.summary) <= 1001 and item.summary.endswith("…")
    assert item.text.startswith(item.summary[:-1])


def test_is_empty_only_when_nothing_to_show():
    from datetime import datetime, timezone

    from bot.parse.items import build_item, is_empty

    def item(**kw):  # noqa: ANN202
        fields = dict(entry_id=None, link=None, title=None, summary=None, content=None)
        fields.update(kw)
        return build_item(source_id="s", tags=(), now=datetime(2026, 1, 1, tzinfo=timezone.utc),
                          base_url="https://example.org/", **fields)

    assert is_empty(item()) and is_empty(item(entry_id="guid-1", title="  ", link="mailto:x@example.org"))
    assert not is_empty(item(title="T"))
    assert not is_empty(item(link="/a"))
    assert not is_empty(item(summary="<p>s</p>"))
    assert not is_empty(item(content="<p>body</p>"))


# --- hostile text (issue 16) --------------------------------------------------------------

@pytest.mark.parametrize("raw,text", [
    ("safe&lt;!--", "safe<!--"),                                  # unclosed comment: no recursion
    ("<p>a <!-- never closed</p>", "a <!-- never closed</p>"),
    ("&#55357;&#56832; &#xD83D;&#xDE00;", "\U0001F600 \U0001F600"),  # surrogate pairs as references
    ("a &#55357; b &#56832; c &#55357;&#55357;&#56832;", "a b c \U0001F600"),   # lone ones go
    ("nul\x00 bel\x07 esc\x1b[0m del\x7f c1\x9b lone\ud83d", "nul bel esc[0m del c1 lone"),
])
def test_clean_text_survives_hostile_text(raw, text):
    assert clean_text(raw) == text


def test_clean_text_limit_cuts_at_a_word_with_an_ellipsis():
    assert clean_text("<b>asylum seekers</b> " * 1000, 30) == "asylum seekers asylum seekers…"
    assert len(clean_text("x" * 10_000, 50)) == 50


def test_build_item_caps_fields_and_strips_controls_from_guid_and_url():
    from bot.parse.items import AUTHOR_MAX, GUID_MAX, SUMMARY_MAX, TEXT_MAX, TITLE_MAX, URL_MAX

    item = build_item(source_id="s", tags=(), now=NOW, base_url=None, entry_id="id\x00" + "g" * 5,
                      link="https://e.org/a\x01b", title="word " * 10_000, summary="s " * 20_000,
                      content="c " * 200_000, author="n " * 1000, default_language="en")
    assert item.guid == "idggggg" and item.url == "https://e.org/ab"
    assert len(item.title) <= TITLE_MAX and len(item.summary) <= SUMMARY_MAX
    assert len(item.text) <= TEXT_MAX and len(item.author) <= AUTHOR_MAX
    long = build_item(source_id="s", tags=(), now=NOW, base_url=None, entry_id="g" * (GUID_MAX + 1),
                      link="https://e.org/?q=" + "x" * URL_MAX, title="t", summary=None, content=None)
    assert long.guid.startswith("sha256:") and long.url is None


@pytest.mark.parametrize("text,expected", [
    ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=timezone.utc)),
    ("Mi, 14 Dez 2022 09:30:00 MEZ", datetime(2022, 12, 14, 8, 30, tzinfo=timezone.utc)),
    ("ven. 9 déc. 2022 14:05 CET", datetime(2022, 12, 9, 13, 5, tzinfo=timezone.utc)),
    ("lun, 6 mars 2023 08:00:00 GMT", datetime(2023, 3, 6, 8, tzinfo=timezone.utc)),
    ("martedì, 3 maggio 2022 10:00:00 CEST", datetime(2022, 5, 3, 8, tzinfo=timezone.utc)),
    ("jue, 15 de diciembre de 2022 18:20 +0100", datetime(2022, 12, 15, 17, 20, tzinfo=timezone.utc)),
    ("wo, 12 mrt 2022 11:00 WET", datetime(2022, 3, 12, 11, tzinfo=timezone.utc)),
    ("Τετ, 16 Νοε 2022 10:00:00 EEST", datetime(2022, 11, 16, 7, tzinfo=timezone.utc)),
    ("Mon, 14 Nov 2022 02:02:33 PM +0000", datetime(2022, 11, 14, 14, 2, 33, tzinfo=timezone.utc)),
    ("Mon, 14 Nov 2022 12:10 AM GMT", datetime(2022, 11, 14, 0, 10, tzinfo=timezone.utc)),
    ("Tue, 14 Jun 2022 12:00:00 BST", datetime(2022, 6, 14, 11, tzinfo=timezone.utc)),
])
def test_parse_date_reads_the_coalitions_languages_zones_and_pm(text, expected):
    assert parse_date(text) == expected


def test_parse_date_leaves_unknown_shapes_to_the_other_readers():
    from bot.parse.dates import month_number, parse_localised

    assert month_number("ιου") is None            # June or July: ambiguous prefix
    assert parse_localised("16 foo 2022 10:00") is None
    assert parse_localised("16 nov 2022 10:00 IST") is None   # Irish, Indian or Israeli
    assert parse_date("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
