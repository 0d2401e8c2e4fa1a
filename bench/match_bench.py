"""Rule matching benchmark: the compiled matcher against the naive way, side by side.

    .venv/bin/python bench/match_bench.py [--rounds 5] [--sizes 10,100,1000,10000] [--naive-max 1000]

Items: the real news of ../shared/corpus/news/news_sample.jsonl (en, de, fr, it), each made
~130 words long (title + summary, plus the following summaries of the same language as text).
Rules: synthetic but shaped like the theme packs, drawn with a fixed seed from the corpus'
own vocabulary the way real packs are: domain words (seed migration terms in 8 languages plus
the words over-represented in the corpus' migration items) and words of mid/low frequency
(corpus ranks 500-20,000, log-uniform, so each decade of rarity is equally likely) with a few
common ones (ranks 50-500); real bigrams of the corpus as phrases; prefixes, NEAR, title:,
NOT, OR-groups, language-restricted rules and theme excludes. Most items hit nothing, as with
real packs; the share of items hit is reported for each size.
Also: the shipped packs (rules/*.yaml), with and without explanations.
Steady state: before the timed rounds each language's program has seen REINDEX_AT[-1] (2,000)
items and chosen its trigger sets from their observed word frequencies (`settle`), as a daemon
has after a few thousand items of a language. The corpus has fewer than 700 items a language,
so the rounds used to be timed while the matcher was still counting records (and re-indexing
midway for English). Nothing is cached per item: every round tokenises, looks up and evaluates
each item again; the start-up cost is the `1st pass` column.
Timing is process CPU time (time.process_time), best of --rounds for each chunk of 100 items:
other processes on a shared machine slow the wall clock more than the CPU time of this one. `calibration` is the CPU
time of sum(range(10**6)) in the same run, to compare runs made under different loads.
The 10,000 vs 1,000 rules ratio is also timed with both matchers alternating chunk by chunk
(`alternate`): the two rows are timed a minute apart, and the load may change in between.
Naive: every rule's terms as regexes (`\\bterm\\w*` for stemmed words), every rule tried
on every item, the boolean structure evaluated in Python (NEAR as plain AND: a generous
baseline). Runs on one core; reports items/s and ratios.
Before/after a matcher change, compare in one process: `git worktree add /tmp/base REV`, then
`--against /tmp/base`: that tree's `bot` package is loaded beside this one (as `botbase`, a
copy under a temporary directory), both matchers get the same rules and settle, their hits are
checked equal, and chunks of 100 items are timed alternately, best of --rounds. Two runs of the
plain script minutes apart differed by up to 1.5x on the shared 2-core machine at one commit;
the alternating A/B moves by a few percent.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from functools import partial

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.match import Matcher, RuleDef, ThemeDef, compile_query  # noqa: E402
from bot.match.query import And, Filter, Near, Not, Or, Scope, Term  # noqa: E402
from bot.match.matcher import REINDEX_AT  # noqa: E402
from bot.match.text import fold_words, normalise  # noqa: E402
from bot.model import Item  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "news" / "news_sample.jsonl"

DOMAIN = {
    "en": "asylum migrant refugee deportation detention pushback smuggler trafficking border "
          "undocumented shipwreck rescue resettlement expulsion displacement xenophobia exploitation "
          "frontex unaccompanied",
    "fr": "asile migrant réfugié expulsion rétention refoulement passeur traite frontière sans-papiers "
          "naufrage sauvetage exilé régularisation",
    "de": "asyl migrant flüchtling abschiebung haft zurückweisung schleuser menschenhandel grenze "
          "seenotrettung duldung geflüchtete",
    "it": "asilo migrante profugo rimpatrio trattenimento respingimento scafista tratta frontiera "
          "naufragio soccorso sbarco accoglienza",
    "es": "asilo migrante refugiado deportación detención devolución traficante frontera naufragio rescate",
    "pt": "asilo migrante refugiado deportação detenção fronteira naufrágio resgate",
    "el": "άσυλο μετανάστης πρόσφυγας απέλαση κράτηση επαναπροώθηση διακινητής σύνορα ναυάγιο διάσωση",
    "nl": "asiel migrant vluchteling uitzetting detentie grens mensensmokkel",
}
TARGET_WORDS = 130


def load_items() -> tuple[list[Item], list[Item]]:
    """(all items, the items the corpus flags as about migration), ~130 words each."""
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    by_lang: dict[str, list[dict]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(row)
    items, topical = [], []
    for lang, group in by_lang.items():
        for i, row in enumerate(group):
            need = TARGET_WORDS - len(row["title"].split()) - len(row["summary"].split())
            extra: list[str] = []
            j = i + 1
            while len(extra) < need:
                extra.extend(group[j % len(group)]["summary"].split())
                j += 1
            item = Item(source_id=row["dataset"], guid=row["id"], url=None, title=row["title"],
                        summary=row["summary"], text=" ".join(extra[:max(need, 0)]), language=lang,
                        tags=["news"])
            items.append(item)
            if row.get("kw_migration_strict"):
                topical.append(item)
    return items, topical


class Vocab:
    """Per language: words by corpus frequency (most frequent first), domain words, bigrams."""

    def __init__(self, items: list[Item], topical: list[Item]):
        def count(group: list[Item]) -> dict[str, Counter]:
            out: dict[str, Counter] = {}
            for it in group:
                out.setdefault(it.language, Counter()).update(
                    w for w in fold_words(f"{it.title} {it.summary}") if len(w) > 2 and not w.isdigit())
            return out

        general, domain_counts = count(items), count(topical)
        # Rarity is judged over all languages too: an unrestricted rule's rare Italian word
        # must not be a common English one ("and").
        overall = Counter()
        for c in general.values():
            overall.update(c)
        common = {w for w, _ in overall.most_common(300)}
        self.ranked = {lang: [w for w, _ in c.most_common()[100:] if w not in common] for lang, c in general.items()}
        self.rank = {lang: {w: i for i, w in enumerate(words)} for lang, words in self.ranked.items()}
        self.domain: dict[str, list[str]] = {}
        for lang, seeds in DOMAIN.items():
            words = seeds.split()
            c, g = domain_counts.get(lang, Counter()), general.get(lang, Counter())
            frequent = common | {w for w, _ in g.most_common(100)}
            scored = sorted((w for w in c if c[w] >= 2 and w not in words and w not in frequent),
                            key=lambda w: -(c[w] / (g[w] + 5)))
            self.domain[lang] = words + scored[:400]
        # phrases: real bigrams whose first word is not among the 300 most common
        self.bigrams: dict[str, list[str]] = {}
        for it in items:
            words = fold_words(f"{it.title} {it.summary}")
            rank = self.rank[it.language]
            self.bigrams.setdefault(it.language, []).extend(
                f"{a} {b}" for a, b in zip(words, words[1:])
                if rank.get(a, 0) >= 300 and len(a) > 2 and len(b) > 2 and not (a + b).isdigit())


def make_rules(n: int, vocab: Vocab, seed: int = 7) -> list[ThemeDef]:
    """n rules in themes of n/20, shaped like the packs (see the module docstring)."""
    rnd = random.Random(seed)
    langs = sorted(vocab.ranked)
    topics = {lang: words[:max(10, int(4 * n ** 0.6))] for lang, words in vocab.domain.items()}

    def general(lang: str, low: int = 500, common: bool = False) -> str:
        ranked = vocab.ranked.get(lang)
        if not ranked:  # es, pt, el, nl: no corpus items, domain words only
            return rnd.choice(vocab.domain[lang])
        if common and rnd.random() < 0.04:
            return ranked[rnd.randrange(50, 500)]
        rank = int(math.exp(rnd.uniform(math.log(low), math.log(20_000))))
        if rank < len(ranked):
            return ranked[rank]
        # A 2,000-item sample sees only the head of a language's vocabulary (4k-11k words
        # here): rarer domain words exist but are absent from it. Made-up stand-ins keep a
        # real word's beginning, so prefixes and anchors behave as with real words.
        return ranked[rank % len(ranked)] + "qz"

    def word(lang: str, topical: bool) -> str:
        if topical:
            return rnd.choice(topics[lang]) if rnd.random() < 0.3 else general(lang)
        return general(lang, common=True)

    def term(lang: str, topical: bool) -> str:
        r = rnd.random()
        w = word(lang, topical)
        if r < 0.12 and len(w) > 7:  # like migra*, asyl*, refoul*: a stem, not a syllable
            return w[: len(w) - 2] + "*"
        if r < 0.25 and vocab.bigrams.get(lang):
            return f'"{rnd.choice(vocab.bigrams[lang])}"'
        return w

    def group(lang: str, k: int, topical: bool) -> str:
        parts = [term(lang, topical) for _ in range(k)]
        return "(" + " OR ".join(parts) + ")" if len(parts) > 1 else parts[0]

    themes = []
    per_theme = max(1, n // 20)
    rules: list[RuleDef] = []
    for i in range(n):
        lang = rnd.choice(langs * 4 + ["es", "pt", "el", "nl"])
        shape = rnd.random()
        topic = group(lang, rnd.randint(1, 2), True)
        context = group(lang, rnd.randint(1, 2), False)
        if shape < 0.5:
            q = f"{topic} AND {context}"
        elif shape < 0.65:
            q = f"{topic} NEAR/{rnd.randint(2, 8)} {context}"
        elif shape < 0.75:
            q = f"title:{topic} {context}"
        elif shape < 0.85:
            q = f"{topic} {context} -{general(lang)}"
        elif shape < 0.94:
            q = f"({topic} OR {term(lang, True)}) AND ({context} OR {term(lang, False)})"
        elif shape < 0.997:
            q = f"{topic} {context} lang:{lang}"
        else:
            q = " OR ".join(general(lang, 10_000) for _ in range(rnd.randint(1, 3)))  # rare names alone
        # rules in languages without corpus items are written for those languages only
        languages = frozenset([lang]) if lang not in vocab.ranked or rnd.random() < 0.6 else None
        rules.append(RuleDef(f"r{i}", compile_query(q), languages))
        if len(rules) == per_theme or i == n - 1:
            exclude = compile_query(f'{general(lang)} OR "{general(lang)} {general(lang)}"')
            themes.append(ThemeDef(f"t{len(themes)}", rnd.choice(["high", "normal", "low"]), tuple(rules), exclude))
            rules = []
    return themes


class Naive:
    """One regex per term, every rule on every item (the baseline)."""

    def __init__(self, themes: list[ThemeDef]):
        self.rules = [(t.slug, r) for t in themes for r in t.rules]
        self.excludes = {t.slug: t.exclude for t in themes}
        self.cache: dict[Term, re.Pattern] = {}

    def regex(self, term: Term) -> re.Pattern:
        rx = self.cache.get(term)
        if rx is None:
            pieces = []
            for kind, w in term.parts:
                pieces.append(re.escape(w) + (r"\w*" if kind in ("w", "p") else r"\b"))
            rx = self.cache[term] = re.compile(r"\b" + r"\W+".join(pieces))
        return rx

    def ev(self, node, fields: dict[str, str], scope: str | None, item: Item) -> bool:
        if isinstance(node, Term):
            texts = [fields[scope]] if scope else fields.values()
            return any(self.regex(node).search(t) for t in texts)
        if isinstance(node, And):
            return all(self.ev(c, fields, scope, item) for c in node.children)
        if isinstance(node, Or):
            return any(self.ev(c, fields, scope, item) for c in node.children)
        if isinstance(node, Not):
            return not self.ev(node.child, fields, scope, item)
        if isinstance(node, Near):
            return self.ev(node.left, fields, scope, item) and self.ev(node.right, fields, scope, item)
        if isinstance(node, Scope):
            return self.ev(node.child, fields, node.field, item)
        if isinstance(node, Filter):
            return {"source": item.source_id, "lang": item.language}.get(node.field) == node.value or \
                (node.field == "tag" and node.value in item.tags)
        raise TypeError(node)

    def match(self, item: Item) -> set[str]:
        fields = {"title": normalise(item.title), "summary": normalise(item.summary), "text": normalise(item.text)}
        hit = set()
        for slug, rule in self.rules:
            if rule.languages is not None and item.language not in rule.languages:
                continue
            if self.ev(rule.query.ast, fields, None, item):
                hit.add(slug)
        return {s for s in hit if not (self.excludes[s] and self.ev(self.excludes[s].ast, fields, None, item))}


def rate(fn, items: list[Item], rounds: int, budget: float = 20.0, chunk: int = 100) -> tuple[float, int]:
    """items/s: each chunk of `chunk` items timed `rounds` times, its best (least CPU) time
    kept, the bests summed: a burst of load on a shared machine spoils one chunk of one
    round, not the figure. Fewer items when one pass would exceed `budget` s."""
    t0 = time.process_time()
    for it in items[:20]:
        fn(it)
    one = (time.process_time() - t0) / 20
    sample = items if one * len(items) < budget else items[: max(50, int(budget / max(one, 1e-9)))]
    chunks = [sample[i:i + chunk] for i in range(0, len(sample), chunk)]
    best = [float("inf")] * len(chunks)
    for _ in range(rounds):
        for k, part in enumerate(chunks):
            t0 = time.process_time()
            for it in part:
                fn(it)
            best[k] = min(best[k], time.process_time() - t0)
    return len(sample) / sum(best), len(sample)


def alternate(fa, fb, items: list[Item], rounds: int, chunk: int = 100) -> tuple[float, float]:
    """items/s of two functions timed chunk by chunk in turns (which goes first alternates),
    best of `rounds` per chunk: load that comes and goes hits both alike, so their ratio is
    steady where two separate `rate` runs minutes apart are not."""
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    best = [[math.inf] * len(chunks), [math.inf] * len(chunks)]
    for _ in range(rounds):
        for k, part in enumerate(chunks):
            for side in ((0, 1) if k % 2 else (1, 0)):
                fn = (fa, fb)[side]
                t0 = time.process_time()
                for it in part:
                    fn(it)
                best[side][k] = min(best[side][k], time.process_time() - t0)
    return tuple(len(items) / sum(side) for side in best)


def calibration() -> float:
    """CPU ms of sum(range(10**6)), best of 5: how fast this machine is right now."""
    best = 1e9
    for _ in range(5):
        t0 = time.process_time()
        sum(range(10**6))
        best = min(best, time.process_time() - t0)
    return best * 1000


def settle(matcher: Matcher, items: list[Item]) -> None:
    """Run the items until every language's program has counted REINDEX_AT[-1] of them and
    chosen its trigger sets from what it saw: from then on the matcher's work per item is what
    it does for good (a daemon gets there after a few thousand items a language), while the
    corpus has fewer than 700 items a language, so without this the measured rounds would
    still count records and, for some languages, re-index midway."""
    languages = {it.language for it in items}
    while any(matcher.program(lang).observed < REINDEX_AT[-1] for lang in languages):
        for it in items:
            matcher.match(it, explain=False)


def candidates_per_item(matcher: Matcher, items: list[Item]) -> float:
    return sum(len(matcher.program(it.language).context(it)[1]) for it in items) / len(items)


def against(tree: Path, sizes: list[int], vocab: "Vocab", items: list[Item], rounds: int) -> None:
    """The in-process A/B of --against: `tree`'s matcher (before) and this one (after)."""
    import importlib
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="match_ab_"))
    shutil.copytree(tree / "bot", tmp / "botbase")
    for path in (tmp / "botbase").rglob("*.py"):
        path.write_text(re.sub(r"\b(from|import) bot([. ])", r"\1 botbase\2", path.read_text(encoding="utf-8")),
                        encoding="utf-8")
    sys.path.insert(0, str(tmp))
    before = importlib.import_module("botbase.match")
    import bot.match as after

    def build(mod, themes: list[ThemeDef]):  # noqa: ANN001, ANN202
        m = mod.Matcher([mod.ThemeDef(t.slug, t.priority, tuple(mod.RuleDef(r.id, mod.compile_query(r.query.text),
                                                                            r.languages) for r in t.rules),
                                      mod.compile_query(t.exclude.text) if t.exclude else None) for t in themes])
        settle(m, items)
        return m

    def compare(label: str, themes: list[ThemeDef], explain: bool = False) -> tuple[float, float]:
        a, b = build(before, themes), build(after, themes)
        for it in items:
            assert [(h.theme, h.rules) for h in a.match(it, explain=False)] == \
                [(h.theme, h.rules) for h in b.match(it, explain=False)], it.title
        x, y = alternate(lambda it: a.match(it, explain=explain), lambda it: b.match(it, explain=explain),
                         items, rounds)
        print(f"{label:>14}: before {x:>8,.0f} items/s  after {y:>8,.0f} items/s  after/before {y / x:.2f}x")
        return x, y

    res = {n: compare(f"{n} rules", make_rules(n, vocab)) for n in sizes}
    if 1000 in res and 10000 in res:
        print(f"time per item, 10,000 rules vs 1,000: before {res[1000][0] / res[10000][0]:.2f}x, "
              f"after {res[1000][1] / res[10000][1]:.2f}x")
    from bot.config.themes import load_themes

    packs = list(load_themes(REPO).matcher().themes)
    compare("packs", packs)
    compare("packs, explained", packs, explain=True)
    shutil.rmtree(tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--naive-max", type=int, default=1000,
                    help="skip the naive way above this many rules (it takes minutes)")
    ap.add_argument("--no-packs", action="store_true", help="skip the shipped packs")
    ap.add_argument("--against", type=Path, help="a checkout of another revision: in-process A/B against it")
    args = ap.parse_args()
    items, topical = load_items()
    vocab = Vocab(items, topical)
    if args.against:
        print(f"calibration {calibration():.1f} ms; before: {args.against}, after: {REPO}")
        against(args.against, [int(x) for x in args.sizes.split(",")], vocab, items, args.rounds)
        return
    words = sum(len(f"{i.title} {i.summary} {i.text}".split()) for i in items) / len(items)
    print(f"{len(items)} items, {words:.0f} words on average, languages "
          f"{dict(Counter(i.language for i in items))}; calibration {calibration():.1f} ms")
    print(f"{'rules':>6} {'indexed items/s':>16} {'1st pass':>9} {'naive items/s':>14} {'indexed/naive':>14} "
          f"{'hit share':>9} {'cand/item':>9} {'agree':>6}")
    results, matchers = {}, {}
    for n in [int(x) for x in args.sizes.split(",")]:
        themes = make_rules(n, vocab)
        matcher = Matcher(themes)
        t0 = time.process_time()
        for it in items:  # first pass: programs compiled and every word learned (start-up)
            matcher.match(it, explain=False)
        first = len(items) / (time.process_time() - t0)
        settle(matcher, items)
        fast, _ = rate(partial(matcher.match, explain=False), items, args.rounds)
        hits = sum(1 for it in items if matcher.match(it, explain=False))
        cands = candidates_per_item(matcher, items)
        naive_rate = agree = None
        if n <= args.naive_max:
            naive = Naive(themes)
            naive_rate, sample = rate(naive.match, items, 1, budget=10.0)
            agree = sum(1 for it in items[:sample]
                        if {h.theme for h in matcher.match(it, explain=False)} == naive.match(it)) / sample
        results[n] = fast
        if n in (1000, 10000):
            matchers[n] = matcher   # kept for the alternating ratio below
        print(f"{n:>6} {fast:>16,.0f} {first:>9,.0f} "
              + (f"{naive_rate:>14,.1f} {fast / naive_rate:>13,.0f}x" if naive_rate else f"{'skipped':>14} {'':>14}")
              + f" {hits / len(items):>9.1%} {cands:>9.1f}" + (f" {agree:>6.0%}" if agree is not None else ""))
    if 1000 in results and 10000 in results:
        print(f"time per item, 10,000 rules vs 1,000: {results[1000] / results[10000]:.2f}x from the rows above;",
              end=" ", flush=True)
        one, ten = (matchers[n] for n in (1000, 10000))
        r1, r10 = alternate(lambda it: one.match(it, explain=False), lambda it: ten.match(it, explain=False),
                            items, args.rounds)
        print(f"{r1 / r10:.2f}x timed alternately ({r1:,.0f} and {r10:,.0f} items/s)")
    if any(n > args.naive_max for n in results):
        print("naive skipped above", args.naive_max, "rules: one pass would take minutes")
    print("1st pass: items/s while the program learns the corpus' words (start-up cost);"
          " agree: share of items where both give the same themes (naive treats NEAR as AND and"
          " stems as prefixes, so 100% is not expected)")
    if not args.no_packs:
        from bot.config.themes import load_themes

        packs = load_themes(REPO).matcher()
        settle(packs, items)
        plain, _ = rate(lambda it: packs.match(it, explain=False), items, args.rounds)
        explained, _ = rate(lambda it: packs.match(it), items, args.rounds)
        hits = sum(1 for it in items if packs.match(it, explain=False))
        print(f"shipped packs ({packs.rule_count} rules): {plain:,.0f} items/s without explanations,"
              f" {explained:,.0f} with; {hits / len(items):.1%} of items hit;"
              f" {candidates_per_item(packs, items):.1f} candidate rules an item")


if __name__ == "__main__":
    main()
