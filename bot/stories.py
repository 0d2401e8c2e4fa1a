"""Stories: grouping items from different sources that report the same event.

Owns the `stories` rows and `items.story_id`. An item joins an existing story when, within a
time window and in the same language, it has
  1. the same canonical URL as an item of the story, or
  2. the same normalised title key (case, accents, punctuation, outlet suffixes such as
     " - Reuters" and prefixes such as "VIDEO:" removed), looked up by `stories.title_key`.
Numbers, dates, month and weekday names must agree, so template titles ("Weekly bulletin 12"
vs "13") stay apart. The lead item of a story is the earliest one.

Must not: scan all items (every lookup goes through an index), know of Telegram or email.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from bot.model import Item
from bot.storage.schema import items, stories

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=72)
# A source posting the same title twice is usually a recurring item ("Daily briefing"), not a
# repost; join it to its own earlier item only when the two are this close in time.
SAME_SOURCE_WINDOW = timedelta(hours=12)
MIN_KEY_TOKENS = 3      # "News", "Press release": too generic to group on the title alone

# Words newsrooms put before a headline to label its format, not its content.
_PREFIX_WORDS = (
    "video", "videos", "watch", "live", "live updates", "breaking", "breaking news", "update",
    "updated", "exclusive", "photos", "photo", "in pictures", "pictures", "audio", "podcast",
    "opinion", "analysis", "interview", "explainer", "factbox", "en direct", "direct", "exclusif",
    "diaporama", "infographie", "liveticker", "eilmeldung", "exklusiv", "kommentar", "ultim ora",
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


def strip_decorations(title: str) -> str:
    """The folded headline without format prefixes ("VIDEO:") or an outlet suffix (" - Reuters")."""
    t = fold(title).strip()
    for _ in range(3):  # "BREAKING: VIDEO: ..." carries more than one
        m = _PREFIX.match(t)
        if not m or m.end() == 0 or m.end() >= len(t):
            break
        t = t[m.end():]
    parts = _SUFFIX_SEP.split(t)
    # The last segment is an outlet name when it is short and has no number: a number there is
    # content ("Weekly bulletin - 12"), and stripping it would merge distinct items.
    if len(parts) > 1:
        last = parts[-1]
        head = " ".join(parts[:-1])
        if (len(last.split()) <= 5 and not re.search(r"\d", last)
                and len(tokens(head)) >= MIN_KEY_TOKENS):
            t = t[: len(t) - len(last)]
            t = _SUFFIX_SEP.sub(" ", t).rstrip(" -–—|·:/")
    m = _TRAILING_PAREN.search(t)
    if m and len(tokens(t[: m.start()])) >= MIN_KEY_TOKENS:
        t = t[: m.start()]
    return t


def tokens(text: str) -> list[str]:
    """Folded word tokens; thousands separators dropped so '1,000' == '1 000' == '1000'."""
    return [t for t in _NON_WORD.split(_THOUSANDS.sub("", fold(text)).replace("_", " ")) if t]


def title_key(title: str) -> str:
    """The normalised title used to find near-identical headlines from other outlets."""
    return " ".join(tokens(strip_decorations(title)))


_MONTHS_DAYS: set[str] | None = None


def _calendar_words() -> set[str]:
    """Month and weekday names in the coalition's languages, from
    Babel's CLDR data, so 'report, 3 March' and 'report, 4 March' stay apart, and so do
    'January bulletin' and 'February bulletin'."""
    global _MONTHS_DAYS
    if _MONTHS_DAYS is None:
        from babel import Locale

        words: set[str] = set()
        for code in ("en", "fr", "de", "it", "es", "pt", "nl", "el", "pl"):
            loc = Locale.parse(code)
            for width in ("wide",):
                for names in (loc.months["format"][width], loc.months["stand-alone"][width],
                              loc.days["format"][width]):
                    for name in names.values():
                        for tok in tokens(name):
                            if len(tok) >= 3 and not tok.isdigit():
                                words.add(tok)
        # Abbreviations ('mar', 'sun', 'dom') are left out: they are common words too.
        _MONTHS_DAYS = words
    return _MONTHS_DAYS


def agreement_tokens(title: str) -> frozenset[str]:
    """Numbers and calendar words of a title: two items of one story must have the same."""
    cal = _calendar_words()
    return frozenset(t for t in tokens(title) if any(c.isdigit() for c in t) or t in cal)


def numbers_agree(a: str, b: str) -> bool:
    return agreement_tokens(a) == agreement_tokens(b)


@dataclass(frozen=True)
class _Candidate:
    story_id: int
    item_id: int
    source_id: str
    title: str
    ref: datetime


def _ref_time(published: datetime | None, first_seen: datetime) -> datetime:
    """When the item happened, as far as we know: its date, never later than first seen."""
    if published is None or published > first_seen:
        return first_seen
    return published


def _fits(cand: _Candidate, item: Item, ref: datetime, same_key: bool) -> bool:
    if abs(cand.ref - ref) > WINDOW:
        return False
    if cand.source_id == item.source_id and not (same_key and abs(cand.ref - ref) <= SAME_SOURCE_WINDOW):
        return False
    return numbers_agree(cand.title, item.title)


def _lang(item: Item) -> str:
    return (item.language or "").lower()[:8]


def _by_url(conn: Connection, item_id: int, item: Item) -> list[_Candidate]:
    if not item.url:
        return []
    rows = conn.execute(
        select(items.c.id, items.c.story_id, items.c.source_id, items.c.title,
               items.c.published_at, items.c.first_seen_at)
        .where(items.c.url == item.url, items.c.id != item_id, items.c.story_id.is_not(None))
        .limit(5)).all()
    return [_Candidate(r.story_id, r.id, r.source_id, r.title, _ref_time(r.published_at, r.first_seen_at))
            for r in rows]


def _by_title_key(conn: Connection, key: str, lang: str) -> list[_Candidate]:
    rows = conn.execute(
        select(stories.c.id, items.c.id.label("item_id"), items.c.source_id, items.c.title,
               items.c.published_at, items.c.first_seen_at)
        .select_from(stories.join(items, items.c.id == stories.c.lead_item_id))
        .where(stories.c.title_key == key, stories.c.language == lang)
        .order_by(stories.c.id.desc()).limit(5)).all()
    return [_Candidate(r.id, r.item_id, r.source_id, r.title, _ref_time(r.published_at, r.first_seen_at))
            for r in rows]


def _story_has_source(conn: Connection, story_id: int, source_id: str, item_id: int) -> bool:
    return conn.execute(
        select(items.c.id).where(items.c.story_id == story_id, items.c.source_id == source_id,
                                 items.c.id != item_id).limit(1)).first() is not None


def assign_story(conn: Connection, item_id: int, item: Item, now: datetime) -> int:
    """Put the stored item `item_id` in a story (an existing one or a new one) and return its id.

    Runs inside the caller's transaction; sets `items.story_id`."""
    first_seen = conn.execute(select(items.c.first_seen_at).where(items.c.id == item_id)).scalar()
    ref = _ref_time(item.published, first_seen or now)
    lang = _lang(item)
    key = title_key(item.title)
    use_key = len(key.split()) >= MIN_KEY_TOKENS

    chosen: _Candidate | None = None
    for cand in _by_url(conn, item_id, item):
        if abs(cand.ref - ref) <= WINDOW:
            chosen = cand
            break
    if chosen is None and use_key:
        for cand in _by_title_key(conn, key, lang):
            if _fits(cand, item, ref, same_key=True) and (
                    cand.source_id == item.source_id
                    or not _story_has_source(conn, cand.story_id, item.source_id, item_id)):
                chosen = cand
                break

    if chosen is None:
        story_id = conn.execute(stories.insert().values(
            lead_item_id=item_id, language=lang, title_key=key if use_key else None,
            created_at=now, updated_at=now)).inserted_primary_key[0]
        log.debug("item %s starts story %s", item_id, story_id)
    else:
        story_id = chosen.story_id
        values: dict = {"updated_at": now}
        lead = conn.execute(
            select(items.c.published_at, items.c.first_seen_at)
            .select_from(stories.join(items, items.c.id == stories.c.lead_item_id))
            .where(stories.c.id == story_id)).first()
        if lead is None or ref < _ref_time(lead.published_at, lead.first_seen_at):
            # The earliest report leads the story.
            values["lead_item_id"] = item_id
        conn.execute(update(stories).where(stories.c.id == story_id).values(**values))
        log.debug("item %s joins story %s", item_id, story_id)
    conn.execute(update(items).where(items.c.id == item_id).values(story_id=story_id))
    return story_id
