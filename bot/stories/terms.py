"""Event terms: what two independently written reports of one event have in common.

Owns the words that event-level grouping compares (bot/stories/index.py keeps them with their
document frequencies): the stems of a title and of the first LEDE_TOKENS words of
the summary (bot/match/text.py folding and Snowball stems), with numbers normalised (`$30B`,
`$30 billion` and `30bn` are all 30000000000; `1,000` is 1000), and, in English, a few
abbreviations (`PM` = prime minister, `GOP` = Republicans) and demonyms (Libyan = Libya)
mapped to one word. Each term is packed in a 64-bit key whose low bits say whether it is in
the title, is a number, and is a lookup key; and `similarity` weighs two items' shared terms
by their rarity (IDF), titles more than ledes, with numbers vetoing only when they conflict.

Must not: do I/O, know of storage, sources or time (bot/stories/grouping.py applies those).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple

from bot.match.text import normalise, stems_for, tokens
from bot.stories.similarity import _calendar_words

LEDE_TOKENS = 50          # the lede carries the event; later sentences drift to background
TITLE_WEIGHT = 2.0        # a title word counts twice a lede word
MIN_TITLE_WORDS = 4       # shorter titles ("Daily briefing", "Press release") are too generic

# Flags in the low bits of a packed term key; the rest is the term's hash.
TITLE, NUMBER, LOOKUP, META = 1, 2, 4, 8
FLAGS = 15
TERM_MASK = ~FLAGS

_UNITS = {"trillion": 12, "tn": 12, "billion": 9, "bn": 9, "b": 9, "million": 6, "mn": 6,
          "mln": 6, "m": 6, "thousand": 3, "k": 3}
_AMOUNT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True))
                     + r")\b")
_THOUSANDS = re.compile(r"(?<=\d)[,.'’\u202f\u00a0 ](?=\d{3}\b)")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")

# English only: one word for what outlets write in several ways (folded, whole words).
_PHRASES_EN = {
    "prime minister": "pm", "united nations": "un", "european union": "eu",
    "united kingdom": "uk", "great britain": "uk", "britain": "uk", "british": "uk",
    "supreme court": "scotus", "justice department": "doj", "department of justice": "doj",
    "republicans": "gop", "republican": "gop", "federal reserve": "fed",
    "coronavirus": "covid", "covid 19": "covid", "centers for disease control": "cdc",
    "department of homeland security": "dhs", "homeland security": "dhs",
    "immigration and customs enforcement": "ice", "customs and border protection": "cbp",
    "border patrol": "cbp", "new york city": "nyc",
}
# Demonym -> country (plural forms are added below); Babel's CLDR data has territory names
# but no demonyms, and the events members follow name these few most.
_DEMONYMS_EN = {
    "afghan": "afghanistan", "albanian": "albania", "algerian": "algeria", "american": "america",
    "australian": "australia", "bangladeshi": "bangladesh", "belarusian": "belarus",
    "brazilian": "brazil", "canadian": "canada", "chinese": "china", "colombian": "colombia",
    "cuban": "cuba", "egyptian": "egypt", "eritrean": "eritrea", "ethiopian": "ethiopia",
    "french": "france", "german": "germany", "greek": "greece", "guatemalan": "guatemala",
    "haitian": "haiti", "honduran": "honduras", "hungarian": "hungary", "indian": "india",
    "iranian": "iran", "iraqi": "iraq", "israeli": "israel", "italian": "italy",
    "japanese": "japan", "libyan": "libya", "mexican": "mexico", "moroccan": "morocco",
    "nigerian": "nigeria", "pakistani": "pakistan", "palestinian": "palestine", "polish": "poland",
    "russian": "russia", "rwandan": "rwanda", "salvadoran": "salvador", "saudi": "saudi",
    "somali": "somalia", "spanish": "spain", "sudanese": "sudan", "syrian": "syria",
    "tunisian": "tunisia", "turkish": "turkey", "ukrainian": "ukraine", "venezuelan": "venezuela",
    "yemeni": "yemen", "burmese": "myanmar", "korean": "korea",
}
_WORD_MAP_EN = {**_DEMONYMS_EN, **{k + "s": v for k, v in _DEMONYMS_EN.items() if not k.endswith(("sh", "ch", "se"))}}
_PHRASE_RE_EN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _PHRASES_EN), key=len, reverse=True)) + r")\b")


def _amount(m: re.Match) -> str:
    value = round(float(m.group(1)) * 10 ** _UNITS[m.group(2)])
    return f" {value} "


def words(text: str, lang: str) -> list[str]:
    """Folded words with numbers normalised and, in English, abbreviations and demonyms unified."""
    if not text:
        return []
    folded = _THOUSANDS.sub("", normalise(text))
    folded = _AMOUNT.sub(_amount, folded)
    folded = _DECIMAL.sub("p", folded)  # 2.5 stays one token: "2p5"
    if lang == "en":
        folded = _PHRASE_RE_EN.sub(lambda m: _PHRASES_EN[m.group(1)], folded)
        return [_WORD_MAP_EN.get(w, w) for w in tokens(folded)]
    return tokens(folded)


@dataclass(frozen=True)
class EventTerms:
    """An item's event terms: stem -> flags (TITLE, NUMBER); pure, computed once per item."""

    lang: str
    terms: dict[str, int]
    title_key: str                  # the title's words, to spot an outlet's recurring titles


def event_terms(title: str, summary: str, lang: str, *, with_title: bool = True) -> EventTerms:
    stems, calendar = stems_for(lang), _calendar_words()
    title_words = words(title, lang)
    terms: dict[str, int] = {}
    if with_title and len(title_words) >= MIN_TITLE_WORDS:
        for w in title_words:
            _add(terms, stems, calendar, w, TITLE)
    for w in words(summary, lang)[:LEDE_TOKENS]:
        _add(terms, stems, calendar, w, 0)
    return EventTerms(lang, terms, " ".join(title_words))


def _add(terms: dict[str, int], stems, calendar: set[str], w: str, flag: int) -> None:
    # Month and weekday names count as numbers: "January report" vs "February report".
    if w[0].isdigit() and w.replace("p", "").isdigit() or w in calendar:
        terms[w] = terms.get(w, 0) | flag | NUMBER
    elif len(w) > 1:
        s = stems[w]
        terms[s] = terms.get(s, 0) | flag


def idf(df: int, n: int) -> float:
    """Rarity of a term found in `df` of `n` items (the item itself counted in both)."""
    return math.log((n + 1) / (df + 0.5))


def numbers_conflict(a: Iterable[int], b: Iterable[int]) -> bool:
    """True when both titles carry numbers (or month and weekday names) and neither title's
    are all found in the other item: 41 vs 14 missing, 3 March vs 4 March. A side without
    numbers never conflicts, nor does a title whose numbers the other's lede has."""
    a_title = {k & TERM_MASK for k in a if k & (TITLE | NUMBER) == TITLE | NUMBER}
    b_title = {k & TERM_MASK for k in b if k & (TITLE | NUMBER) == TITLE | NUMBER}
    if not a_title or not b_title:
        return False
    a_all = {k & TERM_MASK for k in a if k & NUMBER}
    b_all = {k & TERM_MASK for k in b if k & NUMBER}
    return not a_title <= b_all and not b_title <= a_all


class Prepared(NamedTuple):
    """An item's packed term keys as `similarity` reads them, computed once per item: term ->
    title factor in key order, and the numbers of its title and of the whole item."""

    factors: dict[int, float]
    title_numbers: frozenset[int]
    numbers: frozenset[int]


def prepare(keys: Iterable[int]) -> Prepared:
    factors: dict[int, float] = {}
    title_numbers, numbers = set(), set()
    for k in keys:
        if k & META:
            continue
        t = k & TERM_MASK
        factors[t] = TITLE_WEIGHT if k & TITLE else 1.0
        if k & NUMBER:
            numbers.add(t)
            if k & TITLE:
                title_numbers.add(t)
    return Prepared(factors, frozenset(title_numbers), frozenset(numbers))


class Query:
    """One item compared with many: its weighted vector and norm are computed once.
    A term's weight is its IDF, `log_n - rarity[term]` (see `idf`): `rarity` caches the
    log of each term's document frequency, which changes only when an item holding the term
    comes or goes, so scoring a candidate costs C-level look-ups, not a call per term."""

    def __init__(self, item: Prepared, rarity: Mapping[int, float], log_n: float) -> None:
        self.item, self.rarity, self.log_n = item, rarity, log_n
        self.vector = {t: (log_n - rarity[t]) * f for t, f in item.factors.items()}
        self.norm2 = sum(w * w for w in self.vector.values())

    def weight(self, term: int) -> float:
        return self.log_n - self.rarity[term]

    def score(self, other: Prepared) -> float:
        a = self.item
        if not a.factors or not other.factors or (
                a.title_numbers and other.title_numbers
                and not a.title_numbers <= other.numbers and not other.title_numbers <= a.numbers):
            return 0.0
        rarity, log_n = self.rarity, self.log_n
        vb = {t: (log_n - rarity[t]) * f for t, f in other.factors.items()}
        dot = sum(w * vb[t] for t, w in self.vector.items() if t in vb)
        if not dot:
            return 0.0
        return dot / math.sqrt(self.norm2 * sum(w * w for w in vb.values()))


class Rarity(dict):
    """term -> log(df + 1.5), df being `df.get(term, 0)`, each computed once: the term part of
    `idf(df + 1, n)`. Whoever changes a term's df pops the term (see `forget`)."""

    def __init__(self, df: Mapping[int, int]) -> None:
        super().__init__()
        self.df = df

    def __missing__(self, term: int) -> float:
        r = self[term] = math.log(self.df.get(term, 0) + 1.5)
        return r


def log_n(n: int) -> float:
    """The item-count part of `idf(df + 1, n)` for an index holding n items (+1: the new one)."""
    return math.log(n + 2)


def similarity(a: Iterable[int], b: Iterable[int], df: Mapping[int, int], n: int) -> float:
    """Cosine of two items' packed term keys, each term weighed by its IDF among n items
    with document frequencies `df` (the compared item not counted), and TITLE_WEIGHT when in
    the title; 0.0 when their numbers conflict."""
    return Query(prepare(a), Rarity(df), log_n(n)).score(prepare(b))
