"""HTML pages: feed autodiscovery, and listing pages scraped with CSS selectors.

Selectors come from a source's `html:` block: `item` selects one element per news item;
`title`, `link`, `date`, `summary` are relative to it; `sel@attr` takes an attribute instead
of the text; links resolve against the page URL. Uses BeautifulSoup (html.parser, which
also reads the page's <meta charset>). No I/O.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from collections.abc import Mapping
from typing import Protocol, Union
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import Tag

from bot.errors import SourceFailure
from bot.parse.items import build_item, canonical_url, clean_text, parse_date
from bot.parse import ParsedFeed

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/rdf+xml", "application/json")
_ATTR = re.compile(r"^(.*?)\s*@([A-Za-z_:][-A-Za-z0-9_:.]*)\s*$")


def _soup(body: bytes, content_type: str | None) -> BeautifulSoup:
    encoding = None
    if content_type and "charset=" in content_type.lower():
        encoding = content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'") or None
    # bs4 warns about XML parsed as HTML and text that looks like a URL: advice for a
    # programmer, not a problem of the source (and an error under pytest's -W error).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"bs4(\.|$)")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*(XML|looks like|parser).*")
        try:
            return BeautifulSoup(body, "html.parser", from_encoding=encoding)
        except LookupError:  # an unknown charset name: let BeautifulSoup guess
            return BeautifulSoup(body, "html.parser")


def discover_feeds(body: bytes, page_url: str, *, content_type: str | None = None) -> list[str]:
    """Absolute URLs of the feeds a page announces with <link rel="alternate" type=...>,
    RSS/Atom first, in document order."""
    soup = _soup(body, content_type)
    base = page_url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        base = urljoin(page_url, str(base_tag["href"]))
    found: list[tuple[int, str]] = []
    for link in soup.find_all("link", href=True):
        rel: str | list[str] = link.get("rel") or []
        rels = [r.lower() for r in (rel if isinstance(rel, list) else str(rel).split())]
        ftype = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or ftype not in FEED_TYPES:
            continue
        url = canonical_url(str(link["href"]), base)
        if url and url not in (u for _, u in found):
            found.append((0 if "xml" in ftype else 1, url))
    return [u for _, u in sorted(found, key=lambda p: p[0])]


def _split(selector: str) -> tuple[str, str | None]:
    m = _ATTR.match(selector)
    if m:
        return m.group(1).strip(), m.group(2)
    return selector.strip(), None


def _select(item: Tag, selector: str | None) -> tuple[Tag | None, str | None]:
    """(element, attribute) for a relative selector; an empty selector means the item itself."""
    if not selector:
        return None, None
    css, attr = _split(selector)
    el = item.select_one(css) if css else item
    return el, attr


def _value(item: Tag, selector: str | None, *, html: bool = False) -> str | None:
    el, attr = _select(item, selector)
    if el is None:
        return None
    if attr:
        v = el.get(attr)
        return " ".join(v) if isinstance(v, list) else (str(v) if v is not None else None)
    return el.decode_contents() if html else el.get_text(" ", strip=True)


def _link(item: Tag, selector: str) -> str | None:
    el, attr = _select(item, selector)
    if el is None:
        return None
    if attr:
        v = el.get(attr)
        return str(v) if v else None
    # No @attr: the element's own href, else the first link inside it, else a URL as text.
    if el.get("href"):
        return str(el["href"])
    a = el.find("a", href=True)
    if isinstance(a, Tag):
        return str(a["href"])
    text = el.get_text(strip=True)  # a URL written out as text, as in <guid> or <span class="url">
    return text if text.startswith(("http://", "https://", "/")) else None


class Selectors(Protocol):
    """A source's `html:` block (`bot.config.sources.HtmlSelectors`): CSS selectors."""

    @property
    def item(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def date(self) -> str | None: ...
    @property
    def summary(self) -> str | None: ...


# The config's selectors, or the same as a plain mapping (from the CLI and tests).
SelectorSource = Union[Selectors, Mapping[str, "str | None"]]


def _get(selectors: SelectorSource, name: str) -> str | None:
    if isinstance(selectors, dict):
        return selectors.get(name)
    # by name: one lookup for both shapes; a missing optional selector reads as None
    value: str | None = getattr(selectors, name, None)
    return value


def scrape(body: bytes, selectors: SelectorSource, *, url: str, content_type: str | None, source_id: str,
           tags: tuple[str, ...], default_language: str | None, now: datetime) -> ParsedFeed:
    soup = _soup(body, content_type)
    item_sel = _get(selectors, "item")
    title_sel, link_sel = _get(selectors, "title"), _get(selectors, "link")
    if not item_sel or not title_sel or not link_sel:
        raise SourceFailure("parse-error", "html selectors need item, title and link")
    try:
        rows = soup.select(item_sel)
    except Exception as exc:  # soupsieve.SelectorSyntaxError and friends
        raise SourceFailure("parse-error", f"invalid item selector {item_sel!r}: {exc}") from None
    if not rows:
        raise SourceFailure("parse-error", f"item selector {item_sel!r} matched nothing on the page "
                                        "(has the page layout changed?)")
    html_tag = soup.find("html")
    page_lang = html_tag.get("lang") if isinstance(html_tag, Tag) else None
    items = []
    try:
        for row in rows:
            title = _value(row, title_sel)
            link = _link(row, link_sel)
            if not title or not link:
                continue
            date_text = _value(row, _get(selectors, "date"))
            items.append(build_item(
                source_id=source_id, tags=tags, now=now, base_url=url, entry_id=None,
                link=link, title=title, summary=_value(row, _get(selectors, "summary"), html=True),
                content=None, languages=[row_lang if isinstance(row_lang := row.get("lang"), str) else None,
                                         page_lang if isinstance(page_lang, str) else None],
                published=parse_date(date_text), default_language=default_language,
            ))
    except SourceFailure:
        raise
    except Exception as exc:  # a selector soupsieve rejects
        raise SourceFailure("parse-error", f"invalid html selector: {exc}") from None
    if not items:
        raise SourceFailure("parse-error", f"{len(rows)} elements matched {item_sel!r} but none had both "
                                        f"a title ({title_sel!r}) and a link ({link_sel!r})")
    title_tag = soup.find("title")
    title = clean_text(title_tag.get_text()) if isinstance(title_tag, Tag) else None
    return ParsedFeed(title=title or None, items=items, format="html")
