"""`newsbot rules backtest --against DIR`: the current rules against another rules directory
(the baseline, e.g. a copy of rules/ before an edit), on the same items: the hits gained and
lost, per theme and item by item.

Composes bot.match (both matchers on each item as the backtest reads it). Prints; never
writes to the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import click

from bot.config.layout import RULES_DIR
from bot.config.themes import ThemeSet
from bot.model import Item

ItemKey = int | str     # a stored item's id, or a file item's "id" (else its line number)


def against_folder(path: Path) -> Path:
    """The rules directory `--against` names: DIR itself, or DIR/rules when DIR is a
    configuration directory (a checkout) that has one."""
    inner = path / RULES_DIR
    return inner if inner.is_dir() else path


class Comparison:
    """Matches each item with both rule sets as it passes (`track`) and keeps the differences."""

    def __init__(self, now: ThemeSet, base: ThemeSet, label: str):
        self.label = label
        self.now, self.base = now.matcher(), base.matcher()
        slugs = [t.slug for t in now.themes] + [t.slug for t in base.themes if t.slug not in now.slugs]
        self.counts: dict[str, list[int]] = {slug: [0, 0, 0, 0] for slug in slugs}  # hits, base hits, gained, lost
        self.gained: list[dict] = []
        self.lost: list[dict] = []

    def track(self, items: Iterable[tuple[ItemKey, Item]]) -> Iterator[tuple[ItemKey, Item]]:
        for key, item in items:
            self.compare(key, item)
            yield key, item

    def compare(self, key: ItemKey, item: Item) -> None:
        now = {h.theme: h.rules for h in self.now.match(item, explain=False)}
        base = {h.theme: h.rules for h in self.base.match(item, explain=False)}
        for theme in now:
            self.counts[theme][0] += 1
        for theme in base:
            self.counts[theme][1] += 1
        for _kind, mine, other, into, column in (("gained", now, base, self.gained, 2),
                                                 ("lost", base, now, self.lost, 3)):
            for theme in sorted(set(mine) - set(other)):
                self.counts[theme][column] += 1
                into.append({"id": key, "language": item.language, "title": item.title, "theme": theme,
                             "rules": list(mine[theme])})

    def to_dict(self) -> dict:
        return {
            "rules": self.label,
            "gained": self.gained,
            "lost": self.lost,
            "themes": [{"theme": slug, "hits": c[0], "hits_against": c[1], "gained": c[2], "lost": c[3]}
                       for slug, c in self.counts.items()],
        }


def echo_comparison(c: dict) -> None:
    click.echo(f"\nagainst {c['rules']}: {len(c['gained'])} hits gained, {len(c['lost'])} lost")
    for t in c["themes"]:
        if t["gained"] or t["lost"]:
            click.echo(f"  {t['theme']:<20} {t['hits_against']:>6} -> {t['hits']:<6} +{t['gained']} -{t['lost']}")
    for sign, rows in (("+", c["gained"]), ("-", c["lost"])):
        for row in rows:
            title = " ".join((row["title"] or "").split())[:90]
            click.echo(f"  {sign} {row['theme']} [{row['language'] or '?'}] {row['id']}: {title}"
                       f" ({', '.join(row['rules'])})")
