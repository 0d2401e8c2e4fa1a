"""Story grouping with a paraphrase-aware re-score (issue 17; measured, not shipped).

The word index (bot/stories/index.py) finds an item's event candidates and scores them with
the IDF-weighted word cosine as today; this bench adds the cosine of static sentence
embeddings (the PyPI package `wordllama`, model l2_supercat_256 bundled in its wheel: the
mean of 256-dim token vectors of title + first LEDE_WORDS words of the lede) and re-runs
story_bench's quality part with a rule that may let a candidate join below EVENT_MIN:

  rescue F/T   join when word score >= F and embedding cosine >= T (other outlet, gap within
               LATER_GAP; a rescued candidate ranks as if it scored EVENT_MIN)
  sum W/S      join when word score + W * embedding cosine >= S (same limits)

`--oracle` instead runs rules that read the gold event (a perfect judge of the same
candidates, rescuing only or also refusing): the ceiling of any re-score of them.

Every (floor, threshold) pair of the grid is run on the AllSides and UCI tuning sets; the rule
chosen in advance: the most events reunited with AllSides P >= 0.87 and UCI P not below the
shipped rule's. Before the grid: a same-language probe (fr/de/it/es/en paraphrase vs
same-topic other event) and the pair-level ceiling (`--pairs`: recall of same-event pairs at
a given pair precision, each similarity alone and combined). After it: embedding cost per item.

    .venv/bin/pip install wordllama   # not a dependency of newsbot
    .venv/bin/python bench/story_embed.py [--grid rescue|sum|both] [--probe-only | --pairs | --oracle]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import bot.stories.grouping as grouping  # noqa: E402
from bot.storage.db import open_database  # noqa: E402
from story_bench import CORPUS, _store_and_assign, scores  # noqa: E402

LEDE_WORDS = 50


def load_model():
    """The bundled 256-dim model, never downloading: wordllama looks for the tokenizer under
    wordllama/tokenizer/ while the wheel ships it under tokenizers/, so the package folder
    is passed as the cache folder, where both are found."""
    import wordllama
    return wordllama.WordLlama.load(dim=256, disable_download=True,
                                    cache_dir=Path(wordllama.__file__).parent)


class Embedder:
    def __init__(self, model) -> None:
        self.model = model
        self.cache: dict[int, np.ndarray] = {}   # item id -> unit vector (beside the index)
        self.seconds = 0.0
        self.count = 0

    @staticmethod
    def text(title: str, summary: str) -> str:
        return (title + ". " + " ".join(summary.split()[:LEDE_WORDS])).strip()

    def add(self, item_id: int, title: str, summary: str) -> np.ndarray:
        t0 = time.perf_counter()
        v = self.model.embed(self.text(title, summary), norm=True)[0]
        self.seconds += time.perf_counter() - t0
        self.count += 1
        self.cache[item_id] = v
        return v


def patched_find(embedder: Embedder, meta: dict[int, dict], rule):
    """grouping._find with the event candidates' scores re-scored by `rule`."""
    original = grouping._find

    def _find(conn, candidates, events, item, fp, ref):
        mine = embedder.cache.get(meta["current"])
        if mine is not None and events:
            rescored = []
            for score, other in events:
                theirs = embedder.cache.get(other)
                o = meta.get(other)
                if rule == "exact":
                    # A perfect judge of these candidates: the same event joins, any other not.
                    same = o is not None and o["gold"] == meta[meta["current"]]["gold"]
                    rescored.append((max(score, grouping.LATER_EVENT_MIN) if same else 0.0, other))
                    continue
                if (theirs is not None and o is not None and o["source"] != item.source_id
                        and abs((o["at"] - ref).total_seconds()) <= grouping.LATER_GAP.total_seconds()
                        and score < grouping.EVENT_MIN and rule(score, float(mine @ theirs),
                                                       o["gold"] == meta[meta["current"]]["gold"])):
                    score = grouping.EVENT_MIN
                rescored.append((score, other))
            events = rescored
        return original(conn, candidates, events, item, fp, ref)
    return _find


def quality(name: str, tmp: Path, embedder: Embedder, rule) -> dict:
    rows = [json.loads(line) for line in (CORPUS / name).open(encoding="utf-8")]
    rows.sort(key=lambda r: r["published"])
    path = tmp / f"e-{name}.db"
    path.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{path}")
    story: dict[str, int] = {}
    meta: dict = {}
    saved = grouping._find
    grouping._find = patched_find(embedder, meta, rule) if rule else saved
    try:
        for n, r in enumerate(rows, 1):
            at = datetime.fromisoformat(r["published"])
            meta[n] = {"source": r["source"], "at": at, "gold": r["gold"]}
            meta["current"] = n
            if n not in embedder.cache:
                embedder.add(n, r["title"], r["summary"])
            story[r["id"]] = _store_and_assign(engine, n, r, at)
    finally:
        grouping._find = saved
    engine.dispose()
    return scores(rows, story)


PROBE = [  # (lang, same event?, a, b): title + lede, hand-made
    ("fr", True, "Trois migrants meurent en tentant de traverser la Manche près de Calais. Trois personnes sont mortes dans la nuit au large de Calais, selon la préfecture maritime.",
                 "Naufrage dans la Manche : trois exilés perdent la vie au large du Pas-de-Calais. Une embarcation a chaviré cette nuit ; les secours ont repêché trois corps."),
    ("fr", False, "Trois migrants meurent en tentant de traverser la Manche près de Calais. Trois personnes sont mortes dans la nuit au large de Calais, selon la préfecture maritime.",
                  "Calais : la préfecture évacue un campement de migrants. La préfecture du Pas-de-Calais a évacué mardi un campement où vivaient des migrants."),
    ("de", True, "Deutschland schiebt 28 Afghanen mit Sammelflug ab Leipzig ab. Ein Charterflug mit 28 afghanischen Männern ist am Freitag nach Kabul gestartet.",
                 "Abschiebeflug nach Kabul gestartet. Die Bundesregierung hat erneut afghanische Straftäter in ihr Heimatland zurückgebracht; die Maschine hob in Leipzig ab."),
    ("de", False, "Deutschland schiebt 28 Afghanen mit Sammelflug ab Leipzig ab. Ein Charterflug mit 28 afghanischen Männern ist am Freitag nach Kabul gestartet.",
                  "Leipzig: Demonstration gegen Abschiebungen nach Afghanistan. In Leipzig protestierten am Samstag Hunderte gegen Abschiebungen."),
    ("it", True, "Naufragio a Lampedusa, 41 dispersi. Secondo la Guardia costiera 41 persone risultano disperse dopo il naufragio di un barchino partito da Sfax.",
                 "Tragedia nel Mediterraneo: decine di migranti inghiottiti dal mare. I superstiti sbarcati sull'isola raccontano di un'imbarcazione rovesciata dalle onde."),
    ("it", False, "Naufragio a Lampedusa, 41 dispersi. Secondo la Guardia costiera 41 persone risultano disperse dopo il naufragio di un barchino partito da Sfax.",
                  "Lampedusa, hotspot al collasso: sbarcati 500 migranti. Sull'isola sono arrivate oltre 500 persone; l'hotspot di Contrada Imbriacola è pieno."),
    ("es", True, "España envía al Ejército a Ceuta tras la llegada de 8.000 migrantes desde Marruecos. El Gobierno desplegó militares en Ceuta.",
                 "Crisis migratoria en Ceuta: los militares patrullan la frontera. Miles de personas entraron a nado en la ciudad autónoma en un solo día."),
    ("es", False, "España envía al Ejército a Ceuta tras la llegada de 8.000 migrantes desde Marruecos. El Gobierno desplegó militares en Ceuta.",
                  "Marruecos detiene a 300 migrantes cerca de Ceuta. Las autoridades de Marruecos detuvieron a 300 personas que intentaban llegar a Ceuta."),
    ("en", True, "Spain sends troops to Ceuta as 8,000 migrants cross from Morocco. Spain deployed soldiers in Ceuta after some 8,000 people swam into the enclave.",
                 "Migration crisis in Ceuta: soldiers patrol the border. Thousands of people entered the autonomous city by swimming in a single day."),
    ("en", False, "Spain sends troops to Ceuta as 8,000 migrants cross from Morocco. Spain deployed soldiers in Ceuta after some 8,000 people swam into the enclave.",
                  "Morocco detains 300 migrants near Ceuta. Moroccan authorities detained 300 people who were trying to reach Ceuta."),
    ("en", True, "Biden unveils $2 trillion infrastructure plan. The president proposed spending on roads, bridges and broadband.",
                 "White House proposes massive spending on roads and bridges. The administration's package would rebuild transport and expand internet access."),
    ("en", False, "Biden unveils $2 trillion infrastructure plan. The president proposed spending on roads, bridges and broadband.",
                  "Senate Republicans offer $568 billion infrastructure counterproposal. GOP senators put forward a narrower package of roads and bridges."),
]


def probe(model) -> None:
    for lang, same, a, b in PROBE:
        e = model.embed([a, b], norm=True)
        print(f"probe lang={lang} {'SAME ' if same else 'OTHER'} cosine={float(e[0] @ e[1]):.3f}")


def pair_ceiling(model) -> None:
    """Pair-level ceiling on AllSides: every pair of different outlets' items within WINDOW,
    ranked by one similarity; the share of same-event pairs found at pair precision 0.95,
    0.90 and 0.85. Word scores use IDF over the whole set at once (not as it arrives)."""
    from bot.stories.index import SEP, WINDOW, LookupIndex
    from bot.stories.terms import Query, event_terms, log_n, prepare
    rows = [json.loads(line) for line in (CORPUS / "allsides_tune.jsonl").open(encoding="utf-8")]
    at = [datetime.fromisoformat(r["published"]) for r in rows]
    pairs = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
             if rows[i]["source"] != rows[j]["source"] and abs(at[i] - at[j]) <= WINDOW]
    same = np.array([rows[i]["gold"] == rows[j]["gold"] for i, j in pairs])

    def report(label: str, sim: np.ndarray) -> None:
        s = np.array([sim[i, j] for i, j in pairs])
        order = np.argsort(-s, kind="stable")
        found = np.cumsum(same[order])
        precision = found / np.arange(1, len(order) + 1)
        out = []
        for p in (0.95, 0.90, 0.85):
            ok = np.flatnonzero(precision >= p)
            k = ok.max() if len(ok) else 0
            out.append(f"P{p:.2f}: R={found[k] / same.sum():.3f} (at >= {s[order][k]:.3f})")
        print(f"pairs {label:32} " + " ".join(out), flush=True)

    text = [Embedder.text(r["title"], r["summary"]) for r in rows]
    plain = model.embed(text, norm=True)
    titles = model.embed([r["title"] for r in rows], norm=True)
    # Token vectors weighted by their IDF over these texts: stop words dilute a plain mean.
    encoded = model.tokenizer.encode_batch(text, add_special_tokens=False)
    df = np.zeros(model.embedding.shape[0])
    for e in encoded:
        df[list(set(e.ids))] += 1
    idf = np.log((len(encoded) + 1) / (df + 0.5))
    weighted = np.array([(model.embedding[ids] * idf[ids][:, None]).sum(0) for ids in
                         ([i for i in e.ids if i != 0] for e in encoded)])
    weighted /= np.linalg.norm(weighted, axis=1, keepdims=True)
    packer, prepared = LookupIndex(), []
    for n, r in enumerate(rows, 1):
        terms = packer.packed_terms(event_terms(r["title"], r["summary"], "en"), 8 | (n << 4))
        packer.add(n, at[n - 1], np.fromiter([SEP, *terms], dtype="<i8"))
        prepared.append(prepare(terms))
    word = np.zeros((len(rows), len(rows)))
    ln = log_n(len(packer.terms))
    for i in range(len(rows)):
        q = Query(prepared[i], packer.rarity, ln)
        for j in range(len(rows)):
            if i != j:
                word[i, j] = q.score(prepared[j])
    report("word score (shipped)", word)
    report("embedding, title", titles @ titles.T)
    report(f"embedding, title + {LEDE_WORDS} words", plain @ plain.T)
    report("embedding, IDF-weighted tokens", weighted @ weighted.T)
    report("word + 0.5 x embedding", word + 0.5 * (plain @ plain.T) * (word > 0))
    report("word + 0.5 x IDF-weighted emb.", word + 0.5 * (weighted @ weighted.T) * (word > 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", choices=["rescue", "sum", "both"], default="both")
    ap.add_argument("--probe-only", action="store_true")
    ap.add_argument("--pairs", action="store_true", help="the pair-level ceiling only")
    ap.add_argument("--oracle", action="store_true",
                    help="only the ceiling of any re-score: candidates of the same gold event join")
    args = ap.parse_args()
    # wordllama's inference module calls logging.basicConfig(level=INFO) when imported; a
    # root handler set first makes that a no-op (else alembic's INFO lines flood the output).
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    model = load_model()
    print(f"model load {time.perf_counter() - t0:.2f} s, embedding matrix {model.embedding.shape}")
    probe(model)
    if args.probe_only:
        return
    pair_ceiling(model)
    if args.pairs:
        return
    rules: list[tuple[str, object]] = [("shipped", None)]
    if args.oracle:
        # What a perfect re-score of the same candidates could do (the rule reads the answer).
        args.grid = "none"
        for f in (0.0, 0.10, 0.15, 0.20):
            rules.append((f"oracle F={f}", lambda s, c, g, f=f: s >= f and g))
        rules.append(("oracle exact", "exact"))
    if args.grid in ("rescue", "both"):
        for f in (0.10, 0.15, 0.20):
            for t in (0.55, 0.60, 0.65, 0.70, 0.75):
                rules.append((f"rescue F={f} T={t}", lambda s, c, g, f=f, t=t: s >= f and c >= t))
    if args.grid in ("sum", "both"):
        for w in (0.25, 0.5):
            for s0 in (0.40, 0.45, 0.50, 0.55):
                rules.append((f"sum W={w} S={s0}", lambda s, c, g, w=w, s0=s0: s > 0 and s + w * c >= s0))
    embedders = {name: Embedder(model) for name in ("allsides_tune.jsonl", "uci_tune.jsonl")}
    with tempfile.TemporaryDirectory() as tmp:
        for label, rule in rules:
            a = quality("allsides_tune.jsonl", Path(tmp), embedders["allsides_tune.jsonl"], rule)
            u = quality("uci_tune.jsonl", Path(tmp), embedders["uci_tune.jsonl"], rule)
            print(f"{label:24} AllSides P={a['P']} R={a['R']} F1={a['F1']} B3={a['bcubed_F1']} "
                  f"reunited={a['reunited']}/{a['events']} ({a['reunited_share']:.0%}) | UCI P={u['P']} R={u['R']}",
                  flush=True)
    e = embedders["allsides_tune.jsonl"]
    print(f"embedding: {e.seconds / e.count * 1e3:.3f} ms per item ({e.count} AllSides items, title + "
          f"{LEDE_WORDS} lede words, one call each); cache 256 float32 = 1 KB per item")
    # What loading the index at start would add: embedding every stored item again, batched.
    texts = [Embedder.text(r["title"], r["summary"]) for r in
             (json.loads(line) for line in (CORPUS / "allsides_tune.jsonl").open(encoding="utf-8"))] * 17
    t0 = time.perf_counter()
    model.embed(texts, norm=True, batch_size=256)
    print(f"embedding {len(texts)} items batched: {(time.perf_counter() - t0) / len(texts) * 1e3:.3f} ms per item")


if __name__ == "__main__":
    main()
