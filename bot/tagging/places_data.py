"""Places of the migration routes, hand-kept, used by `bot.tagging.countries` (and its gazetteer filter).

Owns only data: no logic, no I/O.

Why a curated list when GeoNames knows every town: the places that make migration news are
islands, camps, border crossings, rivers and small ports (Lesbos, Moria, Evros, Pylos,
Cutro, Lipa, Tinzaouaten...) that a city gazetteer either lacks (islands and rivers are not
cities, most camps are villages) or cannot tell apart from a namesake elsewhere (Lipa is
also a Philippine city, Moria an Israeli one). These names are always on, in every language,
and win over gazetteer names; they must be capitalised in the text.

PLACES: one place per line, "CODES | name ; name ; ...". CODES is one ISO 3166-1 alpha-2
code, or two for a border river ("GR TR | Meriç"). Names are given in every spelling and
script the eight shipped languages use (en, de, fr, it, es, pt, el, nl); accents and case do
not matter (names are folded like country names). Greek names ending in -ος/-η/-α also get
their accusative and genitive forms (Λέσβος -> Λέσβο, Λέσβου; Κρήτη -> Κρήτης).
Keep out names that are everyday words in one of those languages (Tarifa is a tariff in
Spanish, Van is Dutch for "of") and names shared with a better-known place (Gao, Augusta,
Greek Τρίπολη, Rafah on both sides of a border).

PLACE_STOPWORDS: gazetteer (city) names that must not tag, by language ("*" = all), besides
the words of places_common.txt that spelling dictionaries give: first names and other
senses a dictionary lists as a proper noun.
"""

from __future__ import annotations

LANGUAGES = ("en", "fr", "es", "it", "de", "pt", "el", "nl")

PLACES = """
GR | Lesbos ; Lesvos ; Lesbo ; Λέσβος ; Mytilene ; Mytilini ; Mitilene ; Mytilène ; Μυτιλήνη
GR | Moria ; Μόρια ; Μόριας ; Kara Tepe ; Καρά Τεπέ ; Mavrovouni ; Μαυροβούνι
GR | Chios ; Chio ; Quíos ; Quios ; Χίος
GR | Samos ; Samo ; Σάμος ; Zervou ; Ζερβού
GR | Kos ; Κως ; Κω
GR | Leros ; Λέρος
GR | Rhodes ; Rodi ; Rodas ; Rhodos ; Rodes ; Ρόδος
GR | Farmakonisi ; Φαρμακονήσι ; Φαρμακονησίου ; Agathonisi ; Αγαθονήσι ; Αγαθονησίου
GR | Symi ; Σύμη ; Kastellorizo ; Καστελλόριζο ; Megisti
GR | Crete ; Creta ; Kreta ; Crète ; Κρήτη ; Gavdos ; Γαύδος ; Ierapetra ; Ιεράπετρα
GR | Evros ; Evro ; Έβρος ; Hebros ; Orestiada ; Orestiáda ; Ορεστιάδα ; Alexandroupoli ; Alexandroupolis ; Αλεξανδρούπολη
GR | Soufli ; Σουφλί ; Fylakio ; Φυλάκιο ; Φυλακίου ; Kastanies ; Καστανιές ; Didymoteicho ; Διδυμότειχο ; Διδυμοτείχου
GR TR | Meriç ; Meric
GR | Pylos ; Πύλος ; Kalamata ; Καλαμάτα
GR | Idomeni ; Idoméni ; Ειδομένη ; Ritsona ; Ριτσώνα ; Malakasa ; Μαλακάσα ; Amygdaleza ; Αμυγδαλέζα ; Diavata ; Διαβατά
TR | Pazarkule ; Edirne ; Ayvalık ; Ayvalik ; Dikili ; Çeşme ; Cesme ; Kuşadası ; Kusadasi ; Bodrum
IT | Lampedusa ; Λαμπεντούζα ; Linosa ; Pantelleria ; Pozzallo ; Porto Empedocle ; Trapani
IT | Crotone ; Κρότωνας ; Κρότωνα ; Cutro ; Steccato di Cutro ; Roccella Ionica
IT | Ventimiglia ; Vintimille ; Trieste ; Sicily ; Sicilia ; Sizilien ; Sicile ; Sicília ; Sicilië ; Σικελία
IT | Calabria ; Calabre ; Kalabrien ; Calábria ; Calabrië ; Καλαβρία ; Sardinia ; Sardegna ; Sardinien ; Sardaigne ; Cerdeña ; Sardenha ; Sardinië ; Σαρδηνία
ES | Ceuta ; Θέουτα ; Melilla ; Melilha ; Μελίγια ; Tarajal ; El Tarajal
ES | Canary Islands ; Canaries ; Canarias ; Islas Canarias ; Isole Canarie ; Canarie ; Kanaren ; Kanarische Inseln ; Canárias ; Ilhas Canárias ; Canarische Eilanden ; Κανάρια Νησιά ; Κανάριοι Νήσοι ; Καναρίων Νήσων ; Κανάρια
ES | El Hierro ; La Restinga ; Lanzarote ; Fuerteventura ; Tenerife ; Tenerifa ; Teneriffa ; Gran Canaria ; Arguineguín ; Arguineguin
ES | Almería ; Almeria ; Motril ; Algeciras
FR | Calais ; Καλαί ; Dunkirk ; Dunkerque ; Dünkirchen ; Duinkerke ; Grande-Synthe ; Loon-Plage ; Ouistreham ; Boulogne-sur-Mer ; Wimereux ; Gravelines
FR | Briançon ; Briancon ; Montgenèvre ; Menton ; Mentone
GB | Dover ; Folkestone ; Manston ; Wethersfield ; Bibby Stockholm ; Napier Barracks
NL | Ter Apel ; Budel
AL | Gjadër ; Gjader ; Shëngjin ; Shengjin
BA | Bihać ; Bihac ; Lipa ; Velika Kladuša ; Velika Kladusa ; Vučjak ; Vucjak
RS | Horgoš ; Horgos ; Subotica ; Preševo ; Presevo
HU | Röszke ; Roszke ; Tompa
PL | Kuźnica ; Kuznica ; Białowieża ; Bialowieza ; Usnarz Górny
BY | Bruzgi
CY | Pournara ; Πουρνάρα ; Kokkinotrimithia ; Κοκκινοτριμιθιά
NE | Agadez ; Agadès ; Arlit ; Assamaka
ML | Tinzaouaten ; Tinzawatene ; Tin-Zaouaten
DZ | Tin Zaouatine ; Tinzaouatine ; Tamanrasset ; Maghnia
TN | Sfax ; Σφαξ ; Zarzis ; Ben Guerdane ; Mahdia
LY | Tripoli ; Tripolis ; Trípoli ; Zuwara ; Zuwarah ; Zuara ; Zouara ; Sabratha ; Sabrata ; Sabratah ; Zawiya ; Zawiyah ; Zaouïa ; Garabulli ; Tajoura ; Misrata ; Misurata
LY | Benghazi ; Bengasi ; Bengazi ; Βεγγάζη ; Tobruk ; Tobrouk ; Kufra ; Koufra ; Cufra ; Sebha ; Sabha ; Ain Zara
MA | Nador ; Tangier ; Tanger ; Tánger ; Tangeri ; Ταγγέρη ; Tétouan ; Tetouan ; Tetuán ; Oujda ; Fnideq ; Castillejos ; Tarfaya
EH | Laayoune ; Laâyoune ; El Aaiún ; El Aaiun ; Dakhla ; Dajla
MR | Nouadhibou ; Nuadibú
SN | Mbour
PA | Darién ; Darien ; Darién Gap ; Tapón del Darién ; Lajas Blancas
CO | Necoclí ; Necocli ; Capurganá ; Capurgana
MX | Tapachula ; Ciudad Juárez ; Ciudad Juarez ; Tijuana ; Reynosa ; Matamoros
US | El Paso ; Eagle Pass
KE | Kakuma ; Dadaab
BD | Cox's Bazar ; Kutupalong ; Bhasan Char
PG | Manus Island ; Manus
LB | Shatila ; Chatila
JO | Zaatari ; Za'atari
"""

PLACE_STOPWORDS: dict[str, str] = {
    # First names and surnames that are also cities of 100,000 or more (seen tagging wrongly
    # in the news sample, or obvious), and names better known as something else.
    "*": "George | David | Victoria | Hamilton | Vladimir | Elizabeth | Jackson | Lincoln | "
         "Charlotte | Austin | Aurora | Columbia | Cleveland | Clinton | Franklin | Lawrence | "
         "Gary | Irving | Marion | Kent | Chester | Warren | Sterling | Anderson | Johnson | "
         "Carson | Henderson | Norman | Edison | Allen | Arlington | Preston | Douglas | "
         "Alexandra | Hassan | Rodriguez | Mary | Nigel | Brandon | Tyler | Richardson | "
         "Sophia | Santana | Newton | Paterson | Carolina | Virginia | Mercedes | Isabela | "
         "Obama | Bush | Arar | Handa | Mila | Belen | Santa Maria | San Lorenzo | Palmas | "
         "Hollywood | Independence | Surprise | Temple | Mission | Concord | Orange | Paradise | "
         "Enterprise | Midland | Corona | Mobile | Mango | Chia | Zango | Benfica | Ontario | "
         "Westminster | Cambridge | Oxford | Windsor | Durham | Sunrise | Commonwealth | Metro | Kyle | Boni | Valensi | Derby",
    "en": "Bath | Split | Nice | Male | Reading | Sale",
    "de": "Mitte | Kitas",
    "it": "Sale",
    "es": "Como | Marina",
    "pt": "Como",
}
