"""Why a rule matched an item: which field, which words (as written in the item), a snippet
around the first match and a one-line description such as `pushback NEAR Greece, in title`.

Owns: explanations, computed only for hits and only when asked (the hot path in `matcher.py`
knows word numbers, not offsets into the original text). Must not decide whether a rule
matches: it walks the rule over the same item context and reports what made it true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.match.compile import Compiler
from bot.match.context import ALL_FIELDS, FIELD_INDEX, Ctx, near_pair, phrase_at
from bot.match.query import And, Filter, Near, Node, Not, Or, Scope, Term
from bot.match.text import word_offsets

if TYPE_CHECKING:
    from bot.match.matcher import RuleDef
    from bot.model import Matchable

FIELDS = ("title", "summary", "text")
SNIPPET = 160
Occurrence = tuple[int, int, int]  # (field, first word number, last word number)
Found = tuple[list[Occurrence], "str | None"]  # the occurrences that made a node true, and its description


@dataclass(frozen=True)
class Explanation:
    rule: str
    field: str  # title | summary | text
    terms: list[str]
    snippet: str
    description: str

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "field": self.field, "terms": list(self.terms),
                "snippet": self.snippet, "description": self.description}


class ItemExplainer:
    """Explains any number of rules against one matched item; the original offsets of its
    words are computed once per field, on first need."""

    def __init__(self, item: "Matchable", compiler: Compiler, ctx: Ctx):
        self.raw = (item.title or "", item.summary or "", item.text or "")
        self.comp = compiler
        self.ctx = ctx
        self._spans: list[list[tuple[int, int]] | None] = [None, None, None]

    def original(self, f: int, first: int, last: int) -> tuple[int, int]:
        """Offsets in the original field of words first..last (word numbers)."""
        spans = self._spans[f]
        if spans is None:
            spans = self._spans[f] = word_offsets(self.raw[f])
        if not spans:
            return 0, 0
        first, last = min(first, len(spans) - 1), min(last, len(spans) - 1)
        return spans[first][0], spans[last][1]

    def explain(self, rule: "RuleDef") -> Explanation:
        result = self.node(rule.query.ast, None)
        occurrences, description = result if result is not None else ([], None)
        occurrences = sorted(set(occurrences))
        # "centre de rétention" OR rétention: show the phrase once, not also the word inside it
        occurrences = [o for o in occurrences
                       if not any(p != o and p[0] == o[0] and p[1] <= o[1] and o[2] <= p[2] for p in occurrences)]
        if not occurrences:
            # Only filters or negations matched: nothing to point at in the text.
            return Explanation(rule.id, "title", [], _snippet(self.raw[0], 0, 0), description or rule.query.text)
        terms: list[str] = []
        spans = []
        for f, first, last in occurrences:
            a, b = self.original(f, first, last)
            spans.append((f, a, b))
            word = self.raw[f][a:b]
            if word not in terms:
                terms.append(word)
        first_field, a, b = spans[0]
        where = " and ".join(FIELDS[f] for f in sorted({f for f, _, _ in spans}))
        return Explanation(rule.id, FIELDS[first_field], terms, _snippet(self.raw[first_field], a, b),
                           f"{description or rule.query.text}, in {where}")

    # Walks the tree like the compiled closure, keeping the occurrences that made it true and
    # a description of the parts that matched. None means false.
    def occ(self, term: Term, scope: int | None) -> list[Occurrence]:
        units = self.comp.term(term).units
        if not self.ctx.units.issuperset(units):
            return []
        return [(f, a, b) for f in (ALL_FIELDS if scope is None else (scope,))
                for a, b in phrase_at(self.ctx, f, units)]

    def node(self, node: Node, scope: int | None) -> Found | None:
        if isinstance(node, Term):
            found = self.occ(node, scope)
            return (found, node.raw) if found else None
        if isinstance(node, Scope):
            return self.node(node.child, FIELD_INDEX[node.field])
        if isinstance(node, Filter):
            if node.field == "source":
                ok = self.ctx.source == node.value
            elif node.field == "tag":
                ok = node.value in self.ctx.tags
            else:
                ok = self.ctx.lang == node.value
            return ([], None) if ok else None
        if isinstance(node, Not):
            return ([], None) if self.node(node.child, scope) is None else None
        if isinstance(node, And):
            parts = [self.node(ch, scope) for ch in node.children]
            present = [p for p in parts if p is not None]
            if len(present) < len(parts):
                return None
            return _combine(present, " AND ")
        if isinstance(node, Or):
            matched = [p for p in (self.node(ch, scope) for ch in node.children) if p is not None]
            return _combine(matched, " OR ") if matched else None
        if isinstance(node, Near):
            left, right = self.operand(node.left, scope), self.operand(node.right, scope)
            for f in ALL_FIELDS:
                a = [o[1:] for o, _ in left if o[0] == f]
                b = [o[1:] for o, _ in right if o[0] == f]
                pair = near_pair(a, b, node.distance) if a and b else None
                if pair is not None:
                    x, y = (f, *pair[0]), (f, *pair[1])
                    dx = next(d for o, d in left if o == x)
                    dy = next(d for o, d in right if o == y)
                    return [x, y], f"{dx} NEAR {dy}"
            return None
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def operand(self, node: Node, scope: int | None) -> list[tuple[Occurrence, str]]:
        if isinstance(node, Term):
            return [(o, node.raw) for o in self.occ(node, scope)]
        # a NEAR operand is a term or an OR-group of terms (`query._check_near_operand`)
        return [pair for ch in node.children for pair in self.operand(ch, scope)]  # type: ignore[union-attr]


def _combine(parts: list[Found], joiner: str) -> Found:
    occurrences = [o for found, _ in parts for o in found]
    words = [d for _, d in parts if d]
    if not words:
        return occurrences, None
    text = joiner.join(f"({d})" if (" AND " in d or " OR " in d) and len(words) > 1 else d for d in words)
    return occurrences, text


def _snippet(text: str, start: int, stop: int) -> str:
    """About SNIPPET characters of `text` around [start, stop), cut at spaces, one line."""
    if len(text) <= SNIPPET:
        return " ".join(text.split())
    left = max(0, start - (SNIPPET - (stop - start)) // 3)
    right = min(len(text), left + SNIPPET)
    left = max(0, min(left, right - SNIPPET))
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < len(text):
        space = text.rfind(" ", stop, right)
        right = space if space > 0 else right
    body = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")
