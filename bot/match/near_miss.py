"""Why a theme did not match an item: its *near misses*, the rules that partly matched, and
which part of each query failed, in plain words (`shipwreck found; none of migrant*, refugee*
within 15 words`), so a coordinator sees what to change.

Owns: the partial evaluation of a query tree on one item (what each node found, what it
lacked, a 0..1 score of how much of the tree held) and the choice of the closest rules of a
theme. Must not decide matches another way than `compile.py`: it walks the same tree over the
same item context (`Ctx`, built with every unit by `_Program.full_context`), term occurrences
and NEAR distances come from `explain.ItemExplainer` and `context.py`, and a unit test checks
that its verdict equals the compiled closure's on the shipped rules. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from bot.match.context import FIELD_INDEX
from bot.match.explain import FIELDS, ItemExplainer, Occurrence
from bot.match.query import And, Filter, Near, Node, Not, Or, Scope, Term, bracketed, describe
from bot.match.text import fold_words

if TYPE_CHECKING:
    from bot.match.compile import Compiler
    from bot.match.context import Ctx
    from bot.match.matcher import Matcher
    from bot.model import Matchable

SHOWN = 70  # characters of a query part quoted in a sentence
NEAR_MISSES = 3  # closest rules shown per missed theme


@dataclass(frozen=True)
class Outcome:
    """A node's partial evaluation: whether it holds, what of it the item has (as
    `word as written (query term)`), what is missing (sentences), how much of it held."""

    ok: bool
    found: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class NearMiss:
    """One rule of a missed theme: what it found, what failed. `excluded` is set when the
    rule matched and the theme's `exclude` dropped the hit (`failed` then says what the
    exclude matched)."""

    rule: str
    found: tuple[str, ...]
    failed: tuple[str, ...]
    score: float
    excluded: bool = False

    def sentence(self) -> str:
        if self.excluded:
            return f"matched, but {'; '.join(self.failed)}"
        found = f"found {', '.join(self.found)}" if self.found else "found nothing"
        return f"{found}; but {'; '.join(self.failed)}" if self.failed else found

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "found": list(self.found), "failed": list(self.failed),
                "score": round(self.score, 3), "excluded": self.excluded, "sentence": self.sentence()}


@dataclass(frozen=True)
class ThemeMiss:
    """Why `theme` missed an item: its closest rules (best first), how many of its rules were
    tried in the item's language, and the rules kept for other languages."""

    theme: str
    near: tuple[NearMiss, ...]
    tried: int
    other_languages: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.near:
            return ""
        if not self.tried:
            return "no rule of this theme is for the item's language"
        return f"its {self.tried} rule{'s' if self.tried > 1 else ''} found none of their words"

    def to_dict(self) -> dict[str, object]:
        return {"theme": self.theme, "near_misses": [n.to_dict() for n in self.near], "rules_tried": self.tried,
                "rules_for_other_languages": list(self.other_languages), "summary": self.summary()}


class PartialEvaluator:
    """Evaluates query trees on one item, node by node, keeping what held and what failed."""

    def __init__(self, item: "Matchable", compiler: "Compiler", ctx: "Ctx"):
        self.explainer = ItemExplainer(item, compiler, ctx)
        self.ctx = ctx

    def evaluate(self, node: Node, scope: int | None = None) -> Outcome:
        if isinstance(node, Term):
            return self._term(node, scope)
        if isinstance(node, Scope):
            return self.evaluate(node.child, FIELD_INDEX[node.field])
        if isinstance(node, Filter):
            return self._filter(node)
        if isinstance(node, Not):
            inner = self.evaluate(node.child, scope)
            if not inner.ok:
                return Outcome(True, score=1.0)
            what = ", ".join(inner.found) or show(node.child)
            return Outcome(False, failed=(f"NOT {show(node.child)} excludes it ({what} present)",))
        if isinstance(node, And):
            parts = [self.evaluate(ch, scope) for ch in node.children]
            return Outcome(all(p.ok for p in parts), _join(p.found for p in parts),
                           _join(p.failed for p in parts if not p.ok), sum(p.score for p in parts) / len(parts))
        if isinstance(node, Or):
            parts = [self.evaluate(ch, scope) for ch in node.children]
            held = [p for p in parts if p.ok]
            if held:
                return Outcome(True, _join(p.found for p in held), score=1.0)
            best = max(parts, key=lambda p: (p.score, len(p.found)))
            if best.score == 0:
                return Outcome(False, failed=(f"none of {show(node)}",))
            return best
        if isinstance(node, Near):
            return self._near(node, scope)
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def written(self, occurrence: tuple[int, int, int], term: Term) -> str:
        """`Shipwreck (shipwreck*)`: the item's words, and the query term when it differs."""
        f, first, last = occurrence
        start, stop = self.explainer.original(f, first, last)
        words = " ".join(self.explainer.raw[f][start:stop].split())
        same = fold_words(words) == fold_words(term.raw.strip('"'))
        return words if same or not words else f"{words} ({term.raw})"

    def _term(self, term: Term, scope: int | None) -> Outcome:
        found = self.explainer.occ(term, scope)
        if found:
            return Outcome(True, (self.written(found[0], term),), score=1.0)
        if scope is not None and (elsewhere := self.explainer.occ(term, None)):
            word = self.written(elsewhere[0], term)
            return Outcome(False, (word,), (f"{word} is not in the {FIELDS[scope]}",), 0.5)
        units = self.explainer.comp.term(term).units
        if len(units) > 1 and self.ctx.units.issuperset(units):
            return Outcome(False, (f"the words of {term.raw}",), (f"the words of {term.raw} are not in a row",), 0.5)
        return Outcome(False, failed=(f"no {term.raw}",))

    def _filter(self, node: Filter) -> Outcome:
        ctx = self.ctx
        if node.field == "source":
            ok, why = ctx.source == node.value, f"the source is {ctx.source or 'unknown'}, not {node.value}"
        elif node.field == "tag":
            ok, why = node.value in ctx.tags, f"the source has no tag {node.value}"
        else:
            ok, why = ctx.lang == node.value, f"the language is {ctx.lang or 'unknown'}, not {node.value}"
        return Outcome(True, score=1.0) if ok else Outcome(False, failed=(why,))

    def _near(self, node: Near, scope: int | None) -> Outcome:
        left = self.explainer.operand(node.left, scope)
        right = self.explainer.operand(node.right, scope)
        terms = {t.raw: t for t in _terms(node.left) + _terms(node.right)}
        n = node.distance
        best: tuple[int, tuple[Occurrence, str], tuple[Occurrence, str]] | None = None  # (words between, left, right)
        for (x, lraw) in left:
            for (y, rraw) in right:
                if x[0] != y[0]:
                    continue
                gap = max(y[1] - x[2] - 1, x[1] - y[2] - 1, 0)
                if best is None or gap < best[0]:
                    best = (gap, (x, lraw), (y, rraw))
        if best is not None and best[0] <= n:
            (x, lraw), (y, rraw) = best[1], best[2]
            return Outcome(True, (self.written(x, terms[lraw]), self.written(y, terms[rraw])), score=1.0)
        if best is not None:
            gap, (x, lraw), (y, rraw) = best
            a, b = self.written(x, terms[lraw]), self.written(y, terms[rraw])
            return Outcome(False, (a, b), (f"{a} and {b} are {gap} words apart (NEAR/{n})",), 0.75)
        if left and right:
            a, b = self.written(*_first(left, terms)), self.written(*_first(right, terms))
            return Outcome(False, (a, b), (f"{a} and {b} are in different fields (NEAR/{n})",), 0.75)
        where = "" if scope is None else f" in the {FIELDS[scope]}"
        if left or right:
            seen, other = (left, node.right) if left else (right, node.left)
            a = self.written(*_first(seen, terms))
            return Outcome(False, (a,), (f"no {_group(other)}{where} near {a} (NEAR/{n})",), 0.5)
        return Outcome(False, failed=(f"no {_group(node.left)} and no {_group(node.right)}{where}",))


def _group(node: Node) -> str:
    """An OR-group in parentheses inside a sentence: `no (Greece OR Croatia) near ...`."""
    return f"({show(node)})" if isinstance(node, Or) else show(node)


def _first(occurrences: list[tuple[Occurrence, str]], terms: dict[str, Term]) -> tuple[tuple[int, int, int], Term]:
    occ, raw = min(occurrences)
    return occ, terms[raw]


def _terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    return [t for ch in (node.children if isinstance(node, (And, Or)) else ()) for t in _terms(ch)]


def _join(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """The strings of every group, once each, in order."""
    out: list[str] = []
    for group in groups:
        for s in group:
            if s not in out:
                out.append(s)
    return tuple(out)


def show(node: Node, limit: int = SHOWN) -> str:
    """A query part as written, shortened for a sentence: a long OR-group keeps its first
    alternatives and says how many more there are."""
    text = describe(node, distances=True)
    if len(text) <= limit:
        return text
    if isinstance(node, Or):
        kept: list[str] = []
        for ch in node.children:
            part = bracketed(ch, distances=True)
            if kept and len(" OR ".join(kept + [part])) > limit:
                break
            kept.append(part)
        rest = len(node.children) - len(kept)
        return " OR ".join(kept) + (f" OR … ({rest} more)" if rest else "")
    return text[:limit - 1].rstrip() + "…"



def theme_miss(matcher: "Matcher", item: "Matchable", slug: str, limit: int = NEAR_MISSES) -> ThemeMiss:
    """The near misses of theme `slug` on `item`: its rules in the item's language that found
    something, closest first (at most `limit`); a rule that matched but was dropped by the
    theme's exclude comes first, saying what the exclude matched."""
    t_index = next(i for i, t in enumerate(matcher.themes) if t.slug == slug)
    theme = matcher.themes[t_index]
    prog = matcher.program(item.language)
    ctx = prog.full_context(item)
    evaluator = PartialEvaluator(item, prog.compiler, ctx)
    rules = [rule for t, rule, _ in prog.rules if t == t_index]
    tried = {r.id for r in rules}
    other = tuple(r.id for r in theme.rules if r.id not in tried)
    near: list[NearMiss] = []
    for rule in rules:
        out = evaluator.evaluate(rule.query.ast)
        if out.ok and theme.exclude is not None and (dropped := evaluator.evaluate(theme.exclude.ast)).ok:
            what = ", ".join(dropped.found) or show(theme.exclude.ast)
            near.append(NearMiss(rule.id, out.found, (f"the theme's exclude drops it ({what})",), 2.0, excluded=True))
        elif out.ok:  # the theme hits: not a miss, listed for completeness
            near.append(NearMiss(rule.id, out.found, (), 3.0))
        elif out.found:
            near.append(NearMiss(rule.id, out.found, out.failed, out.score))
    near.sort(key=lambda n: (-n.score, -len(n.found), n.rule))
    return ThemeMiss(slug, tuple(near[:limit]), len(rules), other)


def rule_outcome(matcher: "Matcher", item: "Matchable", rule_id: str) -> Outcome:
    """The partial evaluation of one rule (by id) on `item`; KeyError when the rule is not
    in the program of the item's language."""
    prog = matcher.program(item.language)
    rule = next((r for _, r, _ in prog.rules if r.id == rule_id), None)
    if rule is None:
        raise KeyError(rule_id)
    return PartialEvaluator(item, prog.compiler, prog.full_context(item)).evaluate(rule.query.ast)

