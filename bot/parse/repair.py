"""Byte-level repairs of feeds before feedparser sees them, and a look at their first bytes.

Owns what feedparser gets wrong on ill-formed input and no option of its own turns off:
  - `&#55357;&#56832;` (a UTF-16 surrogate pair as two character references, common CMS
    output) crashes its loose parser with UnicodeEncodeError: the pair becomes the one
    reference of its character, a lone surrogate reference goes (bot.parse.items.join_surrogate_refs);
  - in an ill-formed feed its loose parser reads `&lang=fr`, `&copy=`, `&reg=` in a link as
    the HTML 4 entities without a semicolon (`〈=fr`, `©=`, `®=`): an `&` followed by a name
    and `=` is a query string's, never an entity (an entity ends with `;`), so it is escaped;
  - UTF-16/32 without a byte-order mark: `xml_encoding` names it from the null bytes of
    `<?xml` / `<` (XML 1.0 appendix F), for sniffing (bot.parse.sniff) and for feedparser.

Both repairs only touch what a well-formed document cannot contain outside CDATA sections
(which are left alone), so a valid feed comes out byte for byte the same.
Must not parse, fetch or know items.
"""

from __future__ import annotations

import re

from bot.parse.items import join_surrogate_refs

# Null-byte patterns of "<?" / "<" at the start of a BOM-less document (XML 1.0 appendix F).
_WIDE_STARTS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

_CDATA = re.compile(rb"(<!\[CDATA\[.*?(?:\]\]>|\Z))", re.S)
_QUERY_AMP = re.compile(rb"&(?=[A-Za-z_][\w.\-]*=)")
_SURROGATE_HINT = re.compile(rb"&#(?:5[5-7]\d{3}|[xX][dD][89a-fA-F])")


def wide_encoding(body: bytes) -> str | None:
    """The UTF-16/32 encoding of a document that starts with '<' but has no byte-order mark."""
    if body.startswith(_BOMS) or body[:4] == b"\x00\x00\xfe\xff" or body[:4] == b"\xff\xfe\x00\x00":
        return None
    head = body[:4]
    for pattern, encoding in _WIDE_STARTS:
        if head.startswith(pattern):
            return encoding
    return None


def text_head(body: bytes, size: int = 4096) -> bytes:
    """The document's first `size` bytes as ASCII-compatible bytes (a BOM-less UTF-16/32 head
    decoded and re-encoded as UTF-8), for sniffing."""
    encoding = wide_encoding(body)
    if encoding is None:
        return body[:size]
    width = 4 if "32" in encoding else 2
    return body[:size * width].decode(encoding, "ignore").encode("utf-8")


def repair(body: bytes) -> bytes:
    """`body` with the repairs of the module docstring. BOM-less UTF-16/32 is re-encoded as
    UTF-8 first (feedparser reads it as UTF-8 otherwise) with its declaration left to say
    what it said: feedparser then trusts the bytes, which are now UTF-8."""
    encoding = wide_encoding(body)
    if encoding is not None:
        text = body.decode(encoding, "replace")
        text = re.sub(r"^(<\?xml[^>]*?encoding=[\"'])[^\"']*", r"\1utf-8", text, count=1)
        body = text.encode("utf-8")
    elif b"\x00" in body[:4]:
        return body   # an encoding these byte patterns do not cover: leave it to feedparser
    if b"&" not in body:
        return body
    needs_amp = _QUERY_AMP.search(body) is not None
    needs_pairs = _SURROGATE_HINT.search(body) is not None
    if not (needs_amp or needs_pairs):
        return body
    parts = _CDATA.split(body)
    for n in range(0, len(parts), 2):   # even parts are outside CDATA sections
        part = parts[n]
        if needs_amp:
            part = _QUERY_AMP.sub(b"&amp;", part)
        if needs_pairs and b"&#" in part:
            part = join_surrogate_refs(part.decode("latin-1")).encode("latin-1")
        parts[n] = part
    return b"".join(parts)
