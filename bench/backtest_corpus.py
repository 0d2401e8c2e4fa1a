"""Backtest the shipped theme packs on the shared news corpus (not a test; run by hand).

    .venv/bin/python bench/backtest_corpus.py [--corpus PATH] [--show THEME] [--json]

Prints, per theme and language, how many items hit and the share of the language's items; how
many hits the corpus's own strict migration regex also flags (a rough precision proxy: the
regex is itself noisy, see the corpus README); the countries tagged; and, with --show, every
hit of one theme with its explanation so a coordinator can read what the rules catch.
Uses the same code path as the daemon: `load_themes(repo).matcher()` and `tag_countries`.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config.themes import load_themes  # noqa: E402
from bot.tagging.countries import tag_countries  # noqa: E402
from bot.model import Item  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "news" / "news_sample.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--show", action="append", default=[], help="print every hit of this theme")
    ap.add_argument("--json", action="store_true", help="one JSON document with the figures")
    args = ap.parse_args()

    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [Item(source_id=r["dataset"], guid=r["id"], url=r.get("url") or None, title=r["title"],
                  summary=r.get("summary", ""), language=r["lang"]) for r in rows]
    matcher = load_themes(REPO).matcher()

    start = time.perf_counter()
    results = [matcher.match(item) for item in items]
    match_s = time.perf_counter() - start
    start = time.perf_counter()
    countries = [tag_countries(f"{i.title}\n{i.summary}", i.language) for i in items]
    country_s = time.perf_counter() - start

    per_lang = collections.Counter(r["lang"] for r in rows)
    hits = collections.defaultdict(collections.Counter)  # theme -> lang -> n
    strict = collections.Counter()
    any_hit = collections.Counter()
    for row, res in zip(rows, results):
        if res:
            any_hit[row["lang"]] += 1
        for hit in res:
            hits[hit.theme][row["lang"]] += 1
            strict[hit.theme] += bool(row.get("kw_migration_strict"))

    langs = sorted(per_lang)
    figures = {
        "items": len(rows), "per_language": dict(per_lang),
        "any_theme": {lang: any_hit[lang] for lang in langs},
        "themes": {t: {"by_language": dict(c), "total": sum(c.values()), "also_strict_regex": strict[t]}
                   for t, c in sorted(hits.items())},
        "match_items_per_s": round(len(items) / match_s),
        "countries_items_per_s": round(len(items) / country_s),
        "items_with_countries": sum(1 for c, _ in countries if c),
    }
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    else:
        head = f"{'theme':16}" + "".join(f"{lang:>12}" for lang in langs) + f"{'total':>8}{'strict':>8}"
        print(head)
        for theme, c in sorted(hits.items()):
            cells = "".join(f"{c[lang]:>5} {100 * c[lang] / per_lang[lang]:5.1f}%" for lang in langs)
            print(f"{theme:16}{cells}{sum(c.values()):>8}{strict[theme]:>8}")
        cells = "".join(f"{any_hit[lang]:>5} {100 * any_hit[lang] / per_lang[lang]:5.1f}%" for lang in langs)
        print(f"{'any theme':16}{cells}{sum(any_hit.values()):>8}")
        print(f"items per language: {dict(per_lang)}")
        print(f"matching: {figures['match_items_per_s']} items/s; countries: "
              f"{figures['countries_items_per_s']} items/s; items with a country: {figures['items_with_countries']}")
    for theme in args.show:
        print(f"\n=== {theme}")
        for row, res in zip(rows, results):
            for hit in res:
                if hit.theme == theme:
                    ex = hit.explanations[0]
                    flag = "S" if row.get("kw_migration_strict") else " "
                    print(f"{flag} {row['id']:>22} {row['lang']} | {row['title'][:90]}")
                    print(f"    {ex.rule}: {ex.terms} | {ex.snippet[:150]}")


if __name__ == "__main__":
    main()
