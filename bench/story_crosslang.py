"""Cross-language grouping probe (issue 17; measured, not shipped).

Hand-made pairs (en vs es/it/fr/de/el): language-neutral terms of title + lede (numbers as
bot.stories.terms normalises them, capitalised words = names and places, folded, 5-letter
prefixes so Afghan = Afghanen), cosine without IDF, numbers veto on conflict as in grouping.
Prints the score of each same-event and same-topic other-event pair.

    .venv/bin/python bench/story_crosslang.py
"""
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.stories.terms import words  # noqa: E402
from bot.match.text import normalise  # noqa: E402

PAIRS = [  # (same_event, (lang, title, lede), (lang, title, lede))
 (True, ("en", "Spain sends troops to Ceuta as 8,000 migrants cross from Morocco", "Spain deployed soldiers in Ceuta after some 8,000 people swam or walked from Morocco into the Spanish enclave."),
        ("es", "España envía al Ejército a Ceuta tras la llegada de 8.000 migrantes desde Marruecos", "El Gobierno desplegó militares en Ceuta después de que unas 8.000 personas entraran a nado desde Marruecos.")),
 (True, ("en", "41 missing after boat capsizes off Lampedusa", "Italian coast guard said 41 people were missing after a boat from Sfax in Tunisia capsized near Lampedusa."),
        ("it", "Naufragio a Lampedusa, 41 dispersi", "Secondo la Guardia costiera 41 persone risultano disperse dopo il naufragio di un barchino partito da Sfax, in Tunisia.")),
 (True, ("en", "Three migrants die trying to cross the Channel near Calais", "Three people died overnight when a small boat got into difficulty off Calais, French authorities said."),
        ("fr", "Trois migrants meurent en tentant de traverser la Manche près de Calais", "Trois personnes sont mortes dans la nuit au large de Calais, selon la préfecture maritime de la Manche.")),
 (True, ("en", "Germany deports 28 Afghans on charter flight from Leipzig", "A charter flight with 28 Afghan men left Leipzig for Kabul on Friday, the Interior Ministry said."),
        ("de", "Deutschland schiebt 28 Afghanen mit Sammelflug ab Leipzig ab", "Ein Charterflug mit 28 afghanischen Männern ist am Freitag von Leipzig nach Kabul gestartet, teilte das Innenministerium mit.")),
 (True, ("en", "Greek coast guard accused of pushing back 30 migrants near Lesbos", "Rights groups said the Hellenic Coast Guard towed a dinghy with 30 people back towards Turkey off Lesbos."),
        ("el", "Καταγγελίες για επαναπροώθηση 30 μεταναστών ανοιχτά της Λέσβου", "Οργανώσεις κατήγγειλαν ότι το Λιμενικό έσυρε φουσκωτό με 30 άτομα προς την Τουρκία.")),
 (False, ("en", "Spain sends troops to Ceuta as 8,000 migrants cross from Morocco", "Spain deployed soldiers in Ceuta after some 8,000 people swam or walked from Morocco into the Spanish enclave."),
         ("es", "Marruecos detiene a 300 migrantes cerca de Ceuta", "Las autoridades de Marruecos detuvieron a 300 personas que intentaban llegar a Ceuta.")),
 (False, ("en", "41 missing after boat capsizes off Lampedusa", "Italian coast guard said 41 people were missing after a boat from Sfax in Tunisia capsized near Lampedusa."),
         ("it", "Lampedusa, hotspot al collasso: sbarcati 500 migranti", "Sull'isola di Lampedusa sono arrivate oltre 500 persone; l'hotspot di Contrada Imbriacola è pieno.")),
 (False, ("en", "Three migrants die trying to cross the Channel near Calais", "Three people died overnight when a small boat got into difficulty off Calais, French authorities said."),
         ("fr", "Calais : la préfecture évacue un campement de migrants", "La préfecture du Pas-de-Calais a évacué mardi un campement où vivaient des migrants près de Calais.")),
 (False, ("en", "Germany deports 28 Afghans on charter flight from Leipzig", "A charter flight with 28 Afghan men left Leipzig for Kabul on Friday, the Interior Ministry said."),
         ("de", "Leipzig: Demonstration gegen Abschiebungen nach Afghanistan", "In Leipzig protestierten am Samstag Hunderte gegen Abschiebungen nach Afghanistan und Kabul.")),
 (False, ("en", "Greek coast guard accused of pushing back 30 migrants near Lesbos", "Rights groups said the Hellenic Coast Guard towed a dinghy with 30 people back towards Turkey off Lesbos."),
         ("el", "Πυρκαγιά στο κέντρο μεταναστών της Σάμου", "Φωτιά ξέσπασε στο κέντρο υποδοχής της Σάμου· δεν αναφέρθηκαν τραυματίες.")),
]
CAP = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-ZÀ-ÖØ-ÞΑ-Ω][\wÀ-ÿ\u0370-\u03ff]+)")

def neutral(lang, title, lede):
    nums = {w for w in words(title + " " + lede, lang) if w[0].isdigit()}
    names = {normalise(m)[:5] for m in CAP.findall(title + " " + lede)}  # 5-letter prefix: Afghan/Afghanen
    tnums = {w for w in words(title, lang) if w[0].isdigit()}
    return nums | names, tnums, nums

def sim(a, b):
    ta, tna, na = neutral(*a)
    tb, tnb, nb = neutral(*b)
    if tna and tnb and not tna <= nb and not tnb <= na:
        return 0.0, ta & tb
    inter = ta & tb
    return len(inter) / math.sqrt(len(ta) * len(tb)), inter

for same, a, b in PAIRS:
    s, inter = sim(a, b)
    print(f"{'SAME ' if same else 'OTHER'} {a[0]}-{b[0]} {s:.2f} shared={sorted(inter)}")
