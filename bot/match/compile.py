"""Compiling a query tree for one item language: words resolved to *units*, the tree turned
into a closure over an item's `Ctx`, and the units that can trigger a rule at all.

Owns: the meaning of each node once the language is known (stemmed or not), phrases, NEAR
distances, field scopes, and the choice of trigger units. Must not tokenise text nor learn
words (that is `matcher.py`), nor know about themes, files or storage.

A *unit* is what one word of an item can satisfy: ('s', stem) a word with that Snowball stem,
('x', word) that exact folded word, ('p', prefix) a word starting with prefix; each gets a small
integer id. A term is one unit (a bare word, a prefix) or several in a row (a phrase, `push-back`).
The matcher tells the closure which units the item's words satisfy (`Ctx.units`, a set), so
most terms cost one set lookup; word positions (`context.py`) are computed only when a
phrase, a NEAR or a scoped term asks for them, once per item and field.

`resolve_term` and its `TermSpec.anchor` (the first letters every match of a term starts with)
are kept for `bot.insight.search`, which narrows SQL candidates with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.match.context import ALL_FIELDS, FIELD_INDEX, Ctx, near_pair, phrase_at
from bot.match.query import And, Filter, Near, Node, Not, Or, Scope, Term
from bot.match.text import has_stemmer, stems_for

Eval = Callable[["Ctx"], bool]
Unit = tuple[str, str]  # ('s', stem) | ('x', word) | ('p', prefix)


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


def resolve_parts(term: Term, lang: str | None) -> tuple[Unit, ...]:
    """The term's words as units: bare words stemmed when the language has a stemmer."""
    stemmed = has_stemmer(lang)
    stems = stems_for(lang)
    out = []
    for kind, word in term.parts:
        if kind == "w":
            out.append(("s", stems[word]) if stemmed else ("x", word))
        else:
            out.append((kind, word))
    return tuple(out)


def resolve_term(term: Term, lang: str | None) -> TermSpec:
    """The term's key and anchor (the leading letters of any match), for `bot.insight.search`."""
    parts = resolve_parts(term, lang)
    key = "\x1f".join(k + v for k, v in parts)
    kind0, value0 = parts[0]
    if kind0 == "x":
        anchor, complete = f" {value0} ", len(parts) == 1
    elif kind0 == "p":
        anchor, complete = f" {value0}", len(parts) == 1
    else:
        # Snowball rewrites the end of a stem (y->i, c->qu) but rarely its beginning.
        common = _common_prefix(value0, term.parts[0][1])
        anchor, complete = " " + common[:max(3, len(value0) - 1)], False
    return TermSpec(key, parts, anchor, complete, len(parts))


@dataclass(frozen=True)
class TermInfo:
    units: tuple[int, ...]  # one id per word of the term, in order
    trigger: int  # the unit whose presence the candidate index keys on (the rarest-looking)


class Compiler:
    """Compiles trees for one language; collects every unit it met (for the word learner)."""

    def __init__(self, lang: str | None):
        self.lang = lang
        self.unit_ids: dict[Unit, int] = {}
        self.units: list[Unit] = []
        self.terms: dict[Term, TermInfo] = {}
        # unit id -> share of items it was satisfied in, once the matcher has observed some
        self.frequency: dict[int, float] | None = None

    def unit(self, unit: Unit) -> int:
        uid = self.unit_ids.get(unit)
        if uid is None:
            uid = self.unit_ids[unit] = len(self.units)
            self.units.append(unit)
        return uid

    def term(self, term: Term) -> TermInfo:
        info = self.terms.get(term)
        if info is None:
            ids = tuple(self.unit(u) for u in resolve_parts(term, self.lang))
            info = self.terms[term] = TermInfo(ids, min(ids, key=self.commonness))
        return info

    def commonness(self, uid: int) -> float:
        """How often a unit is expected to be satisfied: the observed share of items when
        the matcher has counted them (`frequency`), else a guess: short words are common; a
        prefix covers many words."""
        if self.frequency is not None:
            found = self.frequency.get(uid)
            if found is not None:
                return found
        kind, value = self.units[uid]
        return (4.0 if kind == "p" else 1.0) / (len(value) ** 2)

    def units_of(self, node: Node) -> set[int]:
        """Every unit `node`'s closure may test: the only ones its `Ctx.units` must answer for."""
        if isinstance(node, Term):
            return set(self.term(node).units)
        if isinstance(node, (And, Or)):
            return set().union(*(self.units_of(ch) for ch in node.children))
        if isinstance(node, (Not, Scope)):
            return self.units_of(node.child)
        if isinstance(node, Near):
            return self.units_of(node.left) | self.units_of(node.right)
        return set()  # Filter

    # --- evaluation ---------------------------------------------------------------------
    def compile(self, node: Node, scope: int | None = None) -> Eval:
        if isinstance(node, Term):
            info = self.term(node)
            if len(info.units) == 1:
                (u,) = info.units
                if scope is None:
                    return lambda c: u in c.units
                return lambda c: u in c.field_units(scope)
            needed = frozenset(info.units)
            units = info.units
            fields = ALL_FIELDS if scope is None else (scope,)
            parts = resolve_parts(node, self.lang)
            if all(kind == "x" for kind, _ in parts):
                # an exact phrase: one substring search in C, no word positions
                pattern = " " + " ".join(word for _, word in parts) + " "
                return lambda c: needed <= c.units and any(pattern in c.joined(f) for f in fields)
            return lambda c: needed <= c.units and any(phrase_at(c, f, units) for f in fields)
        if isinstance(node, And):
            plain = frozenset(u for u in (self._plain(ch, scope) for ch in node.children) if u is not None)
            rest = sorted((ch for ch in node.children if self._plain(ch, scope) is None), key=_cost)
            fns = [self.compile(ch, scope) for ch in rest]
            if plain:
                fns.insert(0, _has_all(plain))
            elif fns:
                check = self._prefilter(node)
                if check is not None:
                    fns.insert(0, check)
            return _all(fns)
        if isinstance(node, Or):
            plain = frozenset(u for u in (self._plain(ch, scope) for ch in node.children) if u is not None)
            rest = sorted((ch for ch in node.children if self._plain(ch, scope) is None), key=_cost)
            fns = [self.compile(ch, scope) for ch in rest]
            if plain:
                fns.insert(0, _has_any(plain))
            elif len(fns) > 1:
                # a big OR of phrases and NEARs: one C-level test rules most items out
                check = self._prefilter(node)
                if check is not None:
                    return _all([check, _any(fns)])
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

    def _prefilter(self, node: Node) -> Eval | None:
        """A cheap necessary condition for `node` (one of its rarest words is present), or None."""
        sets = self._necessary(node)
        if not sets:
            return None
        return _has_any(min(sets, key=self._set_commonness))

    def _plain(self, node: Node, scope: int | None = None) -> int | None:
        """The unit id of a one-word term looked up anywhere (one set lookup), else None."""
        if scope is None and isinstance(node, Term):
            info = self.term(node)
            if len(info.units) == 1:
                return info.units[0]
        return None

    def operand_terms(self, node: Node) -> list[Term]:
        if isinstance(node, Term):
            return [node]
        # an OR-group: a NEAR operand is nothing else (`query._check_near_operand`)
        return [t for ch in node.children for t in self.operand_terms(ch)]  # type: ignore[union-attr]

    def operand(self, node: Node) -> "Operand":
        """A NEAR operand (a term or an OR-group of terms): its one-word units in one set,
        its phrases apart."""
        singles, phrases = set(), []
        for t in self.operand_terms(node):
            units = self.term(t).units
            if len(units) == 1:
                singles.add(units[0])
            else:
                phrases.append((frozenset(units), units))
        return Operand(frozenset(singles), tuple(phrases))

    def _near(self, node: Near, scope: int | None) -> Eval:
        left, right = self.operand(node.left), self.operand(node.right)
        # Necessary: each side has a word present somewhere (cheap set test before positions).
        left_any, right_any = left.any_units, right.any_units
        distance = node.distance
        fields = ALL_FIELDS if scope is None else (scope,)

        def near(c: Ctx) -> bool:
            present = c.units
            if present.isdisjoint(left_any) or present.isdisjoint(right_any):
                return False
            for f in fields:
                a = left.occurrences(c, f)
                if a:
                    b = right.occurrences(c, f)
                    if b and near_pair(a, b, distance) is not None:
                        return True
            return False

        return near

    # --- triggers -----------------------------------------------------------------------
    def triggers(self, node: Node) -> tuple[frozenset[int], frozenset[int]] | None:
        """Two sets of units, each of which must have a member satisfied for `node` to be
        true (the rarest-looking two the tree offers, possibly the same set twice); None when
        the node can be true with no word at all (NOT, filters): such rules are always tried.
        A rule is a candidate for an item only when both sets are hit, so `asylum AND court`
        is tried only on items with both words, not on every item that mentions a court."""
        sets = self._necessary(node)
        if not sets:
            return None
        ranked = sorted(set(sets), key=self._set_commonness)
        return ranked[0], ranked[1] if len(ranked) > 1 else ranked[0]

    def _necessary(self, node: Node) -> list[frozenset[int]]:
        """Unit sets each of which `node` needs one member of (empty: none known)."""
        if isinstance(node, Term):
            units = self.term(node).units
            return [frozenset([u]) for u in set(units)]  # a phrase needs each of its words
        if isinstance(node, Scope):
            return self._necessary(node.child)
        if isinstance(node, Or):
            # each alternative contributes its rarest requirement; all must have one
            best = []
            for ch in node.children:
                sets = self._necessary(ch)
                if not sets:
                    return []
                best.append(min(sets, key=self._set_commonness))
            return [frozenset().union(*best)]
        if isinstance(node, (And, Near)):
            children = node.children if isinstance(node, And) else (node.left, node.right)
            return [s for ch in children for s in self._necessary(ch)]
        return []  # Not, Filter

    def _set_commonness(self, units: frozenset[int]) -> float:
        return sum(self.commonness(u) for u in units)


class Operand:
    __slots__ = ("singles", "phrases", "any_units")

    def __init__(self, singles: frozenset[int], phrases: tuple[tuple[frozenset[int], tuple[int, ...]], ...]):
        self.singles = singles
        self.phrases = phrases
        self.any_units = singles.union(*(needed for needed, _ in phrases))

    def occurrences(self, c: Ctx, f: int) -> list[tuple[int, int]]:
        """(first, last) word numbers in field f of every occurrence of the operand's terms."""
        out = [(i, i) for u in self.singles.intersection(c.units) for i in c.where(f, u)]
        for needed, units in self.phrases:
            if needed <= c.units:
                out.extend(phrase_at(c, f, units))
        return out


def _has_all(units: frozenset[int]) -> Eval:
    if len(units) == 1:
        (u,) = units
        return lambda c: u in c.units
    return lambda c: units <= c.units


def _has_any(units: frozenset[int]) -> Eval:
    if len(units) == 1:
        (u,) = units
        return lambda c: u in c.units
    return lambda c: not units.isdisjoint(c.units)


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
    chain = tuple(fns)

    def all_of(c: Ctx) -> bool:  # one frame for a long AND, not a chain of closures
        for fn in chain:
            if not fn(c):
                return False
        return True

    return all_of


def _any(fns: list[Eval]) -> Eval:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda c: a(c) or b(c)
    chain = tuple(fns)

    def any_of(c: Ctx) -> bool:  # the packs' ORs of twenty phrases: one frame, not twenty
        for fn in chain:
            if fn(c):
                return True
        return False

    return any_of
