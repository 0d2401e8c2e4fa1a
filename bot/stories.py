"""Stories: grouping items from different sources that report the same event.

Owns the `stories` rows, `items.story_id` and the `story_keys` lookup table. A new item joins
the story of an earlier item of the same language, dated within WINDOW of it, that has
  1. the same loose URL (scheme, `www.`/`m.`/`amp.` hosts, AMP paths and a trailing slash
     ignored), or
  2. the same normalised title key (case, accents, punctuation, thousands separators, format
     prefixes such as "VIDEO:" and outlet suffixes such as " - Reuters" or " | The Guardian"
     removed), or
  3. a near-identical title: word-set Jaccard >= NEAR_TITLE on titles of 4+ words, or
  4. high text overlap: Jaccard >= TEXT_OVERLAP over word 3-gram shingles of title + summary,
     with some title words in common (so a shared boilerplate summary is not enough).
In every case the numbers, month and weekday names of the two titles must agree, so template
titles ("Weekly bulletin 12" vs "13", "report, 3 March" vs "4 March") stay apart; and an
outlet's own recurring titles ("Daily briefing") join each other only within SAME_SOURCE_WINDOW.
The lead item is the earliest report (or, when source weights are given, the heaviest source's).

Cost: no scan of items. Each item writes a few dozen 64-bit keys to `story_keys` (URL key,
title keys, MinHash LSH band keys; the language is hashed in); a new item looks up its own
keys there (one indexed IN query), verifies the few candidates exactly, and prunes rows older
than the window now and then. The table is the LSH index, so every process (daemon, `poll
--once`) shares it and nothing is rebuilt at start-up.

Must not: know of Telegram, email or rules; commit (it runs in the pipeline's transaction).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping

import numpy as np
from datasketch import MinHash
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from bot.model import Item
from bot.storage.schema import items, stories, story_keys

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=72)
# An outlet posting the same title twice is usually a recurring item ("Daily briefing"),
# not a repost; it joins its own earlier item only when the two are this close.
SAME_SOURCE_WINDOW = timedelta(hours=12)
PRUNE_EVERY = timedelta(hours=1)
MIN_KEY_TOKENS = 3       # "News", "Press release": too generic to group on the title alone
NEAR_TITLE = 0.8         # word-set Jaccard of two titles
MIN_NEAR_TOKENS = 4
TEXT_OVERLAP = 0.5       # 3-gram shingle Jaccard of title + summary
MIN_SHINGLES = 12
TEXT_TITLE_FLOOR = 0.15  # title words two texts must share for the text path
SUMMARY_TOKENS = 120     # what long summaries add beyond this is mostly the same story
MAX_CANDIDATES = 30

# MinHash LSH: rows r and bands b set the S-curve 1-(1-J^r)^b. Titles: 64 perms as 16 bands
# of 4 find J=0.8 pairs with p > 0.99. Texts: 128 perms as 32 bands of 4 find J=0.5 with
# p = 0.87 and J=0.6 with p = 0.98; candidates are then checked exactly.
TITLE_PERMS, TITLE_ROWS = 64, 4
TEXT_PERMS, TEXT_ROWS = 128, 4
_TITLE_PERMUTATIONS = MinHash(num_perm=TITLE_PERMS, seed=7).permutations
_TEXT_PERMUTATIONS = MinHash(num_perm=TEXT_PERMS, seed=11).permutations
# The keys in story_keys depend on datasketch's hashing scheme: after an upgrade that changes
# it, items older than the upgrade only group with new ones through URL and title keys.
_SCHEME = getattr(MinHash(num_perm=1), "scheme", None)


def _minhash(perms) -> MinHash:
    # Passing permutations skips regenerating them for every item (the costly part of init).
    if _SCHEME is None:  # datasketch < 2 has no schemes
        return MinHash(num_perm=len(perms[0]), permutations=perms)
    return MinHash(num_perm=len(perms[0]), permutations=perms, scheme=_SCHEME)

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


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _h64(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _bands(kind: str, lang: str, values: frozenset[str], perms, rows: int) -> list[int]:
    if not values:
        return []
    mh = _minhash(perms)
    mh.update_batch([v.encode("utf-8", "surrogatepass") for v in values])
    hv = np.asarray(mh.hashvalues, dtype=np.uint64)
    return [_h64(kind, lang, str(i), hv[i * rows:(i + 1) * rows].tobytes().hex())
            for i in range(len(hv) // rows)]


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
            for k in _bands("n", lang, fp.title_words, _TITLE_PERMUTATIONS, TITLE_ROWS):
                fp.keys.setdefault(k, "n")
        if len(shingles) >= MIN_SHINGLES:
            for k in _bands("x", lang, shingles, _TEXT_PERMUTATIONS, TEXT_ROWS):
                fp.keys.setdefault(k, "x")
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


_STRENGTH = {"url": 0, "title": 1, "near-title": 2, "text": 3}
_last_prune: "weakref.WeakKeyDictionary[object, datetime]" = weakref.WeakKeyDictionary()


def _ref_time(published: datetime | None, now: datetime) -> datetime:
    """When the item happened, as far as we know: its date, never later than now."""
    if published is None or published > now:
        return now
    return published


def _find(conn: Connection, item_id: int, item: Item, fp: Fingerprint, ref: datetime):
    """The best (story_id, reason) for the item among indexed recent items, or None."""
    if not fp.keys:
        return None
    rows = conn.execute(
        select(story_keys.c.item_id, story_keys.c.story_id, story_keys.c.source_id,
               story_keys.c.ref_at)
        .where(story_keys.c.key.in_(list(fp.keys)), story_keys.c.item_id != item_id,
               story_keys.c.ref_at >= ref - WINDOW, story_keys.c.ref_at <= ref + WINDOW)
        .distinct()).all()
    if not rows:
        return None
    # Closest in time first: a long-running topic's newest story is the likeliest match.
    rows.sort(key=lambda r: abs(r.ref_at - ref))
    rows = rows[:MAX_CANDIDATES]
    texts = {r.id: r for r in conn.execute(
        select(items.c.id, items.c.title, items.c.summary, items.c.url, items.c.language)
        .where(items.c.id.in_([r.item_id for r in rows]))).all()}
    found = []
    for r in rows:
        t = texts.get(r.item_id)
        if t is None:
            continue
        reason = same_story(fp, fingerprint(t.title, t.summary, t.language, t.url, with_keys=False))
        if reason is None:
            continue
        if r.source_id == item.source_id and not (
                reason in ("url", "title") and abs(r.ref_at - ref) <= SAME_SOURCE_WINDOW):
            continue
        found.append((_STRENGTH[reason], abs(r.ref_at - ref), r.story_id, reason, r.source_id))
    for _s, _d, story_id, reason, source_id in sorted(found):
        # One item per outlet in a story, except its own quick reposts (checked above).
        if source_id == item.source_id or not _story_has_source(conn, story_id, item.source_id, item_id):
            return story_id, reason
    return None


def _story_has_source(conn: Connection, story_id: int, source_id: str, item_id: int) -> bool:
    return conn.execute(
        select(items.c.id).where(items.c.story_id == story_id, items.c.source_id == source_id,
                                 items.c.id != item_id).limit(1)).first() is not None


def _maybe_lead(conn: Connection, story_id: int, item_id: int, item: Item, ref: datetime,
                now: datetime, weights: Mapping[str, float] | None) -> None:
    lead = conn.execute(
        select(items.c.source_id, items.c.published_at, items.c.first_seen_at)
        .select_from(stories.join(items, items.c.id == stories.c.lead_item_id))
        .where(stories.c.id == story_id)).first()
    values: dict = {"updated_at": now}
    if lead is None:
        values["lead_item_id"] = item_id
    else:
        lead_ref = _ref_time(lead.published_at, lead.first_seen_at)
        w = weights or {}
        mine, theirs = w.get(item.source_id, 1.0), w.get(lead.source_id, 1.0)
        # The heaviest source leads; among equals, the earliest report.
        if (-mine, ref) < (-theirs, lead_ref):
            values["lead_item_id"] = item_id
            values["title_key"] = title_key(item.title)
    conn.execute(update(stories).where(stories.c.id == story_id).values(**values))


def prune(conn: Connection, now: datetime) -> int:
    """Drop lookup keys of items dated before any window a new item could still reach."""
    return conn.execute(delete(story_keys).where(story_keys.c.ref_at < now - 2 * WINDOW)).rowcount


def assign_story(conn: Connection, item_id: int, item: Item, now: datetime, *,
                 weights: Mapping[str, float] | None = None) -> int:
    """Put the stored item `item_id` in a story (an existing one or a new one); return its id.

    Runs inside the caller's transaction; sets `items.story_id` and indexes the item's keys.
    `weights` (source id -> sources.yaml weight) makes the heaviest source lead a story."""
    ref = _ref_time(item.published, now)
    fp = fingerprint(item.title, item.summary, item.language, item.url)
    match = _find(conn, item_id, item, fp, ref)
    if match is None:
        key = title_key(item.title)
        story_id = conn.execute(stories.insert().values(
            lead_item_id=item_id, language=fp.lang,
            title_key=key if len(key.split()) >= MIN_KEY_TOKENS else None,
            created_at=now, updated_at=now)).inserted_primary_key[0]
        log.debug("item %s starts story %s", item_id, story_id)
    else:
        story_id, reason = match
        _maybe_lead(conn, story_id, item_id, item, ref, now, weights)
        log.debug("item %s joins story %s (%s)", item_id, story_id, reason)
    conn.execute(update(items).where(items.c.id == item_id).values(story_id=story_id))
    if fp.keys:
        conn.execute(insert(story_keys), [
            {"key": k, "item_id": item_id, "story_id": story_id, "source_id": item.source_id,
             "ref_at": ref} for k in fp.keys])
    engine = conn.engine
    last = _last_prune.get(engine)
    if last is None or now - last >= PRUNE_EVERY or now < last:
        _last_prune[engine] = now
        removed = prune(conn, now)
        if removed:
            log.debug("pruned %s story keys", removed)
    return story_id
