"""OPML, the feed readers' list format, in and out of sources.yaml: `newsbot sources import`
and `newsbot sources export`.

Owns reading an OPML file into feeds (`read_opml`: folders and categories as tags, a feed
listed in two folders as one feed, the common breakage of bare `&` repaired and said so),
adding those feeds to sources.yaml (`import_opml`, one validated write through
bot.config.sources_edit's round-trip document), and writing the sources as OPML 2.0
(`export_opml`).

Must not fetch anything, touch the database, or edit sources.yaml other than through
`SourcesDocument`. A file that is not OPML raises SourceEditError (nothing is written).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Iterable, Mapping, TypedDict
from urllib.parse import urlsplit

from bot.config.sources import SourcesConfig
from bot.config.sources_edit import SourceEditError, SourcesDocument, new_entry, parse_tags, slugify, suggest_id, url_key
from bot.tagging.language import primary_subtag


@dataclass
class ImportResult:
    added: list[tuple[str, str]] = field(default_factory=list)     # (id, url)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (url or outline text, why)
    repaired: list[str] = field(default_factory=list)              # what was fixed to read the file


# A `&` that starts no XML entity or character reference: exports of feed lists often carry
# them in titles and URLs (`?a=1&b=2`), and one makes the whole file ill-formed XML.
# HTML's named entities (`&copy;`) are not XML's: without a DTD they are as fatal.
_BARE_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")


class OpmlFeed(TypedDict):
    url: str
    title: str | None
    language: str | None     # as the file writes it
    site: str | None         # the `htmlUrl`
    tags: list[str]


@dataclass
class Opml:
    """What an OPML file holds: its feeds (url, title, tags, language, site), the outlines
    that are not read as feeds with why (label, why), and what was repaired to read it."""

    feeds: list[OpmlFeed] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def _parse_xml(data: bytes, repaired: list[str]) -> ET.Element:
    """The document's root; a file that is ill-formed only through bare `&` is read with
    them escaped (and that is said), any other XML error refuses it."""
    try:
        # Expat does not fetch external entities, and bounds entity expansion (>= 2.4.1).
        return ET.fromstring(data)
    except ET.ParseError as exc:
        first = exc
    bare = [m.start() for m in _BARE_AMPERSAND.finditer(data)]
    if bare:
        try:
            root = ET.fromstring(_BARE_AMPERSAND.sub(b"&amp;", data))
        except ET.ParseError:
            pass
        else:
            lines = sorted({data.count(b"\n", 0, at) + 1 for at in bare})
            shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
            repaired.append(f"read {len(bare)} '&' that begin no XML entity as '&amp;' (line {shown}): "
                            "the file is not well-formed XML")
            return root
    raise SourceEditError(f"not an OPML file: XML error: {first}") from None


def read_opml(data: bytes | str) -> Opml:
    """Feed outlines of an OPML 1.0/2.0 document (`xmlUrl`, or `feedUrl` as some readers
    write it): url, title, tags (from `category` and every folder the feed is listed in: a
    feed in two folders is one feed with both tags), language and site (`htmlUrl`). Raises
    SourceEditError when it is not OPML."""
    result = Opml()
    root = _parse_xml(data.encode("utf-8") if isinstance(data, str) else data, result.repaired)
    body = root.find("body")
    if root.tag.lower() != "opml" or body is None:
        raise SourceEditError(f"not an OPML file: the root element is <{root.tag}>, expected <opml> with a <body>")
    by_url: dict[str, OpmlFeed] = {}

    def walk(node: ET.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or outline.get("feedUrl")
                   or outline.get("feedurl") or "").strip()
            title = outline.get("title") or outline.get("text")
            children = outline.findall("outline")
            if url:
                tags = list(folders)
                for cat in (outline.get("category") or "").split(","):
                    last = cat.strip().strip("/").split("/")[-1]
                    if last:
                        tags.append(last)
                tags = [t for t in (slugify(t) for t in tags) if t]
                if url in by_url:   # listed again, in another folder: one feed, every folder's tag
                    known = by_url[url]
                    known["tags"] = list(dict.fromkeys(known["tags"] + tags))
                else:
                    by_url[url] = {"url": url, "title": title, "language": outline.get("language"),
                                   "site": (outline.get("htmlUrl") or outline.get("htmlurl") or "").strip() or None,
                                   "tags": list(dict.fromkeys(tags))}
                    result.feeds.append(by_url[url])
            elif not children:
                label = title or outline.get("htmlUrl") or "(an outline without text)"
                result.ignored.append((label, "no xmlUrl or feedUrl: not a feed"))
            walk(outline, folders + [title] if not url and title else folders)

    walk(body, [])
    return result


def import_opml(config_dir: Path, data: bytes | str, *, extra_tags: Iterable[str] = ()) -> ImportResult:
    """Append every feed of an OPML file not already in sources.yaml, in one validated write.
    A language equal to `defaults.language` is left to the default (an OPML exported from
    newsbot, or by a reader, gives every feed one: it must not be stamped on each)."""
    doc = SourcesDocument(config_dir)
    opml = read_opml(data)
    result = ImportResult(skipped=list(opml.ignored), repaired=list(opml.repaired))
    present = {url_key(s.url): s.id for s in doc.config.sources}
    taken = {s.id for s in doc.config.sources}
    extra = parse_tags(list(extra_tags))
    default_language = doc.config.defaults.language
    for outline in opml.feeds:
        url = outline["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            result.skipped.append((url, "not an http(s) URL"))
            continue
        key = url_key(url)
        if key in present:
            result.skipped.append((url, f"already present as {present[key]!r}"))
            continue
        sid = suggest_id(url, taken, outline["title"])
        lang = primary_subtag(outline["language"])
        if lang and (not re.fullmatch(r"[a-z]{2,3}", lang) or lang == default_language):
            lang = None
        site = outline["site"]
        if site and (urlsplit(site).scheme not in ("http", "https") or url_key(site) == key):
            site = None
        entry = new_entry(sid, url, outline["title"], list(dict.fromkeys(outline["tags"] + extra)), None, lang)
        if site:
            entry["site"] = site
        doc.seq.append(entry)
        taken.add(sid)
        present[key] = sid
        result.added.append((sid, url))
    if result.added:
        doc.save()
    return result


def export_opml(config: SourcesConfig, now: datetime | None = None, title: str = "newsbot sources",
                feed_urls: Mapping[str, str] | None = None) -> str:
    """OPML 2.0 of the configured sources (disabled ones included, marked by a category).

    `feed_urls`: the feed URL found by `type: auto` discovery, per source id (from the
    database). Such a source is exported with that feed as `xmlUrl` and the page it was found
    on as `htmlUrl`, so any feed reader can subscribe to it."""
    feed_urls = feed_urls or {}
    now = now or datetime.now(timezone.utc)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for s in config.sources:
        discovered = feed_urls.get(s.id) if s.type != "html" else None
        attrs = {"type": "rss", "text": s.display_name, "title": s.display_name, "xmlUrl": discovered or s.url}
        if s.site:
            attrs["htmlUrl"] = s.site
        if discovered and discovered != s.url:
            attrs["htmlUrl"] = s.url
        cats = list(s.tags) + ([] if s.enabled else ["disabled"])
        if cats:
            attrs["category"] = ",".join(cats)
        lang = config.language(s)
        if lang:
            attrs["language"] = lang
        if s.type == "html":
            attrs["type"] = "link"  # a listing page, not a feed: readers should not subscribe to it
            attrs["htmlUrl"] = s.url
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
