"""One article page as an item's text: its title and lead, for `newsbot explain URL` and the
Telegram `/missed URL` (what a member says the bot should have caught).

The title is the page's `og:title` (else `twitter:title`, else `<title>`, else the first
`<h1>`); the lead is its `og:description` (else `description`, else `twitter:description`),
else the first paragraphs of the page (`<article>`'s when it has one) up to LEAD_CHARS.
That is what a feed entry of the page would carry (a title and a summary), so the rules see
the page as they would have seen it in a feed. Uses BeautifulSoup like bot/parse/html.py.
Pure: bytes in, strings out, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bs4.element import Tag

from bot.parse.html import _soup
from bot.parse.items import canonical_url, clean_text
from bot.tagging.language import normalise_language

LEAD_CHARS = 1200      # first paragraphs kept when the page has no description
MIN_PARAGRAPH = 40     # shorter <p> are bylines, captions, buttons: skipped
TITLE_CHARS = 500


@dataclass(frozen=True)
class PageText:
    title: str
    lead: str
    lang_hint: str | None = None     # <html lang="..">, two letters, when the page says
    url: str | None = None           # its canonical address (og:url, else <link rel=canonical>)


def _meta(soup: Any, *names: str) -> str:
    """The content of the first <meta property|name=NAME> that has some, in `names` order."""
    for name in names:
        for attr in ("property", "name"):
            tag = soup.find("meta", attrs={attr: name})
            if isinstance(tag, Tag) and (content := clean_text(str(tag.get("content") or ""))):
                return content
    return ""


def _paragraphs(soup: Any) -> str:
    scope = soup.find("article") or soup.find("main") or soup
    kept: list[str] = []
    size = 0
    for p in scope.find_all("p"):
        text = clean_text(p.decode_contents())
        if len(text) < MIN_PARAGRAPH:
            continue
        kept.append(text)
        size += len(text) + 1
        if size >= LEAD_CHARS:
            break
    return clean_text(" ".join(kept), LEAD_CHARS)


def page_text(body: bytes, *, url: str | None = None, content_type: str | None = None) -> PageText:
    """The title and lead of an HTML page (empty strings for what it lacks) fetched from
    `url`, which its canonical address resolves against (and stands for, without one)."""
    soup = _soup(body, content_type)
    title = _meta(soup, "og:title", "twitter:title")
    if not title:
        for name in ("title", "h1"):
            tag = soup.find(name)
            if isinstance(tag, Tag) and (title := clean_text(tag.decode_contents())):
                break
    lead = _meta(soup, "og:description", "description", "twitter:description") or _paragraphs(soup)
    html_tag = soup.find("html")
    lang = str(html_tag.get("lang") or "") if isinstance(html_tag, Tag) else ""
    hint = normalise_language(lang)
    canonical = _meta(soup, "og:url")
    link = soup.find("link", rel="canonical", href=True)
    if not canonical and isinstance(link, Tag):
        canonical = str(link["href"])
    address = canonical_url(canonical, url) if canonical else None
    return PageText(title[:TITLE_CHARS], lead, hint, address or canonical_url(url))
