"""Editing sources.yaml in place: add, remove, enable/disable one source.

Owns the round-trip edit (`SourcesDocument`): ruamel.yaml's round-trip mode keeps the
coordinators' comments, key order, quoting and indentation; every edit is validated as a whole
file (the same loader as `newsbot check`) before the file is replaced atomically, so a bad edit
never lands on disk. Also what makes two source URLs the same (`url_key`) and the id a new
source gets (`suggest_id`). Used by `newsbot sources add/remove/enable/disable`, the Telegram
/addsource command, and OPML import (bot.config.opml, which edits through `SourcesDocument`).

Must not fetch anything (checking that a URL serves a feed is the caller's business), touch
the database, or know OPML.

Errors: the current file being invalid raises ConfigError (a configuration problem, exit 2);
an edit that would make it invalid, or names an unknown/duplicate source, raises SourceEditError.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.sources import SOURCES_FILE, SourcesConfig, load_sources
from bot.errors import ConfigError, NewsbotError


class SourceEditError(NewsbotError):
    """An edit of sources.yaml that was refused; the file is unchanged."""

    hint = "nothing was written; see `newsbot sources list` and `newsbot check`"


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


class SourcesDocument:
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


def new_entry(source_id: str, url: str, name: str | None, tags: Sequence[str], type_: str | None,
              language: str | None, html: Mapping[str, str] | None = None) -> CommentedMap:
    """A sources.yaml entry as the shipped file writes them (`type: auto` left out)."""
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


def parse_tags(tags: Iterable[str] | str | None) -> list[str]:
    """`a, b` or ["a", "b"] -> ["a", "b"] (blanks dropped)."""
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
    doc = SourcesDocument(config_dir)
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
    doc.seq.append(new_entry(sid, url, name, parse_tags(tags), type_, language, html))
    doc.save()
    return sid


def _last_holder(node: object) -> tuple[CommentedMap | CommentedSeq, Hashable] | None:
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
    doc = SourcesDocument(config_dir)
    idx = doc.index_of(source_id)
    if idx is None:
        raise SourceEditError(f"no source with id {source_id!r} in sources.yaml")
    following = _trailing_comment(doc.seq[idx])
    del doc.seq[idx]
    if following and idx > 0:
        _append_comment(doc.seq[idx - 1], following)
    doc.save()


def _trailing_comment(entry: object) -> str | None:
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


def _append_comment(entry: object, text: str) -> None:
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
    doc = SourcesDocument(config_dir)
    idx = doc.index_of(source_id)
    if idx is None:
        raise SourceEditError(f"no source with id {source_id!r} in sources.yaml")
    entry = doc.seq[idx]
    if enabled:
        entry.pop("enabled", None)
    else:
        entry["enabled"] = False
    doc.save()
