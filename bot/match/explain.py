"""Why a rule matched an item: which field, which words (as written in the item), a snippet
around the first match and a one-line description such as `pushback NEAR Greece, in title`.

Owns: explanations, computed only for hits (the hot path in `matcher.py` does not keep the
offsets of the original text). Must not decide whether a rule matches: it re-reads the item
with the same program and reports what it finds.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.match.compile import FIELD_BREAK, FIELD_INDEX, Ctx, within
from bot.match.query import And, Filter, Near, Node, Not, Or, Scope, Term
from bot.match.text import word_spans

if TYPE_CHECKING:
    from bot.match.matcher import RuleDef, _Program
    from bot.model import Matchable

FIELDS = ("title", "summary", "text")
SNIPPET = 160


@dataclass(frozen=True)
class Explanation:
    rule: str
    field: str  # title | summary | text
    terms: list[str]
    snippet: str
    description: str

    def to_dict(self) -> dict:
        return {"rule": self.rule, "field": self.field, "terms": list(self.terms),
                "snippet": self.snippet, "description": self.description}


class _Field:
    """One field: original text, its words' spans, and the same words folded and spaced."""

    def __init__(self, raw: str):
        self.raw = raw
        self.spans = word_spans(raw)
        starts, parts, offset = [], [], 1
        for _, _, word in self.spans:
            starts.append(offset)
            parts.append(word)
            offset += len(word) + 1
        self.starts = starts
        self.folded = " " + " ".join(parts) + " "

    def original(self, start: int, stop: int) -> tuple[int, int]:
        first = bisect_right(self.starts, start) - 1
        last = bisect_right(self.starts, max(start, stop - 1)) - 1
        return self.spans[first][0], self.spans[last][1]


def explain_rule(item: "Matchable", prog: "_Program", rule: "RuleDef") -> Explanation:
    fields = [_Field(item.title or ""), _Field(item.summary or ""), _Field(item.text or "")]
    bases = [0, len(fields[0].folded) + 1]
    bases.append(bases[1] + len(fields[1].folded) + 1)
    text = FIELD_BREAK.join(f.folded for f in fields)
    found: dict = {}
    if prog.automaton is not None:
        prog.scan(text, found, bases[1], bases[2])
    ctx = Ctx(found, text, item.source_id or "", item.tags or (), prog.lang)
    result = _Explainer(prog, ctx).node(rule.query.ast, None)
    occurrences, description = result if result is not None else ([], None)
    occurrences = sorted(set(occurrences))
    # "centre de rétention" OR rétention: show the phrase once, not also the word inside it
    occurrences = [o for o in occurrences
                   if not any(p != o and p[0] == o[0] and p[1] <= o[1] and o[2] <= p[2] for p in occurrences)]
    if not occurrences:
        # Only filters or negations matched: nothing to point at in the text.
        return Explanation(rule.id, "title", [], _snippet(fields[0].raw, 0, 0),
                           description or rule.query.text)
    terms: list[str] = []
    spans = []
    for f, start, stop in occurrences:
        a, b = fields[f].original(start - bases[f], stop - bases[f])
        spans.append((f, a, b))
        word = fields[f].raw[a:b]
        if word not in terms:
            terms.append(word)
    first_field, a, b = spans[0]
    in_fields = sorted({f for f, _, _ in spans})
    where = " and ".join(FIELDS[f] for f in in_fields)
    return Explanation(rule.id, FIELDS[first_field], terms, _snippet(fields[first_field].raw, a, b),
                       f"{description or rule.query.text}, in {where}")


class _Explainer:
    """Walks the tree like the compiled closure, keeping the occurrences that made it true
    and a description of the parts that matched. None means false."""

    def __init__(self, prog: "_Program", ctx: Ctx):
        self.comp = prog.compiler
        self.ctx = ctx

    def occ(self, term: Term, scope: int | None) -> list:
        return [o for o in self.ctx.found.get(self.comp.spec(term).key, ()) if scope is None or o[0] == scope]

    def node(self, node: Node, scope: int | None) -> tuple[list, str | None] | None:
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
            if any(p is None for p in parts):
                return None
            return _combine(parts, " AND ")
        if isinstance(node, Or):
            parts = [p for p in (self.node(ch, scope) for ch in node.children) if p is not None]
            return _combine(parts, " OR ") if parts else None
        if isinstance(node, Near):
            left, right = self.operand(node.left, scope), self.operand(node.right, scope)
            pairs = [(x, y, dx, dy) for x, dx in left for y, dy in right
                     if within(self.ctx.text, x, y, node.distance)]
            if not pairs:
                return None
            x, y, dx, dy = pairs[0]
            return [x, y], f"{dx} NEAR {dy}"
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    def operand(self, node: Node, scope: int | None) -> list[tuple[tuple, str]]:
        if isinstance(node, Term):
            return [(o, node.raw) for o in self.occ(node, scope)]
        return [pair for ch in node.children for pair in self.operand(ch, scope)]


def _combine(parts: list[tuple[list, str | None]], joiner: str) -> tuple[list, str | None]:
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
