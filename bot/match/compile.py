"""Compiling a query tree for one item language: terms resolved to keys and anchors,
the tree turned into a closure, and the keys that can trigger the rule at all.

Owns: the meaning of each node once the language is known (stemmed or not), NEAR distances,
field scopes, and the choice of trigger keys. Must not scan text (that is `matcher.py`) nor
know about themes, files or storage.

A term's *key* names what must be found ("s" + stem, "x" + exact word, "p" + prefix, parts
joined by \\x1f); its *anchor* is what an Aho-Corasick automaton looks for in folded text
(`text.fold_text`): ' ' + word + ' ' for an exact word, ' ' + prefix for a prefix, and for a
stemmed word ' ' + the first letters its inflections share (the stem minus its last letter,
bounded by the rule word), verified by stemming the whole word found there.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Callable, Sequence

from bot.match.query import And, Filter, Near, Node, Not, Or, Scope, Term
from bot.match.text import has_stemmer, stems_for

FIELD_INDEX = {"title": 0, "summary": 1, "text": 2}
# Between folded fields: not a space and not a letter, so no anchor, phrase or word crosses it.
FIELD_BREAK = "\x01"
_WORD_RUN = re.compile(r"[^ \x01]+")
Eval = Callable[["Ctx"], bool]


class Ctx:
    """What a compiled query sees of one item: the terms found (key -> [(field, start, end)],
    offsets into `text`, the folded fields joined by FIELD_BREAK), and the item's source,
    tags and language."""

    __slots__ = ("found", "text", "source", "raw_tags", "lang", "_tags", "_words")

    def __init__(self, found: dict, text: str, source: str, raw_tags: Sequence[str], lang: str | None):
        self.found = found
        self.text = text
        self.source = source
        self.raw_tags = raw_tags
        self.lang = lang
        self._tags: frozenset[str] | None = None
        self._words: list[int] | None = None

    def word_starts(self) -> list[int]:
        """Offsets of every word of `text` (fields never share a word: FIELD_BREAK is no
        word character), so a word's number is a bisect away. Built only when NEAR needs it."""
        if self._words is None:
            self._words = [m.start() for m in _WORD_RUN.finditer(self.text)]
        return self._words

    @property
    def tags(self) -> frozenset[str]:
        if self._tags is None:  # few rules test tags: fold them only when asked
            self._tags = frozenset(t.lower() for t in self.raw_tags)
        return self._tags


@dataclass(frozen=True)
class TermSpec:
    key: str
    parts: tuple[tuple[str, str], ...]  # ('x', word) | ('s', stem) | ('p', prefix)
    anchor: str
    complete: bool  # an anchor hit alone proves the term
    words: int


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


def resolve_term(term: Term, lang: str | None) -> TermSpec:
    stemmed = has_stemmer(lang)
    stems = stems_for(lang)
    parts = []
    for kind, word in term.parts:
        if kind == "w":
            parts.append(("s", stems[word]) if stemmed else ("x", word))
        else:
            parts.append((kind, word))
    key = "\x1f".join(k + v for k, v in parts)
    kind0, value0 = parts[0]
    if kind0 == "x":
        anchor, complete = f" {value0} ", len(parts) == 1
    elif kind0 == "p":
        anchor, complete = f" {value0}", len(parts) == 1
    else:
        # Snowball rewrites the end of a stem (y->i, c->qu, dropped umlaut e) but rarely its
        # beginning, so the anchor stops one letter short of the stem. Measured on the corpus
        # (every pair of words sharing a stem): 0.07% (en) to 0.2% (fr) of pairs missed, none
        # in de and it; two letters short missed 0.06% but found ~3x more anchors to verify.
        common = _common_prefix(value0, term.parts[0][1])
        anchor, complete = " " + common[:max(3, len(value0) - 1)], False
    return TermSpec(key, tuple(parts), anchor, complete, len(parts))


class Compiler:
    """Compiles trees for one language; collects every term it met (for the automaton)."""

    def __init__(self, lang: str | None):
        self.lang = lang
        self.terms: dict[Term, TermSpec] = {}
        self.by_key: dict[str, TermSpec] = {}

    def spec(self, term: Term) -> TermSpec:
        spec = self.terms.get(term)
        if spec is None:
            spec = self.terms[term] = resolve_term(term, self.lang)
            self.by_key[spec.key] = spec
        return spec

    # --- evaluation ---------------------------------------------------------------------
    def compile(self, node: Node, scope: int | None = None) -> Eval:
        if isinstance(node, Term):
            key = self.spec(node).key
            if scope is None:
                return lambda c: key in c.found
            return lambda c: any(f == scope for f, _, _ in c.found.get(key, ()))
        if isinstance(node, And):
            # cheap checks first: plain terms, then the rest, negations last
            children = sorted(node.children, key=_cost)
            return _all([self.compile(ch, scope) for ch in children])
        if isinstance(node, Or):
            children = sorted(node.children, key=_cost)
            fns = [self.compile(ch, scope) for ch in children if scope is not None or not isinstance(ch, Term)]
            if scope is None:
                # plain alternatives in one C-level set operation
                keys = frozenset(self.spec(ch).key for ch in children if isinstance(ch, Term))
                if len(keys) > 1:
                    fns.insert(0, lambda c: not keys.isdisjoint(c.found))
                elif keys:
                    (key,) = keys
                    fns.insert(0, lambda c: key in c.found)
            return _any(fns)
        if isinstance(node, Not):
            inner = self.compile(node.child, scope)
            return lambda c: not inner(c)
        if isinstance(node, Scope):
            return self.compile(node.child, FIELD_INDEX[node.field])
        if isinstance(node, Near):
            return self._near(node, scope)
        if isinstance(node, Filter):
            value = node.value
            if node.field == "source":
                return lambda c: c.source == value
            if node.field == "tag":
                return lambda c: value in c.tags
            return lambda c: c.lang == value
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def operand_keys(self, node: Node) -> list[str]:
        if isinstance(node, Term):
            return [self.spec(node).key]
        return [k for ch in node.children for k in self.operand_keys(ch)]  # an OR-group

    def _near(self, node: Near, scope: int | None) -> Eval:
        left, right, distance = self.operand_keys(node.left), self.operand_keys(node.right), node.distance

        def near(c: Ctx) -> bool:
            found = c.found
            a = [o for k in left for o in found.get(k, ()) if scope is None or o[0] == scope]
            if not a:
                return False
            b = [o for k in right for o in found.get(k, ()) if scope is None or o[0] == scope]
            if not b:
                return False
            if len(a) * len(b) <= 4:
                return any(within(c.text, x, y, distance) for x in a for y in b)
            # common words occur many times: compare word numbers, sorted, not every pair
            words = c.word_starts()
            a_words = sorted((bisect_right(words, x[1]) - 1, bisect_right(words, x[2] - 1) - 1) for x in a)
            b_words = sorted((bisect_right(words, y[1]) - 1, bisect_right(words, y[2] - 1) - 1) for y in b)
            b_starts = [w[0] for w in b_words]
            longest = max(last - first for first, last in b_words) + 1
            for a_first, a_last in a_words:
                lo = bisect_left(b_starts, a_first - distance - longest)
                for b_first, b_last in b_words[lo:bisect_right(b_starts, a_last + distance + 1)]:
                    if b_first - a_last - 1 <= distance and a_first - b_last - 1 <= distance:
                        return True
            return False

        return near

    # --- triggers -----------------------------------------------------------------------
    def trigger(self, node: Node) -> frozenset[str] | None:
        """Keys of which at least one must be found for `node` to be true; None when the
        node can be true with no term found (NOT, filters): such rules are always tried."""
        if isinstance(node, Term):
            return frozenset([self.spec(node).key])
        if isinstance(node, Scope):
            return self.trigger(node.child)
        if isinstance(node, Or):
            sets = [self.trigger(ch) for ch in node.children]
            if any(s is None for s in sets):
                return None
            return frozenset().union(*sets)
        if isinstance(node, (And, Near)):
            children = node.children if isinstance(node, And) else (node.left, node.right)
            sets = [s for s in (self.trigger(ch) for ch in children) if s is not None]
            if not sets:
                return None
            # any child's keys suffice; the rarest-looking set makes the fewest candidates
            return min(sets, key=self._commonness)
        return None  # Not, Filter

    def _commonness(self, keys: frozenset[str]) -> float:
        # Without corpus statistics: short words and prefixes are common, phrases rare.
        return sum(1.0 / (len(self.by_key[k].anchor) ** 2 * self.by_key[k].words) for k in keys)


def within(text: str, x: tuple[int, int, int], y: tuple[int, int, int], distance: int) -> bool:
    """Are occurrences x and y (field, start, end) in one field with at most `distance`
    words between them (in either order; overlapping counts as near)?"""
    if x[0] != y[0]:
        return False
    if y[1] < x[1]:
        x, y = y, x
    if y[1] <= x[2]:
        return True
    between = text[x[2]:y[1]]
    return len(between.split()) <= distance


def _cost(node: Node) -> int:
    if isinstance(node, Term):
        return 0
    if isinstance(node, Filter):
        return 1
    if isinstance(node, Not):
        return 4
    return 2


def _all(fns: list[Eval]) -> Eval:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda c: a(c) and b(c)
    head, rest = fns[0], _all(fns[1:])
    return lambda c: head(c) and rest(c)


def _any(fns: list[Eval]) -> Eval:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda c: a(c) or b(c)
    head, rest = fns[0], _any(fns[1:])
    return lambda c: head(c) or rest(c)
