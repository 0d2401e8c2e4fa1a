"""What a compiled query sees of one item (`Ctx`), and word positions within its fields.

Owns: the units an item's words satisfy, the folded words of a field (folded once, on demand),
the word numbers of a unit or a phrase in a field, and whether two occurrences are near. Must
not tokenise text for the index nor learn words (that is `matcher.py`), nor know the query
tree (that is `compile.py`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import compress
from typing import AbstractSet, Sequence

from bot.match.text import tokens

FIELD_INDEX = {"title": 0, "summary": 1, "text": 2}
ALL_FIELDS = (0, 1, 2)


class Ctx:
    """What a compiled query sees of one item: `units` (ids of the units its words satisfy),
    the raw `texts` of title, summary and text (their folded words, `words(f)`, are computed
    only when a candidate rule asks for positions, a field or a phrase), and its source, tags
    and language. `trig` maps a folded word to the unit ids it satisfies, for the words that
    satisfy any; `unit_words` is the other way round (unit id -> folded words)."""

    __slots__ = ("units", "texts", "trig", "unit_words", "source", "raw_tags", "lang", "_tags", "_words", "_field_units",
                 "_pos", "_joined")

    def __init__(self, units: set[int], texts: Sequence[str], trig: dict[str, frozenset[int]],
                 unit_words: dict[int, set[str]], source: str, raw_tags: Sequence[str], lang: str | None):
        self.units = units
        self.texts = texts
        self.trig = trig
        self.unit_words = unit_words
        self.source = source
        self.raw_tags = raw_tags
        self.lang = lang
        self._tags: frozenset[str] | None = None
        self._words: list[list[str] | None] | None = None
        self._field_units: list[AbstractSet[int] | None] | None = None
        self._pos: dict[tuple[int, int], list[int]] | None = None
        self._joined: list[str | None] | None = None

    def words(self, f: int) -> list[str]:
        """The folded words of field f, in order (folded once per item and field, on demand)."""
        if self._words is None:
            self._words = [None, None, None]
        words = self._words[f]
        if words is None:
            words = self._words[f] = tokens(self.texts[f])
        return words

    def field_units(self, f: int) -> AbstractSet[int]:
        """Units satisfied by the words of field f (for title:, summary:, text:)."""
        if self._field_units is None:
            self._field_units = [None, None, None]
        units = self._field_units[f]
        if units is None:
            trig = self.trig
            # C-level: `keys & list` iterates the field's words, not the table
            units = self._field_units[f] = set().union(*map(trig.__getitem__, trig.keys() & self.words(f)))
        return units

    def joined(self, f: int) -> str:
        """' ' + the words of field f joined by single spaces + ' ': an exact phrase is a
        substring search away."""
        if self._joined is None:
            self._joined = [None, None, None]
        text = self._joined[f]
        if text is None:
            text = self._joined[f] = f" {' '.join(self.words(f))} "
        return text

    def where(self, f: int, u: int) -> list[int]:
        """The word numbers in field f (ascending) of the words that satisfy unit u: one
        C-level pass over the field's words against the words known to satisfy u."""
        if self._pos is None:
            self._pos = {}
        key = (f, u)
        at = self._pos.get(key)
        if at is None:
            satisfying = self.unit_words.get(u)
            if satisfying:
                words = self.words(f)
                at = list(compress(range(len(words)), map(satisfying.__contains__, words)))
            else:
                at = []
            self._pos[key] = at
        return at

    @property
    def tags(self) -> frozenset[str]:
        if self._tags is None:  # few rules test tags: fold them only when asked
            self._tags = frozenset(t.lower() for t in self.raw_tags)
        return self._tags


def phrase_at(c: Ctx, f: int, units: tuple[int, ...]) -> list[tuple[int, int]]:
    """(first, last) word numbers of each occurrence in field f of the units in a row."""
    first = c.where(f, units[0])
    if not first:
        return []
    if len(units) == 1:
        return [(i, i) for i in first]
    rest = []
    for u in units[1:]:
        at = c.where(f, u)
        if not at:
            return []
        rest.append(set(at))
    n = len(units) - 1
    return [(i, i + n) for i in first if all(i + k + 1 in at for k, at in enumerate(rest))]


def near_pair(a: list[tuple[int, int]], b: list[tuple[int, int]],
              distance: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """A pair (x, y) of occurrences with at most `distance` words between them (in either
    order; overlapping counts as near), or None."""
    if len(a) * len(b) <= 16:
        for x in a:
            for y in b:
                if y[0] - x[1] - 1 <= distance and x[0] - y[1] - 1 <= distance:
                    return x, y
        return None
    # common words occur many times: compare sorted word numbers, not every pair
    b = sorted(b)
    starts = [y[0] for y in b]
    longest = max(y[1] - y[0] for y in b) + 1
    for x in sorted(a):
        lo = bisect_left(starts, x[0] - distance - longest)
        for y in b[lo:bisect_right(starts, x[1] + distance + 1)]:
            if y[0] - x[1] - 1 <= distance and x[0] - y[1] - 1 <= distance:
                return x, y
    return None
