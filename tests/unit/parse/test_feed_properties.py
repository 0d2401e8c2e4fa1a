"""Property-based tests (hypothesis): whatever text a coordinator or a feed hands newsbot,
the answer is a result or one of newsbot's own errors, never another exception.
- feed bytes through bot.parse (and bot.parse.items): a ParsedFeed of items or a SourceFailure.
Deterministic for CI (derandomize, no example database) and kept small: the examples are
built from the syntax of each format, so few of them reach deep into the code
(tests/support/strategies.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.errors import SourceFailure
from bot.model import Item
from bot.parse import ParsedFeed, parse_document
from support.strategies import SETTINGS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


# ---- feed bytes -> bot.parse -> bot.parse.items -------------------------------------------------

HOSTILE_TEXT = ["<!--", "-->", "&#55357;&#56832;", "&#55357;", "&#0;", "&#7;", "\x1b[31m", "&lang=fr",
                "&copy=", "<![CDATA[", "]]>", "<b>", "</p>", "&amp;", "&", "<", "Détention", "Ελλάδα",
                "مهاجر", "🚤", "\u202e", "https://example.org/a?b=1&c=2", "at://x", "javascript:alert(1)"]
field_text = st.one_of(st.lists(st.sampled_from(HOSTILE_TEXT), max_size=8).map("".join), st.text(max_size=40))
DATES = ["Sat, 01 Nov 2025 10:00:00 GMT", "mer, 16 nov 2022 00:38:15 +0100", "2025-11-01T10:00:00Z",
         "31/02/2025", "", "Fri, 31 Dec 9999 23:59:59 GMT", "0000-00-00"]


@st.composite
def feeds(draw) -> bytes:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;") if draw(st.booleans()) else s

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        entries.append(f"<item><title>{esc(draw(field_text))}</title><link>{esc(draw(field_text))}</link>"
                       f"<guid>{esc(draw(field_text))}</guid><description>{esc(draw(field_text))}</description>"
                       f"<pubDate>{draw(st.sampled_from(DATES))}</pubDate></item>")
    doc = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{esc(draw(field_text))}"
           f"</title><ttl>{draw(st.sampled_from(['30', '-1', '99999999999999999999', 'x']))}</ttl>"
           + "".join(entries) + "</channel></rss>")
    data = doc.encode("utf-8", errors="surrogatepass")
    cut = draw(st.integers(0, len(data)))
    return data if draw(st.booleans()) else data[:cut]


@SETTINGS
@given(st.one_of(feeds(), st.binary(max_size=200)),
       st.sampled_from([None, "application/rss+xml", "text/html", "application/json"]))
def test_feed_bytes_give_items_or_a_fetch_error(body, content_type):
    try:
        parsed = parse_document(body, url="https://feed.example/rss", content_type=content_type, kind="auto",
                                source_id="src", now=NOW)
    except SourceFailure as exc:
        assert exc.kind in ("parse-error", "not-a-feed"), exc.kind
        return
    assert isinstance(parsed, ParsedFeed)
    for item in parsed.items:
        assert isinstance(item, Item) and isinstance(item.title, str) and item.guid
