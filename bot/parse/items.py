"""Item normalisation: raw fields from any parser -> one clean `bot.model.Item`.

Owns canonical URLs (tracking parameters, fragments and default ports removed), HTML to
plain text (control characters removed, every field capped: TITLE_MAX and friends), UTC
publication dates (localised ones read by bot.parse.dates; missing -> None, far future ->
clamped), GUIDs, and the item language (declared, else detected by bot.tagging.language, else
the source default).
Pure functions: no I/O, no storage, no HTTP. The clock is passed in (`now`).
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bot.model import Item
from bot.tagging.language import detect_language, normalise_language

log = logging.getLogger(__name__)

# Parameters that only say where a click came from. Exact names, compared lowercase.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "mc_cid", "mc_eid", "igshid", "igsh", "ref", "ref_src", "ref_url", "_hsenc", "_hsmi",
    "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wt.mc_id", "wt_mc_id",
    "ocid", "cmpid", "s_cid", "spm", "guccounter", "guce_referrer", "guce_referrer_sig",
    "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
    "at_format", "at_link", "at_ptr_name", "at_link_id", "at_link_type", "at_link_origin",
    "at_bbc_team", "cmp", "xtor",
})
# Whole families: utm_source, utm_medium ... (Google), ns_* (comScore), pk_* (Matomo).
TRACKING_PREFIXES = ("utm_", "ns_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}

FUTURE_TOLERANCE = timedelta(days=1)


# --- URLs -----------------------------------------------------------------------------

def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The URL under which one article is known once, whatever campaign linked to it.

    Resolves against `base`, lowercases scheme and host, drops default ports, fragments
    and tracking parameters, keeps the other parameters in their order. Non-http(s) or
    unparsable URLs give None.
    """
    if not url:
        return None
    url = strip_controls(url).strip()
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        cred = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{cred}@{netloc}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept, doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


# --- text -----------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4",
    "h5", "h6", "blockquote", "section", "article", "header", "footer", "figure",
    "figcaption", "hr", "pre", "dd", "dt", "dl", "aside", "nav",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_WS = re.compile(r"\s+")
RAW_FACTOR = 8   # characters of markup read per character of text kept
_ESCAPED_MARKUP = re.compile(r"</?(?:p|div|span|a|br|b|i|em|strong|img|ul|ol|li|h[1-6]|table|blockquote)(?:\s[^<>]*)?/?>|<!--", re.I)


class _TextExtractor(HTMLParser):
    """Collects text nodes, a space at block boundaries, nothing from script/style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS or tag == "img":
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def clean_text(value: str | None, limit: int | None = None) -> str:
    """Plain text of an HTML fragment or text: tags stripped, entities decoded (a surrogate
    pair written as two character references becomes its character, a lone surrogate goes),
    script/style dropped, control characters removed, whitespace collapsed to single spaces.
    `limit`: cut at a word boundary with an ellipsis past that many characters (and read no
    more than `RAW_FACTOR` times that much markup: a 9 MB title costs no 9 MB parse)."""
    if not value:
        return ""
    if limit is not None:
        value = value[:limit * RAW_FACTOR]
    text = _plain(value, passes=2)
    text = _WS.sub(" ", strip_controls(text).replace("\u00ad", "")).strip()
    return shorten(text, limit) if limit is not None else text


def _plain(value: str, passes: int) -> str:
    if "<" not in value and "&" not in value:
        return value
    parser = _TextExtractor()
    try:
        parser.feed(join_surrogate_refs(value))
        parser.close()
    except Exception:  # html.parser is lenient; never let odd markup lose an item
        log.debug("html.parser failed; keeping raw text", exc_info=True)
        return value
    text = "".join(parser.parts)
    if passes > 1 and _ESCAPED_MARKUP.search(text):
        # Escaped twice by the publisher ("&amp;lt;p&amp;gt;"): one more pass, and only one:
        # an unclosed "<!--" survives every pass as text.
        return _plain(text, passes - 1)
    return text


# C0 controls but tab, newline and carriage return; DEL; C1; surrogates (a JSON feed's lone
# "\ud83d" cannot be encoded, PostgreSQL refuses NUL, a terminal obeys ESC).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Character references to UTF-16 surrogates: a high one (U+D800-DBFF, decimal 55296-56319)
# with the low one (U+DC00-DFFF, 56320-57343) that follows it, or any other one alone.
_HIGH = r"&#(?:5529[6-9]|55[3-9]\d\d|56[0-2]\d\d|563[01]\d|[xX][dD][89abAB][0-9a-fA-F]{2});?"
_LOW = r"&#(?:5632\d|563[3-9]\d|56[4-9]\d\d|57[0-2]\d\d|573[0-3]\d|5734[0-3]|[xX][dD][c-fC-F][0-9a-fA-F]{2});?"
_SURROGATE_REFS = re.compile(f"({_HIGH})({_LOW})?|{_LOW}")


def strip_controls(text: str) -> str:
    """`text` without control characters (tab and line ends stay) nor lone surrogates."""
    return _CONTROLS.sub("", text)


def join_surrogate_refs(text: str) -> str:
    """`&#55357;&#56832;` (UTF-16 written as two character references, common CMS output)
    -> `&#128512;`; a lone surrogate reference is dropped."""
    if "&#" not in text:
        return text
    return _SURROGATE_REFS.sub(_join_pair, text)


def _join_pair(m: re.Match[str]) -> str:
    if not m[2]:
        return ""   # a lone surrogate
    high, low = _ref_value(m[1]), _ref_value(m[2])
    return f"&#{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)};"


def _ref_value(ref: str) -> int:
    digits = ref[2:].rstrip(";")
    return int(digits[1:], 16) if digits[:1] in "xX" else int(digits)


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary and add an ellipsis when longer than `limit` (the ellipsis
    included: the result is never longer than `limit`)."""
    if len(text) <= limit:
        return text
    head = text[:max(1, limit - 1)]
    cut = head if text[len(head)] == " " else (head.rsplit(" ", 1)[0] or head)
    return cut.rstrip(" ,;:.") + "…"


# --- dates ----------------------------------------------------------------------------

def to_utc(value: datetime | time.struct_time | None) -> datetime | None:
    """Aware UTC datetime from a datetime (naive means UTC) or a UTC struct_time."""
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        try:
            return datetime.fromtimestamp(calendar.timegm(value), timezone.utc)
        except (OverflowError, ValueError, OSError):
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_date(text: str | None) -> datetime | None:
    """A date as written in feeds and pages: ISO 8601, RFC 822 in the coalition's languages
    with named zones and 12-hour clocks (bot.parse.dates), and what feedparser knows."""
    if not text:
        return None
    text = text.strip()
    try:
        return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    from bot.parse.dates import parse_localised
    localised = parse_localised(text)
    if localised is not None:
        return localised
    from email.utils import parsedate_to_datetime
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        from feedparser.datetimes import _parse_date
        return to_utc(_parse_date(text))
    except Exception:  # feedparser's date handlers are best effort by design
        return None


def clamp_published(published: datetime | None, now: datetime) -> datetime | None:
    """A date more than a day ahead is a publisher's clock or time-zone error: use now."""
    if published is not None and published > now + FUTURE_TOLERANCE:
        return now
    return published


# --- items ----------------------------------------------------------------------------

def make_guid(entry_id: str | None, url: str | None, title: str, summary: str) -> str:
    """The entry's own id, else its link, else a hash of what it says. An id longer than
    GUID_MAX is stored as its hash (a btree index entry must stay small on PostgreSQL)."""
    entry_id = strip_controls(entry_id or "").strip()
    if entry_id:
        if len(entry_id) > GUID_MAX:
            return "sha256:" + hashlib.sha256(entry_id.encode("utf-8")).hexdigest()
        return entry_id
    if url:
        return url
    digest = hashlib.sha256(f"{title}\n{summary}".encode("utf-8")).hexdigest()
    return f"sha256:{digest[:32]}"


# Field caps (characters), cut at a word boundary with an ellipsis; README "Sources and
# fetching" lists them. A feed cannot make one item weigh megabytes.
SUMMARY_LIMIT = 1000       # the summary made from a long text (messages show it)
TITLE_MAX = 1_000
SUMMARY_MAX = 10_000
TEXT_MAX = 100_000
AUTHOR_MAX = 500
CATEGORY_MAX = 200
CATEGORIES_MAX = 50
GUID_MAX = 1_000           # longer ids are stored as their sha256
URL_MAX = 2_000            # longer links are dropped (the item keeps its guid)


def is_empty(item: Item) -> bool:
    """An item that says nothing: no title, no http(s) link, no summary nor text (an empty
    `<item/>`, or what a parser recovered of a truncated document). Never stored."""
    return not (item.title or item.url or item.summary or item.text)


def build_item(*, source_id: str, tags: Iterable[str], now: datetime, base_url: str | None,
               entry_id: str | None, link: str | None, title: str | None,
               summary: str | None, content: str | None, author: str | None = None,
               categories: Iterable[str] = (), languages: Iterable[str | None] = (),
               published: datetime | None = None,
               default_language: str | None = None) -> Item:
    """One clean Item from the raw fields of a feed entry or a scraped listing row.

    `summary` and `content` may hold HTML. `languages` are the declared candidates in order
    of preference (entry, then feed); the first usable one wins over detection.
    """
    url = canonical_url(link, base_url)
    if url is not None and len(url) > URL_MAX:
        url = None
    title_text = clean_text(title, TITLE_MAX)
    summary_text = clean_text(summary, TEXT_MAX)
    content_text = clean_text(content, TEXT_MAX)
    if content_text == summary_text:
        content_text = ""
    if not summary_text and content_text:
        summary_text = shorten(content_text, SUMMARY_LIMIT)
    elif len(summary_text) > SUMMARY_LIMIT and not content_text:
        # Many feeds put the whole article in <description>: keep it all as text (rules
        # match on it) and a readable summary for messages.
        content_text, summary_text = summary_text, shorten(summary_text, SUMMARY_LIMIT)
    summary_text = shorten(summary_text, SUMMARY_MAX)
    if not title_text:
        title_text = shorten(summary_text, 120)
    language = next((n for n in map(normalise_language, languages) if n), None)
    if language is None:
        language = detect_language(f"{title_text}. {summary_text}") or normalise_language(default_language)
    cats: list[str] = []
    for c in categories:
        c = clean_text(c, CATEGORY_MAX)
        if c and c not in cats and len(cats) < CATEGORIES_MAX:
            cats.append(c)
    return Item(
        source_id=source_id,
        guid=make_guid(entry_id, url, title_text, summary_text),
        url=url,
        title=title_text,
        summary=summary_text,
        text=content_text,
        author=clean_text(author, AUTHOR_MAX) or None,
        categories=cats,
        language=language,
        published=clamp_published(to_utc(published), now),
        tags=list(tags),
    )
