"""Rule matching benchmark: the compiled matcher against the naive way, side by side.

    .venv/bin/python bench/match_bench.py [--rounds 3] [--sizes 10,100,1000,10000] [--naive-max 1000]

Items: the real news of ../shared/corpus/news/news_sample.jsonl (en, de, fr, it), each made
~130 words long (title + summary, plus the following summaries of the same language as text).
Rules: synthetic but shaped like the theme packs, drawn with a fixed seed: a topical group
(seed migration terms in 8 languages plus the words over-represented in the corpus' migration
items) ANDed with a context group (topical words or the corpus' own words of ranks 150-6000,
never "the"), with phrases, prefixes, NEAR, title:, NOT, language-restricted rules and theme
excludes. The vocabulary grows with the number of rules the way real rule sets do (more
rules, more distinct terms: topical ~n^0.6, context ~n^0.5 up to 1,500 words a language).
Timing is process CPU time (time.process_time), best of --rounds: other processes on a shared
machine slow the wall clock more than the CPU time of this one.
Naive: every rule's terms as regexes (`\\bterm\\w*` for stemmed words), every rule tried
on every item, the boolean structure evaluated in Python (NEAR as plain AND: a generous
baseline). Runs on one core; reports items/s and ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.match import Matcher, RuleDef, ThemeDef, compile_query  # noqa: E402
from bot.match.query import And, Filter, Near, Not, Or, Scope, Term  # noqa: E402
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


def vocabulary(items: list[Item], topical: list[Item]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(general words per language: corpus ranks 150-6000, domain words per language: words
    over-represented in the migration items, plus the seed terms), most typical first."""
    def count(group: list[Item]) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for it in group:
            out.setdefault(it.language, Counter()).update(
                w for w in fold_words(f"{it.title} {it.summary}") if len(w) > 3 and not w.isdigit())
        return out

    general, domain_counts = count(items), count(topical)
    vocab = {lang: [w for w, _ in c.most_common(6000)[150:]] for lang, c in general.items()}
    domain: dict[str, list[str]] = {}
    for lang, seeds in DOMAIN.items():
        words = seeds.split()
        c, g = domain_counts.get(lang, Counter()), general.get(lang, Counter())
        scored = sorted((w for w in c if c[w] >= 2 and w not in words),
                        key=lambda w: -(c[w] / (g[w] + 5)))
        domain[lang] = words + scored[:400]
    return vocab, domain


def make_rules(n: int, vocab: dict[str, list[str]], domain: dict[str, list[str]], seed: int = 7) -> list[ThemeDef]:
    """Rules shaped like the packs: a topical group ANDed with a context group, phrases,
    prefixes, NEAR, title:, NOT. More rules use more distinct words (Heaps-like growth)."""
    rnd = random.Random(seed)
    # Context words: common news words (government, court, police...), a pool that stops
    # growing at 1,500 a language; topical words, phrases and names grow with the rule set.
    pools = {lang: words[:min(1500, max(30, int(30 * n ** 0.5)))] for lang, words in vocab.items()}
    topics = {lang: words[:max(10, int(4 * n ** 0.6))] for lang, words in domain.items()}
    for lang in DOMAIN:
        pools.setdefault(lang, topics[lang])

    def word(lang: str, topical: bool) -> str:
        return rnd.choice(topics[lang] if topical or rnd.random() < 0.3 else pools[lang])

    def group(lang: str, k: int, topical: bool) -> str:
        parts = []
        for _ in range(k):
            r = rnd.random()
            w = word(lang, topical)
            if r < 0.15 and len(w) > 5:
                parts.append(w[: max(4, len(w) - 3)] + "*")
            elif r < 0.3:
                parts.append(f'"{w} {word(lang, False)}"')
            else:
                parts.append(w)
        return "(" + " OR ".join(parts) + ")" if len(parts) > 1 else parts[0]

    themes = []
    per_theme = max(1, n // 20)
    rules: list[RuleDef] = []
    for i in range(n):
        lang = rnd.choice(sorted(vocab) * 2 + ["es", "pt", "el", "nl"])
        shape = rnd.random()
        topic = group(lang, rnd.randint(1, 4), True)
        if shape < 0.5:
            q = f"{topic} AND {group(lang, rnd.randint(1, 3), False)}"
        elif shape < 0.65:
            q = f"{group(lang, 1, True)} NEAR/{rnd.randint(2, 8)} {group(lang, rnd.randint(1, 3), False)}"
        elif shape < 0.75:
            q = f"title:{topic} {group(lang, 2, False)}"
        elif shape < 0.85:
            q = f"{topic} {group(lang, 2, False)} -{word(lang, False)}"
        elif shape < 0.95:
            q = f'"{word(lang, True)} {word(lang, False)}" OR ({topic} {group(lang, 1, True)})'
        else:
            q = group(lang, rnd.randint(2, 4), True)
        languages = frozenset([lang]) if rnd.random() < 0.6 else None
        rules.append(RuleDef(f"r{i}", compile_query(q), languages))
        if len(rules) == per_theme or i == n - 1:
            exclude = compile_query(f"{word(lang, False)} OR \"{word(lang, False)} {word(lang, False)}\"")
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


def rate(fn, items: list[Item], rounds: int, budget: float = 20.0) -> tuple[float, int]:
    """Best items/s over `rounds` passes (fewer items when one pass would exceed `budget` s)."""
    t0 = time.process_time()
    for it in items[:20]:
        fn(it)
    one = (time.process_time() - t0) / 20
    sample = items if one * len(items) < budget else items[: max(50, int(budget / max(one, 1e-9)))]
    best = 0.0
    for _ in range(rounds):
        t0 = time.process_time()
        for it in sample:
            fn(it)
        best = max(best, len(sample) / (time.process_time() - t0))
    return best, len(sample)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--naive-max", type=int, default=1000,
                    help="skip the naive way above this many rules (it takes minutes)")
    args = ap.parse_args()
    items, topical = load_items()
    vocab, domain = vocabulary(items, topical)
    words = sum(len(f"{i.title} {i.summary} {i.text}".split()) for i in items) / len(items)
    print(f"{len(items)} items, {words:.0f} words on average, languages "
          f"{dict(Counter(i.language for i in items))}")
    print(f"{'rules':>6} {'indexed items/s':>16} {'naive items/s':>14} {'indexed/naive':>14} "
          f"{'hit share':>9} {'agree':>6}")
    results = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        themes = make_rules(n, vocab, domain)
        matcher = Matcher(themes)
        for lang in {i.language for i in items}:  # compile outside the timing, as at start-up
            matcher.program(lang)
        fast, _ = rate(lambda it: matcher.match(it, explain=False), items, args.rounds)
        hits = sum(1 for it in items if matcher.match(it, explain=False))
        naive_rate = agree = None
        if n <= args.naive_max:
            naive = Naive(themes)
            naive_rate, sample = rate(naive.match, items, 1)
            agree = sum(1 for it in items[:sample]
                        if {h.theme for h in matcher.match(it, explain=False)} == naive.match(it)) / sample
        results[n] = fast
        print(f"{n:>6} {fast:>16,.0f} "
              + (f"{naive_rate:>14,.0f} {fast / naive_rate:>13.0f}x" if naive_rate else f"{'skipped':>14} {'':>14}")
              + f" {hits / len(items):>9.1%}" + (f" {agree:>6.0%}" if agree is not None else ""))
    if 1000 in results and 10000 in results:
        print(f"time per item, 10,000 rules vs 1,000: {results[1000] / results[10000]:.2f}x")
    print("naive skipped above", args.naive_max, "rules: one pass would take minutes"
          if any(n > args.naive_max for n in results) else "")
    print("agree: share of items where both give the same themes (naive treats NEAR as AND and"
          " stems as prefixes, so 100% is not expected)")


if __name__ == "__main__":
    main()
