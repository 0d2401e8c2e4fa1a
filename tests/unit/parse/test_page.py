"""A web page's title and lead (bot.parse.page), as `explain URL` and `/missed` read them."""

from __future__ import annotations

from bot.parse.page import LEAD_CHARS, page_text


def test_open_graph_comes_first() -> None:
    body = b"""<html lang="it-IT"><head><title>Site | Naufragio</title>
    <meta property="og:title" content="Naufragio a Lampedusa: 41 dispersi">
    <meta name="description" content="Meta description">
    <meta property="og:description" content="Un barcone con migranti si &egrave; ribaltato &amp; affondato.">
    <meta property="og:url" content="https://news.example/it/naufragio?utm_source=x"></head>
    <body><p>Body paragraph long enough to be counted as the lead of the article.</p></body></html>"""
    page = page_text(body, url="https://news.example/it/naufragio?utm_source=tw#top")
    assert page.title == "Naufragio a Lampedusa: 41 dispersi"
    assert page.lead == "Un barcone con migranti si è ribaltato & affondato."
    assert page.lang_hint == "it"
    assert page.url == "https://news.example/it/naufragio"


def test_meta_description_then_title_tag() -> None:
    body = b"""<html><head><title> Pushback  at the &lt;border&gt; </title>
    <meta name="description" content="Border guards sent 30 people back to Turkey."></head></html>"""
    page = page_text(body, url="https://x.example/a")
    assert page.title == "Pushback at the <border>"
    assert page.lead == "Border guards sent 30 people back to Turkey."
    assert page.lang_hint is None and page.url == "https://x.example/a"


def test_without_description_the_first_paragraphs_of_the_article() -> None:
    long_p = "Rescuers pulled survivors from the water after the boat capsized. " * 30
    body = f"""<html><head><link rel="canonical" href="/story/1"></head><body>
    <nav><p>Menu item that is long enough to be a paragraph but is navigation only</p></nav>
    <h1>Shipwreck off Crotone</h1>
    <article><p>By Jane</p><p>At least 41 people are missing after a boat carrying migrants sank.</p>
    <p>{long_p}</p><p>Never reached.</p></article></body></html>""".encode()
    page = page_text(body, url="https://x.example/news/page")
    assert page.title == "Shipwreck off Crotone"
    assert page.lead.startswith("At least 41 people are missing") and "By Jane" not in page.lead
    assert "Menu item" not in page.lead and "Never reached" not in page.lead
    assert len(page.lead) <= LEAD_CHARS + 1
    assert page.url == "https://x.example/story/1"


def test_a_page_without_text() -> None:
    page = page_text(b"<html><body><img src=x></body></html>", url="https://x.example/")
    assert (page.title, page.lead) == ("", "")
