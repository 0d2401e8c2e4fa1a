"""Story similarity: pure functions that say whether two items report the same story.

Owns title normalisation (case, accents, punctuation, thousands separators, format prefixes
such as "VIDEO:" and outlet suffixes such as " - Reuters" or " | The Guardian"), loose URL
keys, the numbers and calendar words that must agree between two titles, word 3-gram
shingles, and the MinHash LSH band keys that find candidates cheaply (bot/stories/index.py keeps
them). Two items are the same story (`same_story`) when, in the same language and
with the same numbers, month and weekday names in their titles, they have
  1. the same loose URL, or
  2. the same normalised title key, or
  3. near-identical titles: word-set Jaccard >= NEAR_TITLE on titles of 4+ words, or
  4. high text overlap: Jaccard >= TEXT_OVERLAP over 3-gram shingles of title + summary,
     with some title words in common (a shared boilerplate summary is not enough).

Must not: do I/O, know of storage, time windows or sources (bot/stories/grouping.py applies those).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

MIN_KEY_TOKENS = 3       # "News", "Press release": too generic to group on the title alone
NEAR_TITLE = 0.8         # word-set Jaccard of two titles
MIN_NEAR_TOKENS = 4
TEXT_OVERLAP = 0.5       # 3-gram shingle Jaccard of title + summary
MIN_SHINGLES = 12
TEXT_TITLE_FLOOR = 0.15  # title words two texts must share for the text path
SUMMARY_TOKENS = 120     # what long summaries add beyond this is mostly the same story

# MinHash LSH: r rows a band and b bands give a pair of Jaccard J the chance 1-(1-J^r)^b of
# sharing a band key. Titles: 8 bands of 4 find J=0.8 pairs with p=0.985 (J=0.9: 0.9997).
# Texts: 20 bands of 3 find J=0.5 with p=0.93 and J=0.6 with p=0.99, and bring J=0.1 pairs
# with p=0.02; candidates are then checked exactly. Few bands keep the index small.
TITLE_PERMS, TITLE_ROWS = 32, 4
TEXT_PERMS, TEXT_ROWS = 60, 3
# MinHash's two permutation vectors (a, b), shared by every fingerprint of a kind
Permutations = tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]
_TITLE_PERMUTATIONS: Permutations = MinHash(num_perm=TITLE_PERMS, seed=7).permutations
_TEXT_PERMUTATIONS: Permutations = MinHash(num_perm=TEXT_PERMS, seed=11).permutations
# Stored keys (story_sigs) depend on datasketch's hashing scheme: after an upgrade that changes
# it, items older than the upgrade only group with new ones through URL and title keys.
_SCHEME = getattr(MinHash(num_perm=1), "scheme", None)  # dynamic: datasketch < 2 has no schemes


def _crc32(data: bytes) -> int:
    # Stable across processes and runs (stored keys depend on it), and 20x cheaper than the
    # default SHA-1; 32 bits are what the MinHash permutations work on anyway.
    return zlib.crc32(data)


def _minhash(perms: Permutations) -> MinHash:
    # Passing permutations skips regenerating them for every item (the costly part of init).
    if _SCHEME is None:  # datasketch < 2 has no schemes
        return MinHash(num_perm=len(perms[0]), permutations=perms, hashfunc=_crc32)
    return MinHash(num_perm=len(perms[0]), permutations=perms, scheme=_SCHEME, hashfunc=_crc32)


# Words newsrooms put before a headline to label its format, not its content (folded).
_PREFIX_WORDS = (
    "video", "videos", "watch", "live", "live updates", "breaking", "breaking news", "update",
    "updated", "exclusive", "photos", "photo", "in pictures", "pictures", "audio", "podcast",
    "opinion", "analysis", "interview", "explainer", "factbox", "en direct", "direct", "exclusif",
    "diaporama", "infographie", "liveticker", "eilmeldung", "exklusiv", "kommentar", "ultim'ora",
    "ultimora", "esclusiva", "esclusivo", "foto", "diretta", "en vivo", "directo", "exclusiva",
)
_PREFIX = re.compile(
    r"^\s*(?:[\[(]\s*)?(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in
                                     sorted(_PREFIX_WORDS, key=len, reverse=True))
    + r")\s*(?:[\])]\s*)?(?:[:|.\-–—]+\s*|\s+(?=[\[(]))?", re.IGNORECASE)
# Separators before an outlet name: "Title - Reuters", "Title | The Guardian".
_SUFFIX_SEP = re.compile(r"\s+(?:-|–|—|\||·|::|//)\s+")
_TRAILING_PAREN = re.compile(r"\s*\(([^()\d]{1,40})\)\s*$")
_THOUSANDS = re.compile(r"(?<=\d)[,.'’\u202f\u00a0 ](?=\d{3}\b)")
_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lower case, accents removed, compatibility forms unified ('ﬁ' -> 'fi', 'ß' -> 'ss')."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Folded word tokens; thousands separators dropped so '1,000' == '1 000' == '1000'."""
    return [t for t in _NON_WORD.split(_THOUSANDS.sub("", fold(text)).replace("_", " ")) if t]


def strip_decorations(title: str) -> str:
    """The folded headline without format prefixes ("VIDEO:") or an outlet suffix."""
    t = fold(title).strip()
    for _ in range(3):  # "BREAKING: VIDEO: ..." carries more than one
        m = _PREFIX.match(t)
        if not m or m.end() == 0 or m.end() >= len(t):
            break
        t = t[m.end():]
    parts = _SUFFIX_SEP.split(t)
    # The last segment is an outlet name when it is short and has no number: a number there
    # is content ("Weekly bulletin - 12"), and stripping it would merge distinct items.
    if len(parts) > 1:
        last = parts[-1]
        if (len(last.split()) <= 5 and not re.search(r"\d", last)
                and len(tokens(" ".join(parts[:-1]))) >= MIN_KEY_TOKENS):
            t = _SUFFIX_SEP.sub(" ", t[: len(t) - len(last)]).rstrip(" -–—|·:/")
    m = _TRAILING_PAREN.search(t)
    if m and len(tokens(t[: m.start()])) >= MIN_KEY_TOKENS:
        t = t[: m.start()]
    return t


def title_key(title: str) -> str:
    """The normalised title used to find the same headline from other outlets."""
    return " ".join(tokens(strip_decorations(title)))


def url_key(url: str | None) -> str | None:
    """The URL without what differs between copies of one page (scheme, mobile/AMP hosts)."""
    if not url:
        return None
    m = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#]+)([^#]*)", url.strip(), re.IGNORECASE)
    if not m:
        return None
    host = re.sub(r"^(?:www|m|mobile|amp)\.", "", m.group(1).lower())
    rest = re.sub(r"(?:/amp/?|\.amp)(?=$|\?)", "", m.group(2))
    rest = re.sub(r"[?&](?:outputType|output)=amp\b", "", rest).rstrip("/?&")
    return host + rest


_CALENDAR: set[str] | None = None


def _calendar_words() -> set[str]:
    """Month and weekday names in the coalition's languages, from Babel's CLDR data, so
    'January bulletin' and 'February bulletin' stay apart."""
    global _CALENDAR
    if _CALENDAR is None:
        from babel import Locale

        words: set[str] = set()
        for code in ("en", "fr", "de", "it", "es", "pt", "nl", "el", "pl"):
            loc = Locale.parse(code)
            # Abbreviations ('mar', 'sun', 'dom') are left out: they are common words too.
            for names in (loc.months["format"]["wide"], loc.months["stand-alone"]["wide"],
                          loc.days["format"]["wide"]):
                for name in names.values():
                    words.update(t for t in tokens(name) if len(t) >= 3)
        _CALENDAR = words
    return _CALENDAR


def agreement_tokens(title: str) -> frozenset[str]:
    """Numbers and calendar words of a title: two items of one story must have the same."""
    cal = _calendar_words()
    return frozenset(t for t in tokens(title) if any(c.isdigit() for c in t) or t in cal)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _h64(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@functools.lru_cache(maxsize=256)
def _salt(kind: str, lang: str) -> int:
    return _h64(kind, lang) & 0xFFFFFFFFFFFFFFFF


_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(29)


def _bands(kind: str, lang: str, values: frozenset[str], perms: Permutations, rows: int) -> list[int]:
    """One 64-bit key per MinHash band, salted by kind and language."""
    if not values:
        return []
    mh = _minhash(perms)
    mh.update_batch([v.encode("utf-8", "surrogatepass") for v in values])
    hv = np.asarray(mh.hashvalues, dtype=np.uint64).reshape(-1, rows)
    # A multiply-xorshift mix over each band's rows, vectorised over bands: blake2b per band
    # cost more than the MinHash itself. Array arithmetic wraps modulo 2**64 by design.
    h = np.full(len(hv), _salt(kind, lang), dtype=np.uint64) ^ np.arange(len(hv), dtype=np.uint64)
    for j in range(rows):
        h = (h ^ hv[:, j]) * _MIX
        h ^= h >> _SHIFT
    keys: list[int] = h.view(np.int64).tolist()
    return keys


@dataclass
class Fingerprint:
    """What grouping compares of an item; pure, computed once per item."""

    lang: str
    title: str
    title_keys: frozenset[str]          # stripped and full normalised titles
    title_words: frozenset[str]         # of the stripped title
    shingles: frozenset[str]
    agreement: frozenset[str]
    url: str | None
    keys: dict[int, str] = field(default_factory=dict)   # lookup key -> kind


def fingerprint(title: str, summary: str = "", language: str | None = None,
                url: str | None = None, *, with_keys: bool = True) -> Fingerprint:
    lang = (language or "").lower()[:8]
    stripped = tokens(strip_decorations(title))
    full = tokens(title)
    title_keys = frozenset(" ".join(t) for t in (stripped, full) if len(t) >= MIN_KEY_TOKENS)
    words = stripped + tokens(summary)[:SUMMARY_TOKENS]
    shingles = frozenset(" ".join(words[i:i + 3]) for i in range(len(words) - 2))
    fp = Fingerprint(lang=lang, title=title, title_keys=title_keys,
                     title_words=frozenset(stripped), shingles=shingles,
                     agreement=agreement_tokens(title), url=url_key(url))
    if with_keys:
        if fp.url:
            fp.keys[_h64("u", lang, fp.url)] = "u"
        for k in title_keys:
            fp.keys[_h64("t", lang, k)] = "t"
        if len(fp.title_words) >= MIN_NEAR_TOKENS:
            for key in _bands("n", lang, fp.title_words, _TITLE_PERMUTATIONS, TITLE_ROWS):
                fp.keys.setdefault(key, "n")
        if len(shingles) >= MIN_SHINGLES:
            for key in _bands("x", lang, shingles, _TEXT_PERMUTATIONS, TEXT_ROWS):
                fp.keys.setdefault(key, "x")
    return fp


def same_story(a: Fingerprint, b: Fingerprint) -> str | None:
    """Why a and b report the same story ('url', 'title', 'near-title', 'text'), or None.
    Time and source rules are the caller's; this compares content only."""
    if a.lang != b.lang or a.agreement != b.agreement:
        return None
    if a.url and a.url == b.url:
        return "url"
    if a.title_keys & b.title_keys:
        return "title"
    if (min(len(a.title_words), len(b.title_words)) >= MIN_NEAR_TOKENS
            and jaccard(a.title_words, b.title_words) >= NEAR_TITLE):
        return "near-title"
    if (min(len(a.shingles), len(b.shingles)) >= MIN_SHINGLES
            and jaccard(a.shingles, b.shingles) >= TEXT_OVERLAP
            and jaccard(a.title_words, b.title_words) >= TEXT_TITLE_FLOOR):
        return "text"
    return None


