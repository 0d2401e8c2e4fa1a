"""Editing sources.yaml in place: add, remove, enable/disable, OPML import and export.

Owns the round-trip edit: ruamel.yaml's round-trip mode keeps the coordinators' comments, key
order, quoting and indentation; every edit is validated as a whole file (the same loader as
`newsbot check`) before the file is replaced atomically, so a bad edit never lands on disk.
Used by `newsbot sources add/remove/import` and by the Telegram /addsource command.

Must not fetch anything (checking that a URL serves a feed is the caller's business) nor touch
the database.

Errors: the current file being invalid raises ConfigError (a configuration problem, exit 2);
an edit that would make it invalid, or names an unknown/duplicate source, raises SourceEditError.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.sources import SOURCES_FILE, SourcesConfig, load_sources
from bot.errors import ConfigError, NewsbotError


class SourceEditError(NewsbotError):
    """An edit of sources.yaml that was refused; the file is unchanged."""

    hint = "nothing was written; see `newsbot sources list` and `newsbot check`"


@dataclass
class ImportResult:
    added: list[tuple[str, str]] = field(default_factory=list)     # (id, url)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (url or outline text, why)
    repaired: list[str] = field(default_factory=list)              # what was fixed to read the file


# --- helpers ----------------------------------------------------------------------------------

def url_key(url: str) -> str:
    """What makes two source URLs the same: the canonical URL of `bot.parse.items.canonical_url`
    (scheme and host case-insensitive, no default port, fragment or tracking parameters such
    as utm_*), then no trailing slash, no `www.`, and http and https alike (a site that moved
    to https is still the same feed)."""
    from bot.parse.items import canonical_url

    url = url.strip()
    parts = urlsplit(canonical_url(url) or url)
    path = parts.path.rstrip("/") or ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower().removeprefix('www.')}{path}{query}"


def slugify(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:60].strip("-")


_GENERIC_HOST_PARTS = {"www", "feeds", "feed", "rss", "news", "blog", "en", "com", "org", "net", "int",
                       "eu", "de", "fr", "uk", "co", "info", "io", "europa"}


def _id_from_address(host: str) -> str | None:
    """A readable id for a host that is an IP address or localhost (`127.0.0.1` ->
    `local-127-0-0-1`, `8.8.8.8` -> `ip-8-8-8-8`), where the last two labels of a
    domain name (`0-1`) would say nothing; None for a domain name."""
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return slugify(host)
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    prefix = "local" if (ip.is_loopback or ip.is_private or ip.is_link_local) else "ip"
    return f"{prefix}-{'ipv6-' if ip.version == 6 else ''}{slugify(str(ip))}"


def suggest_id(url: str, taken: Iterable[str], name: str | None = None) -> str:
    """A free slug for a new source: from its name if given, else from the host
    (`https://www.picum.org/feed/` -> `picum`), numbered when taken."""
    taken = set(taken)
    base: str | None = slugify(name or "")
    if not base:
        host = (urlsplit(url).hostname or "").lower()
        base = _id_from_address(host)
        if base is None:
            parts = [p for p in host.split(".") if p and p not in _GENERIC_HOST_PARTS]
            base = slugify("-".join(parts[-2:]) if parts else host)
        base = base or "source"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation of the file, so an edit writes new entries the
    way the file already looks (`  - id: x` under `sources:` is mapping 2, sequence 4, offset 2)."""
    mapping = sequence = offset = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        m = re.match(r"-( +)\S", stripped)
        if m and sequence is None:
            offset, sequence = indent, indent + 1 + len(m.group(1))
        elif not m and indent and mapping is None:
            mapping = indent
        if mapping is not None and sequence is not None:
            break
    return mapping or 2, sequence or 4, offset if offset is not None else 2


def _yaml(text: str) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a coordinator's long lines
    mapping, sequence, offset = _guess_indent(text)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


class _Document:
    """sources.yaml loaded for a round-trip edit."""

    def __init__(self, config_dir: Path):
        self.config_dir = config_dir
        self.path = config_dir / SOURCES_FILE
        # The current file must be valid before we touch it: we never "fix" a broken file by
        # rewriting it, and the error names its place (ConfigError, exit 2).
        self.config: SourcesConfig = load_sources(config_dir)
        text = self.path.read_text(encoding="utf-8")
        self.yaml = _yaml(text)
        self.data = self.yaml.load(text)
        if not isinstance(self.data, CommentedMap):
            self.data = CommentedMap()
        if not isinstance(self.data.get("sources"), CommentedSeq):
            self.data["sources"] = CommentedSeq()

    @property
    def seq(self) -> CommentedSeq:
        return self.data["sources"]

    def index_of(self, source_id: str) -> int | None:
        for i, entry in enumerate(self.seq):
            if isinstance(entry, dict) and entry.get("id") == source_id:
                return i
        return None

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()

    def save(self) -> SourcesConfig:
        """Validate the edited file as a whole, then replace the file atomically."""
        text = self.dump()
        with tempfile.TemporaryDirectory(prefix="newsbot-edit-") as tmp:
            (Path(tmp) / SOURCES_FILE).write_text(text, encoding="utf-8")
            try:
                config = load_sources(Path(tmp))
            except ConfigError as exc:
                raise SourceEditError("the edit would make sources.yaml invalid: "
                                      + "; ".join(str(p) for p in exc.problems)) from None
        fd, tmp_path = tempfile.mkstemp(prefix=".sources.", suffix=".yaml", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp_path, self.path.stat().st_mode & 0o777)
            os.replace(tmp_path, self.path)
        except BaseException:
            Path(tmp_path).unlink(missing_ok=True)
            raise
        return config


def _entry(source_id: str, url: str, name: str | None, tags: Sequence[str], type_: str | None,
           language: str | None, html: Mapping[str, str] | None = None) -> CommentedMap:
    entry = CommentedMap()
    entry["id"] = source_id
    if name:
        entry["name"] = name
    entry["url"] = url
    if type_ and type_ != "auto":
        entry["type"] = type_
    if tags:
        seq = CommentedSeq(list(tags))
        seq.fa.set_flow_style()  # `tags: [a, b]`, as the shipped file writes them
        entry["tags"] = seq
    if language:
        entry["language"] = language
    if html:
        entry["html"] = CommentedMap((k, v) for k, v in html.items() if v)
    return entry


def _parse_tags(tags: Iterable[str] | str | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    return [t.strip() for t in tags if t and t.strip()]


# --- edits ------------------------------------------------------------------------------------

def add_source(config_dir: Path, url: str, *, source_id: str | None = None, name: str | None = None,
               tags: Iterable[str] | str | None = None, type_: str | None = None,
               language: str | None = None, html: Mapping[str, str] | None = None,
               page_url: str | None = None, known_feeds: Mapping[str, str] | None = None) -> str:
    """Append a source; returns its id. Refuses a URL already present or a taken id; also
    when `url` is a feed discovered on `page_url` and that page is configured, or when `url`
    is the feed a configured page led to (`known_feeds`: source id -> discovered feed URL)."""
    doc = _Document(config_dir)
    url = url.strip()
    key = url_key(url)
    for existing in doc.config.sources:
        if url_key(existing.url) == key:
            raise SourceEditError(f"{url} is already in sources.yaml as {existing.id!r}")
        if page_url and url_key(existing.url) == url_key(page_url):
            raise SourceEditError(f"{page_url} is already in sources.yaml as {existing.id!r} (its feed is {url})")
        feed = (known_feeds or {}).get(existing.id)
        if feed and url_key(feed) == key:
            raise SourceEditError(f"{url} is already polled as the feed of {existing.id!r} ({existing.url})")
    taken = {s.id for s in doc.config.sources}
    if source_id is not None and source_id in taken:
        raise SourceEditError(f"id {source_id!r} is already used in sources.yaml")
    sid = source_id or suggest_id(url, taken, name)
    doc.seq.append(_entry(sid, url, name, _parse_tags(tags), type_, language, html))
    doc.save()
    return sid


def _last_holder(node: Any) -> tuple[Any, Any] | None:
    """The (container, key) whose comment slot holds what follows `node` in the file."""
    while True:
        if isinstance(node, CommentedMap) and node:
            key = list(node.keys())[-1]
            value = node[key]
            if isinstance(value, CommentedMap) and value:
                node = value
                continue
            return node, key
        if isinstance(node, CommentedSeq) and node:
            return node, len(node) - 1
        return None


def remove_source(config_dir: Path, source_id: str) -> None:
    """Remove a source. Comments that sat between it and the next source (a section heading,
    say) move to the previous source, so removing the last source of a section keeps the
    next section's heading."""
    doc = _Document(config_dir)
    idx = doc.index_of(source_id)
    if idx is None:
        raise SourceEditError(f"no source with id {source_id!r} in sources.yaml")
    following = _trailing_comment(doc.seq[idx])
    del doc.seq[idx]
    if following and idx > 0:
        _append_comment(doc.seq[idx - 1], following)
    doc.save()


def _trailing_comment(entry: Any) -> str | None:
    holder = _last_holder(entry)
    if holder is None:
        return None
    node, key = holder
    slot = node.ca.items.get(key)
    token = slot[2] if slot and len(slot) > 2 else None
    if token is None or not getattr(token, "value", None):  # dynamic: ruamel's comment slots hold tokens of several kinds
        return None
    # The token holds the rest of the last line (an end-of-line comment, which belongs to the
    # removed entry) up to its newline, then the lines before the next entry.
    rest = token.value.partition("\n")[2]
    return rest if rest.strip() else None


def _append_comment(entry: Any, text: str) -> None:
    from ruamel.yaml.tokens import CommentToken
    from ruamel.yaml.error import CommentMark

    holder = _last_holder(entry)
    if holder is None:
        return
    node, key = holder
    slot = node.ca.items.setdefault(key, [None, None, None, None])
    while len(slot) < 4:
        slot.append(None)
    if slot[2] is not None and slot[2].value:
        value = slot[2].value
        slot[2].value = (value if value.endswith("\n") else value + "\n") + text
    else:
        slot[2] = CommentToken("\n" + text, CommentMark(0), None)


def set_enabled(config_dir: Path, source_id: str, enabled: bool) -> None:
    """Set `enabled:` of a source (absent means true, so enabling removes the key)."""
    doc = _Document(config_dir)
    idx = doc.index_of(source_id)
    if idx is None:
        raise SourceEditError(f"no source with id {source_id!r} in sources.yaml")
    entry = doc.seq[idx]
    if enabled:
        entry.pop("enabled", None)
    else:
        entry["enabled"] = False
    doc.save()


# --- OPML -------------------------------------------------------------------------------------

# A `&` that starts no XML entity or character reference: exports of feed lists often carry
# them in titles and URLs (`?a=1&b=2`), and one makes the whole file ill-formed XML.
# HTML's named entities (`&copy;`) are not XML's: without a DTD they are as fatal.
_BARE_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")


@dataclass
class Opml:
    """What an OPML file holds: its feeds (url, title, tags, language, site), the outlines
    that are not read as feeds with why (label, why), and what was repaired to read it."""

    feeds: list[dict[str, Any]] = field(default_factory=list)
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
    by_url: dict[str, dict[str, Any]] = {}

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
    doc = _Document(config_dir)
    opml = read_opml(data)
    result = ImportResult(skipped=list(opml.ignored), repaired=list(opml.repaired))
    present = {url_key(s.url): s.id for s in doc.config.sources}
    taken = {s.id for s in doc.config.sources}
    extra = _parse_tags(list(extra_tags))
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
        lang = (outline["language"] or "").lower().split("-")[0] or None
        if lang and (not re.fullmatch(r"[a-z]{2,3}", lang) or lang == default_language):
            lang = None
        site = outline["site"]
        if site and (urlsplit(site).scheme not in ("http", "https") or url_key(site) == key):
            site = None
        entry = _entry(sid, url, outline["title"], list(dict.fromkeys(outline["tags"] + extra)), None, lang)
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
