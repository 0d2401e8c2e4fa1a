"""Small hand-kept tables that Babel (CLDR) does not provide, used by `bot.tagging.countries`.

Owns only data: no logic, no I/O. Country *names* come from Babel's localised territory
names; what lives here is what CLDR lacks:

- REGION_CODES: the UN M49 continent of every ISO code (Babel does not expose CLDR's
  territory containment), with our "Middle East" carved out of M49 Western Asia.
- REMAP / DROP: CLDR's non-country codes folded into real ISO codes or dropped.
- ALIASES: everyday short forms CLDR keeps only as "alt" variants (UK, USA, Turkey, DRC...).
- BLOCKS: longer phrases that contain a country name but do not mean the country
  ("New Mexico", "Latin America", "Indian Ocean"); the longest match wins, so these
  swallow the shorter name. Babel's own macro-region names are added as blocks too.
- DEMONYMS: CLDR has no demonyms. A compact table for the countries that matter most to
  migration news (origin, transit, destination); `bot.tagging.countries` generates the inflected
  forms per language (syrien -> syrienne, syriens...). Keep it small: every entry is a
  possible false positive ("Polish", "chino").
- GEORGIA_CUES: 'Georgia' is also a US state (and Greek for agriculture); the country is
  tagged from that word only when one of these cues appears in the same text.
"""

from __future__ import annotations

# UN M49 continents (https://unstats.un.org/unsd/methodology/m49/), our Middle East =
# M49 Western Asia minus the South Caucasus and Cyprus (Council of Europe members, under the
# ECtHR, which is how the coalition reads them) plus Egypt and Iran, the usual press usage.
REGION_CODES: dict[str, str] = {
    "Africa": (
        "DZ LY MA SD TN EH BI KM DJ ER ET KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW IO TF "
        "AO CM CF TD CG CD GQ GA ST BW SZ LS NA ZA BJ BF CV CI GM GH GN GW LR ML MR NE NG SH "
        "SN SL TG"
    ),
    "Americas": (
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI "
        "BZ CR SV GT HN MX NI PA AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE BM CA GL PM US"
    ),
    "Asia": (
        "KZ KG TJ TM UZ CN HK MO KP JP MN KR TW BN KH ID LA MY MM PH SG TH TL VN AF BD BT IN "
        "MV NP PK LK"
    ),
    "Europe": (
        "BY BG CZ HU MD PL RO RU SK UA AX DK EE FO FI GG IS IE IM LV LT NO SJ SE GB JE AL AD "
        "BA HR GI GR VA IT MT ME MK PT SM RS SI ES XK AT BE FR DE LI LU MC NL CH AM AZ GE CY"
    ),
    "Middle East": "BH IQ IL JO KW LB OM QA SA PS SY TR AE YE EG IR",
    "Oceania": (
        "AU NZ NF CX CC HM FJ NC PG SB VU GU KI MH FM NR MP PW UM AS CK PF NU PN WS TK TO TV WF"
    ),
}

# CLDR codes that are not ISO 3166-1 countries: fold into the country they belong to.
REMAP: dict[str, str] = {
    "IC": "ES",  # Canary Islands
    "EA": "ES",  # Ceuta & Melilla
    "DG": "IO",  # Diego Garcia
    "AC": "SH",  # Ascension
    "TA": "SH",  # Tristan da Cunha
    "CP": "FR",  # Clipperton
    "CQ": "GG",  # Sark
}
# Groupings, pseudo-locales and Antarctica: never a country tag.
DROP = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ"})

# Babel names that are everyday words (Réunion = "meeting" in fr/es/it/pt; "reunion").
# The island is still found through ALIASES below.
DROP_NAMES = frozenset({"RE"})

# code -> {lang: "name | name | ..."}; "*" = every language. Prefix a name with "=" for an
# acronym that must appear in capitals (US, UK) so "us"/"vs" never match.
ALIASES: dict[str, dict[str, str]] = {
    "US": {"*": "=US | =USA | =U.S. | =U.S.A.", "en": "America", "fr": "Etats-Unis | Amérique",
           "de": "Amerika", "it": "Usa | America", "es": "EE.UU. | EEUU | =EE. UU.", "pt": "EUA",
           "el": "ΗΠΑ | Ηνωμένων Πολιτειών | Αμερική", "nl": "=VS | Amerika"},
    "GB": {"*": "=UK | =U.K.", "en": "Britain | Great Britain | Northern Ireland",
           "fr": "Grande-Bretagne", "de": "Großbritannien | Grossbritannien",
           "it": "Gran Bretagna", "es": "Gran Bretaña", "pt": "Grã-Bretanha",
           "el": "Βρετανία | Μεγάλη Βρετανία", "nl": "Groot-Brittannië"},
    "TR": {"en": "Turkey"},
    "CD": {"*": "=DRC | =RDC | Congo", "en": "DR Congo | Democratic Republic of Congo | "
           "Democratic Republic of the Congo", "fr": "RD Congo | République démocratique du Congo",
           "de": "Kongo | DR Kongo | Demokratische Republik Kongo",
           "it": "Repubblica democratica del Congo | Rd Congo", "el": "Κονγκό", "nl": "DR Congo"},
    "CG": {"en": "Republic of Congo | Republic of the Congo | Congo-Brazzaville",
           "fr": "République du Congo", "es": "República del Congo", "it": "Repubblica del Congo"},
    "CI": {"en": "Ivory Coast", "fr": "Côte-d'Ivoire", "de": "Elfenbeinküste",
           "es": "Costa de Marfil", "pt": "Costa do Marfim", "nl": "Ivoorkust"},
    "MM": {"en": "Burma"},
    "CZ": {"en": "Czech Republic", "de": "Tschechische Republik"},
    "PS": {"en": "Palestine | Gaza | West Bank", "fr": "Palestine | Gaza | Cisjordanie",
           "de": "Palästina | Gaza | Westjordanland", "it": "Palestina | Gaza | Cisgiordania",
           "es": "Palestina | Gaza | Cisjordania", "pt": "Palestina | Gaza | Cisjordânia",
           "el": "Παλαιστίνη | Γάζα", "nl": "Palestina | Gaza | Westelijke Jordaanoever"},
    "HK": {"*": "Hong Kong | Hongkong"},
    "MO": {"*": "Macau | Macao"},
    "MK": {"en": "Macedonia", "fr": "Macédoine", "de": "Mazedonien", "it": "Macedonia",
           "es": "Macedonia", "pt": "Macedónia | Macedônia", "el": "Σκόπια", "nl": "Macedonië"},
    "AE": {"*": "=UAE | =EAU", "en": "Emirates"},
    "VA": {"en": "Vatican", "it": "Vaticano", "fr": "Vatican", "de": "Vatikan"},
    "SZ": {"en": "Swaziland"},
    "CV": {"en": "Cape Verde"},
    "TL": {"en": "East Timor"},
    "BA": {"en": "Bosnia", "fr": "Bosnie", "de": "Bosnien", "it": "Bosnia", "es": "Bosnia",
           "pt": "Bósnia", "el": "Βοσνία", "nl": "Bosnië"},
    "BY": {"de": "Weißrussland", "it": "Bielorussia"},
    "NL": {"en": "Holland", "de": "Holland", "fr": "Hollande", "it": "Olanda",
           "es": "Holanda", "pt": "Holanda", "el": "Ολλανδία"},
    "RE": {"en": "Réunion Island", "*": "La Réunion | Île de la Réunion"},
    "ES": {"*": "Ceuta | Melilla"},
    "KR": {"en": "Korea"},
}

# Phrases that contain a country name but are something else. Language "*" = all.
BLOCKS: dict[str, str] = {
    "en": "New Mexico | New Jersey | Jersey City | New Guinea | guinea pig | Guinea pig | "
          "Latin American | South American | Central American | North American | "
          "Native American | African American | American Indian | Indian Ocean | "
          "West Indies | West Indian | Gulf of Guinea | Georgia Tech | Turkey Point | "
          "Jordan River | Jordan Valley | Chad Basin | Lake Chad",
    "fr": "Nouveau-Mexique | Nouvelle-Guinée | Amérique latine | golfe de Guinée",
    "de": "New Mexico | New Jersey | Neuguinea",
    "it": "Nuovo Messico | Nuova Guinea | America latina",
    "es": "Nuevo México | Nueva Guinea | América Latina",
    "pt": "Novo México | Nova Guiné | América Latina",
    "nl": "Nieuw-Mexico | Nieuw-Guinea | Latijns-Amerika",
    "el": "Νέο Μεξικό | Νέα Γουινέα | Λατινική Αμερική",
}

GEORGIA_CUES = (
    "Tbilisi | Tbilissi | Tiflis | Τιφλίδα | Batumi | Kutaisi | Caucasus | Caucase | Kaukasus | "
    "Caucaso | Cáucaso | Cáucaso | Καύκασος | Καυκάσου | Abkhazia | Abkhazie | Abchasien | "
    "Abcasia | Ossetia | Ossétie | Ossetien | Saakashvili | Ivanishvili | Kobakhidze | Zourabichvili | Zurabishvili"
)

# Demonyms: "CODE | lang base [base...] ; lang ...". Bases are the masculine singular (plus
# German/Dutch nouns; "_" stands for a space); `bot.tagging.countries` inflects them per language.
# A trailing "!" keeps a form as is (irregular plural). English, Dutch and German-noun forms
# must be capitalised in the text; Italian, Spanish and Portuguese ones lowercase (there a
# capital usually means a name or a place: "Indiana", "Greco").
DEMONYMS = """
AF | en Afghan ; fr afghan ; es afgano ; it afghano ; de afghanisch Afghane ; pt afegão! afegãos! afegã! afegãs! ; el Αφγανός ; nl Afghaans Afghaan
AL | en Albanian ; fr albanais ; es albanés ; it albanese ; de albanisch Albaner ; pt albanês ; el Αλβανός ; nl Albanees Albanezen!
DZ | en Algerian ; fr algérien ; es argelino ; it algerino ; de algerisch Algerier ; pt argelino ; el Αλγερινός ; nl Algerijns Algerijn
AM | en Armenian ; fr arménien ; es armenio ; it armeno ; de armenisch Armenier ; pt arménio armênio ; el Αρμένιος ; nl Armeens Armeniër
AT | en Austrian ; fr autrichien ; es austriaco ; it austriaco ; de österreichisch Österreicher ; pt austríaco ; el Αυστριακός ; nl Oostenrijks Oostenrijker
BD | en Bangladeshi ; fr bangladais ; es bangladesí ; it bengalese ; de bangladeschisch Bangladescher ; pt bangladês ; el Μπαγκλαντεσιανός ; nl Bengaals Bengalees
BY | en Belarusian ; fr biélorusse bélarusse ; es bielorruso ; it bielorusso ; de belarussisch weißrussisch ; pt bielorrusso ; el Λευκορώσος ; nl Wit-Russisch Belarussisch
BE | en Belgian ; fr belge ; es belga ; it belga belgi! belghe! ; de belgisch Belgier ; pt belga ; el Βέλγος ; nl Belgisch Belg
BA | en Bosnian ; fr bosnien ; es bosnio ; it bosniaco ; de bosnisch Bosnier ; pt bósnio ; el Βόσνιος ; nl Bosnisch Bosniër
BR | en Brazilian ; fr brésilien ; es brasileño ; it brasiliano ; de brasilianisch Brasilianer ; pt brasileiro ; el Βραζιλιάνος ; nl Braziliaans Braziliaan
BG | en Bulgarian ; fr bulgare ; es búlgaro ; it bulgaro ; de bulgarisch Bulgare ; pt búlgaro ; el Βούλγαρος ; nl Bulgaars Bulgaar
CM | en Cameroonian ; fr camerounais ; es camerunés ; it camerunense ; de kamerunisch Kameruner ; pt camaronês ; nl Kameroens Kameroener
TD | en Chadian ; fr tchadien ; es chadiano ; it ciadiano ; de tschadisch ; pt chadiano ; nl Tsjadisch
CN | en Chinese ; fr chinois ; es chino ; it cinese ; de chinesisch Chinese ; pt chinês ; el Κινέζος ; nl Chinees Chinezen!
CO | en Colombian ; fr colombien ; es colombiano ; it colombiano ; de kolumbianisch Kolumbianer ; pt colombiano ; nl Colombiaans Colombiaan
CD | en Congolese ; fr congolais ; es congoleño ; it congolese ; de kongolesisch Kongolese ; pt congolês ; el Κονγκολέζος ; nl Congolees Congolezen!
HR | en Croatian ; fr croate ; es croata ; it croato ; de kroatisch Kroate ; pt croata ; el Κροάτης Κροάτες! ; nl Kroatisch Kroaat
CU | en Cuban ; fr cubain ; es cubano ; it cubano ; de kubanisch Kubaner ; pt cubano ; nl Cubaans Cubaan
CY | en Cypriot ; fr chypriote ; es chipriota ; it cipriota ; de zyprisch Zypriot ; pt cipriota ; el Κύπριος κυπριακός ; nl Cypriotisch Cyprioot
DK | en Danish ; fr danois ; es danés ; it danese ; de dänisch Däne ; pt dinamarquês ; el Δανός ; nl Deens
EG | en Egyptian ; fr égyptien ; es egipcio ; it egiziano ; de ägyptisch Ägypter ; pt egípcio ; el Αιγύπτιος αιγυπτιακός ; nl Egyptisch Egyptenaar
SV | en Salvadoran Salvadorean ; fr salvadorien ; es salvadoreño ; it salvadoregno ; de salvadorianisch ; pt salvadorenho ; nl Salvadoraans
ER | en Eritrean ; fr érythréen ; es eritreo ; it eritreo ; de eritreisch Eritreer ; pt eritreu! eritreus! eritreia! eritreias! ; el Ερυθραίος ; nl Eritrees Eritreeër
ET | en Ethiopian ; fr éthiopien ; es etíope ; it etiope ; de äthiopisch Äthiopier ; pt etíope ; el Αιθίοπας Αιθίοπες! ; nl Ethiopisch Ethiopiër
FR | en French ; fr français ; es francés ; it francese ; de französisch Franzose ; pt francês ; el Γάλλος γαλλικός ; nl Frans Fransman Fransen!
GM | en Gambian ; fr gambien ; es gambiano ; it gambiano ; de gambisch ; pt gambiano ; nl Gambiaans
GE | en Georgian ; fr géorgien ; es georgiano ; it georgiano ; de georgisch Georgier ; pt georgiano ; el Γεωργιανός ; nl Georgisch Georgiër
DE | en German ; fr allemand ; es alemán ; it tedesco ; de deutsch ; pt alemão! alemã! alemães! alemãs! ; el Γερμανός γερμανικός ; nl Duits Duitser
GH | en Ghanaian ; fr ghanéen ; es ghanés ; it ghanese ; de ghanaisch ; pt ganês ; nl Ghanees Ghanezen!
GR | en Greek ; fr grec ; es griego ; it greco greci! ; de griechisch Grieche ; pt grego ; el Έλληνας Έλληνες! Ελλήνων! ελληνικός ; nl Grieks Griek
GT | en Guatemalan ; fr guatémaltèque ; es guatemalteco ; it guatemalteco ; de guatemaltekisch ; pt guatemalteco ; nl Guatemalteeks
GN | en Guinean ; fr guinéen ; es guineano ; it guineano ; de guineisch ; pt guineense ; nl Guinees
HT | en Haitian ; fr haïtien ; es haitiano ; it haitiano ; de haitianisch ; pt haitiano ; nl Haïtiaans
HN | en Honduran ; fr hondurien ; es hondureño ; it honduregno ; de honduranisch ; pt hondurenho ; nl Hondurees
HU | en Hungarian ; fr hongrois ; es húngaro ; it ungherese ; de ungarisch Ungar ; pt húngaro ; el Ούγγρος ουγγρικός ; nl Hongaars Hongaar
IN | en Indian ; fr indien ; it indiano ; de indisch Inder ; pt indiano ; el Ινδός ; nl Indiaas Indiër
IR | en Iranian ; fr iranien ; es iraní ; it iraniano ; de iranisch Iraner ; pt iraniano ; el Ιρανός ; nl Iraans Iraniër
IQ | en Iraqi ; fr irakien ; es iraquí ; it iracheno ; de irakisch Iraker ; pt iraquiano ; el Ιρακινός ; nl Iraaks Irakees Irakezen!
IE | en Irish ; fr irlandais ; es irlandés ; it irlandese ; de irisch Ire ; pt irlandês ; el Ιρλανδός ; nl Iers
IL | en Israeli ; fr israélien ; es israelí ; it israeliano ; de israelisch Israeli ; pt israelense israelita ; el Ισραηλινός ; nl Israëlisch Israëli
IT | en Italian ; fr italien ; es italiano ; it italiano ; de italienisch Italiener ; pt italiano ; el Ιταλός ιταλικός ; nl Italiaans Italiaan
CI | en Ivorian ; fr ivoirien ; es marfileño ; it ivoriano ; de ivorisch ; pt marfinense ; nl Ivoriaans
JO | en Jordanian ; fr jordanien ; es jordano ; de jordanisch Jordanier ; pt jordaniano ; el Ιορδανός ; nl Jordaans
KE | en Kenyan ; fr kényan ; es keniano ; it keniota ; de kenianisch Kenianer ; pt queniano ; nl Keniaans
XK | en Kosovar Kosovan ; fr kosovar ; es kosovar ; it kosovaro ; de kosovarisch Kosovare ; pt kosovar ; el Κοσοβάρος ; nl Kosovaars
LB | en Lebanese ; fr libanais ; es libanés ; it libanese ; de libanesisch Libanese ; pt libanês ; el Λιβανέζος ; nl Libanees Libanezen!
LY | en Libyan ; fr libyen ; es libio ; it libico ; de libysch Libyer ; pt líbio ; el Λίβυος λιβυκός ; nl Libisch Libiër
ML | en Malian ; fr malien ; es maliense ; it maliano ; de malisch ; pt maliano ; nl Malinees Malinezen!
MT | en Maltese ; fr maltais ; es maltés ; it maltese ; de maltesisch Malteser ; pt maltês ; el Μαλτέζος ; nl Maltees
MR | en Mauritanian ; fr mauritanien ; es mauritano ; it mauritano ; de mauretanisch ; pt mauritano ; nl Mauritaans
MX | en Mexican ; fr mexicain ; es mexicano ; it messicano ; de mexikanisch Mexikaner ; pt mexicano ; nl Mexicaans Mexicaan
MD | en Moldovan ; fr moldave ; es moldavo ; it moldavo ; de moldauisch ; pt moldavo ; nl Moldavisch
MA | en Moroccan ; fr marocain ; es marroquí ; it marocchino ; de marokkanisch Marokkaner ; pt marroquino ; el Μαροκινός ; nl Marokkaans Marokkaan
NL | en Dutch ; fr néerlandais ; es neerlandés ; it olandese ; de niederländisch Niederländer ; pt holandês neerlandês ; el Ολλανδός ; nl Nederlands Nederlander
NE | en Nigerien ; fr nigérien ; es nigerino ; it nigerino ; de nigrisch ; pt nigerino ; nl Nigerees
NG | en Nigerian ; fr nigérian ; es nigeriano ; it nigeriano ; de nigerianisch Nigerianer ; pt nigeriano ; el Νιγηριανός ; nl Nigeriaans Nigeriaan
NI | en Nicaraguan ; fr nicaraguayen ; es nicaragüense ; it nicaraguense ; de nicaraguanisch ; pt nicaraguense ; nl Nicaraguaans
PK | en Pakistani ; fr pakistanais ; es pakistaní ; it pakistano ; de pakistanisch Pakistaner ; pt paquistanês ; el Πακιστανός ; nl Pakistaans Pakistaan
PS | en Palestinian ; fr palestinien ; es palestino ; it palestinese ; de palästinensisch Palästinenser ; pt palestino ; el Παλαιστίνιος ; nl Palestijns Palestijn
PL | en Polish ; fr polonais ; es polaco ; it polacco polacchi! ; de polnisch ; pt polaco polonês ; el Πολωνός ; nl Pools
PT | en Portuguese ; fr portugais ; es portugués ; it portoghese ; de portugiesisch Portugiese ; pt português ; el Πορτογάλος ; nl Portugees Portugezen!
RO | en Romanian ; fr roumain ; es rumano ; it romeno rumeno ; de rumänisch Rumäne ; pt romeno ; el Ρουμάνος ; nl Roemeens Roemeen
RU | en Russian ; fr russe ; es ruso ; it russo ; de russisch Russe ; pt russo ; el Ρώσος ρωσικός ; nl Russisch Rus Russen!
RW | en Rwandan ; fr rwandais ; es ruandés ; it ruandese ; de ruandisch ; pt ruandês ; nl Rwandees
SA | en Saudi ; fr saoudien ; es saudí ; it saudita ; de saudisch ; pt saudita ; el Σαουδάραβας ; nl Saoedisch
SN | en Senegalese ; fr sénégalais ; es senegalés ; it senegalese ; de senegalesisch Senegalese ; pt senegalês ; nl Senegalees Senegalezen!
RS | en Serbian ; fr serbe ; es serbio ; it serbo ; de serbisch Serbe ; pt sérvio ; el Σέρβος ; nl Servisch Serviër
SO | en Somali Somalian ; fr somalien ; es somalí ; it somalo ; de somalisch Somalier ; pt somali ; el Σομαλός ; nl Somalisch Somaliër
ZA | en South_African ; fr sud-africain ; es sudafricano ; it sudafricano ; de südafrikanisch ; pt sul-africano ; nl Zuid-Afrikaans
SS | en South_Sudanese ; fr sud-soudanais ; es sursudanés ; it sud-sudanese ; de südsudanesisch ; pt sul-sudanês ; nl Zuid-Soedanees
ES | en Spanish ; fr espagnol ; es español ; it spagnolo ; de spanisch Spanier ; pt espanhol! espanhola! espanhóis! espanholas! ; el Ισπανός ισπανικός ; nl Spaans Spanjaard
LK | en Sri_Lankan ; fr sri-lankais ; es esrilanqués ; it singalese ; de sri-lankisch ; pt cingalês ; nl Sri_Lankaans
SD | en Sudanese ; fr soudanais ; es sudanés ; it sudanese ; de sudanesisch Sudanese ; pt sudanês ; el Σουδανός ; nl Soedanees Soedanezen!
SE | en Swedish ; fr suédois ; es sueco ; it svedese ; de schwedisch Schwede ; pt sueco ; el Σουηδός ; nl Zweeds Zweed
CH | en Swiss ; fr suisse ; es suizo ; it svizzero ; de schweizerisch ; pt suíço ; el Ελβετός ; nl Zwitsers Zwitser
SY | en Syrian ; fr syrien ; es sirio ; it siriano ; de syrisch Syrer ; pt sírio ; el Σύροι! Σύρων! Σύρους! Σύριος ; nl Syrisch Syriër
TN | en Tunisian ; fr tunisien ; es tunecino ; it tunisino ; de tunesisch Tunesier ; pt tunisino ; el Τυνήσιος ; nl Tunesisch Tunesiër
TR | en Turkish ; fr turc ; es turco ; it turco turchi! turche! ; de türkisch Türke ; pt turco ; el Τούρκος τουρκικός ; nl Turks Turk
UA | en Ukrainian ; fr ukrainien ; es ucraniano ; it ucraino ; de ukrainisch Ukrainer ; pt ucraniano ; el Ουκρανός ουκρανικός ; nl Oekraïens Oekraïner
GB | en British ; fr britannique ; es británico ; it britannico ; de britisch Brite ; pt britânico ; el Βρετανός βρετανικός ; nl Brits Brit
US | en American ; fr américain ; es estadounidense ; it statunitense americano ; de amerikanisch Amerikaner ; pt norte-americano estadunidense ; el Αμερικανός αμερικανικός ; nl Amerikaans Amerikaan
VE | en Venezuelan ; fr vénézuélien ; es venezolano ; it venezuelano ; de venezolanisch Venezolaner ; pt venezuelano ; nl Venezolaans Venezolaan
VN | en Vietnamese ; fr vietnamien ; es vietnamita ; it vietnamita ; de vietnamesisch ; pt vietnamita ; nl Vietnamees
YE | en Yemeni ; fr yéménite ; es yemení ; it yemenita ; de jemenitisch ; pt iemenita ; el Υεμενίτης ; nl Jemenitisch
"""
