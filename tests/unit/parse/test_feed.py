"""bot.parse: RSS/Atom/RDF via feedparser, JSON Feed, HTML listings, autodiscovery, and the
shared corpus of real feed documents (each parsed or rejected with a classified error)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.errors import SourceFailure
from bot.parse import ParsedFeed, parse_document, sniff
from support import paths

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
FIXTURES = paths.FIXTURES / "feeds"
CORPUS_FEEDS = sorted(p.name for p in (paths.CORPUS / "feeds").glob("*")
                      if p.name != "MANIFEST.md")


def parse(body: bytes | str, kind: str = "auto", url: str = "https://example.org/feed", **kw) -> ParsedFeed:
    if isinstance(body, str):
        body = body.encode("utf-8")
    kw.setdefault("source_id", "src")
    kw.setdefault("now", NOW)
    return parse_document(body, url=url, kind=kind, **kw)


def rejected(body: bytes | str, **kw) -> SourceFailure:
    with pytest.raises(SourceFailure) as info:
        parse(body, **kw)
    assert info.value.kind in ("not-a-feed", "parse-error")
    return info.value


# --- the shared corpus --------------------------------------------------------------

def test_corpus_is_there(corpus):
    assert len(CORPUS_FEEDS) >= 40


ONLY_EMPTY_ENTRIES = {"rssparser__missing-fields.atom"}


@pytest.mark.parametrize("name", CORPUS_FEEDS)
def test_every_corpus_document_parses_or_is_classified(corpus, name):
    body = (corpus / "feeds" / name).read_bytes()
    try:
        parsed = parse(body, source_id="corpus", default_language="en")
    except SourceFailure as exc:
        assert exc.kind in ("not-a-feed", "parse-error"), exc.kind
        assert exc.message
        return
    # A well-formed document whose only entry has neither title, link nor summary (just an
    # <id>) is an ok poll with no items: such an entry is never stored.
    assert parsed.items or name in ONLY_EMPTY_ENTRIES, f"{name}: parsed with no items and no error"
    for item in parsed.items:
        assert item.guid and item.source_id == "corpus"
        assert item.url is None or item.url.startswith(("http://", "https://"))
        assert item.published is None or (item.published.tzinfo is timezone.utc and item.published <= NOW)
        assert "<p>" not in item.summary and "&amp;" not in item.title
        assert item.language is None or len(item.language) == 2


EXPECTED = {
    # name: (format, item count, first title, language)
    "rssparser__latin2.rss": ("rss20", 1, "ZAŻÓŁĆ GĘSLĄ JAŹŃ", "pl"),
    "rssparser__encoding-gb2312.xml": ("rss20", 20, "习近平为何如此强调崇尚英雄？", "zh"),
    "rssparser__encoding.rss": ("rss20", 40, "Mãe de utente é a nova presidente da Raríssimas", "pt"),
    "rssparser__uolNoticias.rss": ("rss", 15, None, "pt"),
    "feedrs__rss_1.0_iso8859.xml": ("rss10", 1, None, "de"),
    "feedrs__rss_0.91_encoding_1.xml": ("rss091u", 1, "bash - Expansão de Parâmetros", "pt"),
    "feedrs__jsonfeed_spec_1.json": ("json1", 1, "Announcing JSON Feed", "en"),
    "feedrs__jsonfeed_elastic_1.1.json": ("json1.1", 3, None, "en"),
    "feedrs__jsonfeed_example_1.json": ("json1", 2, None, "en"),
    "rssparser__rss-1.rss": ("rss10", 69, "Food for fungi", None),
    "rssparser__craigslist.rss": ("rss10", 25, None, "en"),
    "feedrs__rss_1.0_debian.xml": ("rss10", 1, "Updated Debian 11: 11.6 released", "en"),
    "rssparser__guardian.rss": ("rss20", 55, None, "en"),
    "rssparser__heise.atom": ("atom10", 15, None, "de"),
    "feedrs__rss_2.0_ilgiornale.xml": ("rss20", 1, None, "it"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_content(corpus, name):
    fmt, count, title, lang = EXPECTED[name]
    parsed = parse((corpus / "feeds" / name).read_bytes())
    assert parsed.format == fmt
    assert len(parsed.items) == count
    first = parsed.items[0]
    if title is not None:
        assert first.title.startswith(title)
    assert "\ufffd" not in first.title and "Ã" not in first.title  # decoded, not mojibake
    if lang is not None:
        assert first.language == lang


def test_corpus_rejections_are_the_right_kind(corpus):
    feeds = corpus / "feeds"
    assert rejected((feeds / "rssparser__unrecognized.rss").read_bytes()).kind == "not-a-feed"
    err = rejected((feeds / "feedrs__rss_2.0_invalid_1.xml").read_bytes())
    assert err.kind == "parse-error" and "line" in err.message


def test_corpus_relative_links_resolved(corpus):
    parsed = parse((corpus / "feeds" / "feedrs__rss_2.0_relurl_1.xml").read_bytes(),
                   url="https://insanity.industries/index.xml")
    assert all(i.url and i.url.startswith("https://") for i in parsed.items)


def test_corpus_json_feed_fields(corpus):
    parsed = parse((corpus / "feeds" / "feedrs__jsonfeed_spec_1.json").read_bytes())
    item = parsed.items[0]
    assert item.url == "https://jsonfeed.org/2017/05/17/announcing_json_feed"
    assert item.published == datetime(2017, 5, 17, 15, 2, 12, tzinfo=timezone.utc)
    assert "<" not in item.text and item.text


def test_corpus_atom_ids_are_kept_verbatim(corpus):
    parsed = parse((corpus / "feeds" / "feedrs__atom_example_reddit.xml").read_bytes())
    assert parsed.items[0].guid == "t3_glvkc5"


# --- handcrafted documents ----------------------------------------------------------

RSS_TTL = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Coalition &amp; news</title><link>https://ngo.example/</link><language>fr-FR</language><ttl>90</ttl>
<item><title>Rétention: &lt;b&gt;nouveau&lt;/b&gt; rapport</title>
<link>https://ngo.example/a?utm_source=rss&amp;id=4#x</link><guid isPermaLink="false">ngo-4</guid>
<description>&lt;p&gt;Un &lt;a href="/x"&gt;rapport&lt;/a&gt; sur la rétention.&lt;/p&gt;</description>
<dc:creator>Marie</dc:creator><category>Détention</category><category>France</category>
<pubDate>Tue, 04 Nov 2025 09:30:00 +0100</pubDate></item>
<item><title>Sans date</title><link>https://ngo.example/b</link></item>
<item><title>Future</title><link>https://ngo.example/c</link><pubDate>Tue, 04 Nov 2031 09:30:00 GMT</pubDate></item>
</channel></rss>"""


def test_rss_fields_ttl_and_language():
    parsed = parse(RSS_TTL, tags=["ngo"], default_language="en")
    assert parsed.title == "Coalition & news" and parsed.ttl_minutes == 90 and parsed.format == "rss20"
    a, b, c = parsed.items
    assert a.title == "Rétention: nouveau rapport"
    assert a.url == "https://ngo.example/a?id=4" and a.guid == "ngo-4"
    assert a.summary == "Un rapport sur la rétention."
    assert a.author == "Marie" and a.categories == ["Détention", "France"]
    assert a.published == datetime(2025, 11, 4, 8, 30, tzinfo=timezone.utc)
    assert a.language == "fr" and a.tags == ["ngo"]
    assert b.published is None and b.guid == "https://ngo.example/b"
    assert c.published == NOW


def test_sy_update_period():
    doc = """<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
    <channel><title>x</title><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
    <item><title>a</title><link>https://e.org/a</link></item></channel></rss>"""
    assert parse(doc).ttl_minutes == 30


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de"><title type="html">A &amp;lt;Feed&amp;gt;</title>
<entry><id>urn:uuid:1</id><title>Flüchtlinge an der Grenze</title><link rel="alternate" href="https://a.example/1"/>
<updated>2025-10-01T12:00:00+02:00</updated><author><name>Team</name></author>
<summary type="html">&lt;p&gt;Kurz&lt;/p&gt;</summary><content type="html">&lt;p&gt;Lang &amp;amp; ausführlich&lt;/p&gt;</content>
<category term="asyl" label="Asyl"/></entry></feed>"""


def test_atom_entry():
    parsed = parse(ATOM)
    item = parsed.items[0]
    assert parsed.format == "atom10"
    assert (item.guid, item.url, item.title) == ("urn:uuid:1", "https://a.example/1", "Flüchtlinge an der Grenze")
    assert (item.summary, item.text) == ("Kurz", "Lang & ausführlich")
    assert item.published == datetime(2025, 10, 1, 10, tzinfo=timezone.utc)
    assert item.author == "Team" and item.categories == ["Asyl"] and item.language == "de"


def test_json_feed_1_1_language_authors_and_bad_items():
    doc = """{"version": "https://jsonfeed.org/version/1.1", "title": "J", "language": "es",
      "home_page_url": "https://j.example/",
      "items": [{"id": 17, "url": "/n/1", "title": "Uno", "content_text": "a < b & c",
                 "date_published": "2025-11-01T10:00:00+01:00", "authors": [{"name": "Ana"}], "tags": ["x", 3]},
                "junk", {"id": "2", "content_html": "<p>Dos</p>", "language": "ca-ES"}]}"""
    parsed = parse(doc)
    one, two = parsed.items
    assert parsed.format == "json1.1"
    assert (one.guid, one.url, one.text) == ("17", "https://j.example/n/1", "a < b & c")
    assert one.author == "Ana" and one.categories == ["x"] and one.language == "es"
    assert one.published == datetime(2025, 11, 1, 9, tzinfo=timezone.utc)
    assert two.title == "Dos" and two.language == "ca"


@pytest.mark.parametrize("doc,kind", [
    ('{"version": "https://jsonfeed.org/version/1.1", "items": ', "parse-error"),
    ('{"hello": "world"}', "not-a-feed"),
    ('[1, 2]', "not-a-feed"),
    ('{"version": "https://jsonfeed.org/version/1", "items": {}}', "parse-error"),
    ("", "parse-error"),
    ("   \n ", "parse-error"),
    ("just some text", "not-a-feed"),
    ("<html><body>Hello</body></html>", "not-a-feed"),
    ("<?xml version='1.0'?><rss version='2.0'><channel><title>x</ti", "parse-error"),
    (b"\x00\x01\x02\xff\xfe garbage", None),
])
def test_bad_documents_are_classified(doc, kind):
    err = rejected(doc)
    if kind:
        assert err.kind == kind


PAGE = """<!doctype html><html lang="fr"><head><title>Actualités</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="Flux" href="/feed/?utm_source=x">
<link rel="alternate" type="application/atom+xml" href="https://other.example/atom.xml">
</head><body>
<article class="news"><h2><a href="/n/1?fbclid=z">Premier titre</a></h2><time datetime="2025-11-03T08:00:00Z">3 nov.</time>
<p class="excerpt">Un &eacute;t&eacute; <b>difficile</b> pour les exilés à la frontière franco-italienne.</p></article>
<article class="news"><h2><a href="second.html">Second titre</a></h2><p class="excerpt">Court</p></article>
<article class="news"><h2>Sans lien</h2></article>
</body></html>"""

SELECTORS = {"item": "article.news", "title": "h2", "link": "h2 a@href", "date": "time@datetime",
             "summary": "p.excerpt"}


def test_autodiscovery_returns_absolute_feed_url():
    parsed = parse(PAGE, url="https://ngo.example/fr/actualites/")
    assert parsed.items == [] and parsed.discovered_url == "https://ngo.example/feed/"


def test_html_served_at_feed_url():
    err = rejected(PAGE, kind="feed", url="https://ngo.example/fr/")
    assert err.kind == "not-a-feed" and "https://ngo.example/feed/" in err.message


def test_html_listing_scraped_with_selectors():
    parsed = parse(PAGE, kind="html", selectors=SELECTORS, url="https://ngo.example/fr/actualites/")
    assert parsed.format == "html" and parsed.title == "Actualités"
    first, second = parsed.items
    assert first.url == "https://ngo.example/n/1" and first.title == "Premier titre"
    assert first.published == datetime(2025, 11, 3, 8, tzinfo=timezone.utc)
    assert first.summary.startswith("Un été difficile") and first.language == "fr"
    assert second.url == "https://ngo.example/fr/actualites/second.html" and second.published is None


def test_html_link_without_attr_uses_first_anchor():
    sel = dict(SELECTORS, link="h2")
    parsed = parse(PAGE, kind="html", selectors=sel, url="https://ngo.example/")
    assert parsed.items[0].url == "https://ngo.example/n/1"


def test_auto_without_feed_link_uses_selectors_when_given():
    page = PAGE.replace("rel=\"alternate\"", "rel=\"x\"")
    parsed = parse(page, kind="auto", selectors=SELECTORS, url="https://ngo.example/")
    assert len(parsed.items) == 2


@pytest.mark.parametrize("selectors,words", [
    ({"item": "div.nothing", "title": "h2", "link": "a@href"}, "matched nothing"),
    ({"item": "article.news", "title": "h5", "link": "a@href"}, "none had"),
    ({"item": "article[", "title": "h2", "link": "a@href"}, "invalid"),
    (None, "selectors"),
])
def test_html_selector_problems_are_parse_errors(selectors, words):
    err = rejected(PAGE, kind="html", selectors=selectors)
    assert err.kind == "parse-error" and words in err.message


@pytest.mark.parametrize("head,expected", [
    (b"<?xml version='1.0'?><rss>", "xml"), (b"\xef\xbb\xbf  <feed xmlns=''>", "xml"),
    (b"<!-- c --><rdf:RDF>", "xml"), (b'{"version": 1}', "json"), (b"<!DOCTYPE html><html>", "html"),
    (b"<?xml version='1.0'?><!DOCTYPE html><html>", "html"), (b"plain", "unknown"),
])
def test_sniff(head, expected):
    assert sniff(head) == expected


def test_fixture_feeds_parse():
    names = sorted(p.name for p in FIXTURES.glob("*"))
    assert names, "tests/fixtures/feeds is empty"
    for name in names:
        parsed = parse((FIXTURES / name).read_bytes(), source_id="fx")
        assert parsed.items, name


def test_html_kind_on_an_xml_document_gives_a_clear_error_not_a_warning(corpus):
    body = (corpus / "feeds" / "rssparser__guardian.rss").read_bytes()
    err = rejected(body, kind="html", selectors={"item": "item", "title": "title", "link": "nothing"})
    assert err.kind == "parse-error" and "none had both" in err.message
    parsed = parse(body, kind="html", selectors={"item": "item", "title": "title", "link": "guid"})
    assert len(parsed.items) == 55 and parsed.items[0].url.startswith("https://www.theguardian.com/")


def test_html_page_encoding_from_meta_charset():
    page = ('<html><head><meta charset="iso-8859-1"><title>Réfugiés</title></head><body>'
            '<div class="n"><a href="/x">Hébergement d\'urgence saturé</a></div></body></html>').encode("latin-1")
    parsed = parse(page, kind="html", selectors={"item": "div.n", "title": "a", "link": "a@href"})
    assert parsed.title == "Réfugiés" and parsed.items[0].title == "Hébergement d'urgence saturé"


@pytest.mark.parametrize("name", ["feedrs__rss_2.0_wirecutter.xml", "feedrs__atom_example_reddit.xml",
                                  "feedrs__jsonfeed_elastic_1.1.json", "feedrs__rss_1.0_iso8859.xml"])
def test_damaged_documents_never_raise_anything_else(corpus, name):
    """Truncated and byte-flipped versions of real feeds (seeded, so reproducible):
    either items or a classified SourceFailure, never another exception."""
    import random

    body = (corpus / "feeds" / name).read_bytes()
    rng = random.Random(name)
    variants = [body[: int(len(body) * f)] for f in (0.01, 0.1, 0.33, 0.5, 0.9, 0.999)]
    for _ in range(12):
        b = bytearray(body)
        for _ in range(rng.randint(1, 40)):
            b[rng.randrange(len(b))] = rng.choice(b'<>&"\x00\xff\xc3/;{}[]')
        variants.append(bytes(b))
    outcomes = set()
    for v in variants:
        try:
            parsed = parse(v)
            outcomes.add("items" if parsed.items else "empty")
        except SourceFailure as exc:
            assert exc.kind in ("parse-error", "not-a-feed")
            outcomes.add(exc.kind)
    assert outcomes <= {"items", "parse-error", "not-a-feed"}, outcomes


# --- empty and truncated entries ----------------------------------------------------

@pytest.mark.parametrize("body", [
    "<rss><channel><item><title>unterminated",
    "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><title>cut",
    "<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>cut",
])
def test_a_truncated_document_with_no_usable_entry_is_a_parse_error(body):
    """feedparser recovers an empty entry from a truncated document (the unclosed title is
    lost): that is not an item, and the ill-formed document is a parse-error, not `ok`."""
    err = rejected(body)
    assert err.kind == "parse-error" and "no readable entries" in err.message


def test_a_truncated_document_keeps_its_complete_entries_and_drops_the_cut_one():
    parsed = parse("<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
                   "<item><title>Boat rescued</title><link>https://example.org/1</link></item>"
                   "<item><title>unterminated")
    assert [(i.title, i.url) for i in parsed.items] == [("Boat rescued", "https://example.org/1")]


def test_entries_with_neither_title_link_nor_summary_are_not_items():
    parsed = parse("<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
                   "<item></item><item><guid isPermaLink='false'>x-1</guid><author>a@b.c</author></item>"
                   "<item><link>https://example.org/only-a-link</link></item>"
                   "<item><description>Only a summary here.</description></item>"
                   "</channel></rss>")
    assert [(i.url, i.summary) for i in parsed.items] == [
        ("https://example.org/only-a-link", ""), (None, "Only a summary here.")]
    # well-formed with only empty entries: an ok poll with nothing new
    assert parse("<rss version='2.0'><channel><title>T</title><item></item></channel></rss>").items == []
    jf = parse('{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
               '[{"id": "1"}, {"id": "2", "title": "Kept"}]}')
    assert [i.title for i in jf.items] == ["Kept"]


def test_corpus_entry_with_only_an_id_is_not_an_item(corpus):
    parsed = parse((corpus / "feeds" / "rssparser__missing-fields.atom").read_bytes())
    assert parsed.format == "atom10" and parsed.items == []


# --- hostile documents (issue 16) -----------------------------------------------------------

RSS_ITEM = "<rss version='2.0'><channel><title>T</title><item><guid>g</guid><title>Item</title></item></channel></rss>"


@pytest.mark.parametrize("head", [
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
    "<!-- made by a CMS that renders <html> too -->",
    "<?xml-stylesheet href='x.xsl'?><!DOCTYPE rss [<!ENTITY x 'y'>]>",
])
def test_sniff_goes_by_the_root_element_past_the_prolog(head):
    assert sniff(f"<?xml version='1.0'?>\n{head}\n{RSS_ITEM}".encode()) == "xml"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_bomless_wide_encodings_and_prefixed_roots_parse(encoding):
    body = f"<?xml version='1.0' encoding='{encoding}'?>{RSS_ITEM}".encode(encoding)
    assert sniff(body) == "xml"
    parsed = parse_document(body, url="https://e.org/f", source_id="s", now=NOW)
    assert [i.title for i in parsed.items] == ["Item"]
    prefixed = RSS_ITEM.replace("<", "<r:").replace("<r:/", "</r:").replace("<r:rss", "<r:rss xmlns:r='urn:r'", 1)
    assert sniff(prefixed.encode()) == "xml"


def test_repair_escapes_query_ampersands_and_joins_surrogates_outside_cdata():
    from bot.parse.repair import repair

    valid = b"<rss><channel><item><link>https://e.org/?a=1&amp;lang=fr</link></item></channel></rss>"
    assert repair(valid) == valid
    broken = b"<link>https://e.org/?a=1&lang=fr&copy=2</link><t>&#55357;&#56832;</t><![CDATA[&lang=x &#55357;]]>"
    assert repair(broken) == (b"<link>https://e.org/?a=1&amp;lang=fr&amp;copy=2</link><t>&#128512;</t>"
                              b"<![CDATA[&lang=x &#55357;]]>")
