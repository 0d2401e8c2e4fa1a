"""The rule query language: lexer, parser and syntax tree (grammar in `bot/match/__init__.py`).

Owns: turning a query string into a tree whose nodes remember their offsets, and every syntax
error with the offset where something else was expected. Must not know about items, languages
or stemming (that is `compile.py`), nor about files (the caller maps offsets to file:line:col).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

from bot.errors import RuleSyntaxError
from bot.match.text import fold_words

SCOPES = ("title", "summary", "text")
FILTERS = ("source", "tag", "lang")
FIELDS = SCOPES + FILTERS
MIN_PREFIX = 2
MAX_NEAR = 100
# Parentheses and NOTs inside each other: the parser, the compiler and the matcher each
# recurse once per level, so a hostile 200-deep query would end in RecursionError.
MAX_DEPTH = 50


class QuerySyntaxError(RuleSyntaxError):
    """A syntax error at offset `pos`; `related` is the offset of what is left open (a '(')."""

    def __init__(self, what: str, pos: int, related: int | None = None):
        self.what = what
        self.related = related
        super().__init__(self.render(lambda p: f"col {p + 1}"), pos)

    def render(self, locate: Callable[[int], str]) -> str:
        """The message, with `related` written by `locate` (e.g. as file line:col)."""
        return f"{self.what} at {locate(self.related)}" if self.related is not None else self.what

    def in_columns(self) -> str:
        return self.render(lambda p: f"column {p + 1}")


# --- the tree ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """Words that must follow each other. parts: ('w', word) stemmed word, ('x', word) exact
    word, ('p', prefix) word starting with prefix. A plain word is one 'w' part; a phrase is
    'x' parts; `push-back` or `l'asile` written bare are several 'w' parts."""

    parts: tuple[tuple[str, str], ...]
    raw: str
    pos: int


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]
    pos: int


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]
    pos: int


@dataclass(frozen=True)
class Not:
    child: "Node"
    pos: int


@dataclass(frozen=True)
class Near:
    left: "Node"
    right: "Node"
    distance: int
    pos: int


@dataclass(frozen=True)
class Scope:
    field: str  # title | summary | text
    child: "Node"
    pos: int


@dataclass(frozen=True)
class Filter:
    field: str  # source | tag | lang
    value: str
    pos: int


Node = Union[Term, And, Or, Not, Near, Scope, Filter]


# --- lexer ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # ( ) phrase word AND OR NOT - NEAR field end
    text: str
    pos: int
    value: int = 0  # NEAR distance


_STOP = set(' \t\r\n()"')


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("expected '\"' to close the phrase opened", n, i)
            tokens.append(Token("phrase", query[i + 1:close], i))
            i = close + 1
        elif ch == "-" and (i == 0 or query[i - 1] in _STOP):
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QuerySyntaxError("expected a term right after '-'", i + 1)
            tokens.append(Token("-", "-", i))
            i += 1
        else:
            j = i
            while j < n and query[j] not in _STOP:
                j += 1
            word = query[i:j]
            field, colon, rest = word.partition(":")
            if colon and field.isalpha():
                if field.lower() not in FIELDS:
                    raise QuerySyntaxError(f"unknown field '{field}:'; expected one of "
                                           + ", ".join(f"{f}:" for f in FIELDS), i)
                tokens.append(Token("field", field.lower(), i))
                if j == i + len(field) + 1 and (j >= n or query[j].isspace() or query[j] == ")"):
                    raise QuerySyntaxError(f"expected a term right after '{field}:'", j)
                i = i + len(field) + 1
                continue
            if word in ("AND", "OR", "NOT"):
                tokens.append(Token(word, word, i))
            elif word == "NEAR" or word.startswith("NEAR/"):
                digits = word[5:]
                if not word.startswith("NEAR/") or not digits.isdigit():
                    at = i + 5 if word.startswith("NEAR/") else i + 4
                    raise QuerySyntaxError("expected a distance after 'NEAR/', e.g. NEAR/5", at)
                distance = int(digits)
                if distance > MAX_NEAR:
                    raise QuerySyntaxError(f"NEAR distance must be at most {MAX_NEAR}", i + 5)
                tokens.append(Token("NEAR", word, i, distance))
            else:
                tokens.append(Token("word", word, i))
            i = j
    tokens.append(Token("end", "", n))
    return tokens


# --- parser -----------------------------------------------------------------------------------

_STARTS = {"(", "phrase", "word", "NOT", "-", "field"}


def _describe(tok: Token) -> str:
    return "the end of the query" if tok.kind == "end" else f"'{tok.text}'"


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0

    def enter(self, tok: Token) -> None:
        """One level deeper (a '(' or a NOT), refused past MAX_DEPTH at `tok`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"nested too deep: more than {MAX_DEPTH} levels of parentheses "
                                   "and NOT", tok.pos)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise QuerySyntaxError("empty query", 0)
        node = self.or_expr()
        if self.tok.kind == ")":
            raise QuerySyntaxError("unexpected ')' with no '(' to close", self.tok.pos)
        if self.tok.kind != "end":  # pragma: no cover - every other token starts a term
            raise QuerySyntaxError(f"unexpected {_describe(self.tok)}", self.tok.pos)
        return node

    def expect_term(self, after: Token) -> None:
        if self.tok.kind not in _STARTS:
            what = f"'{after.text}'" if after.kind != "(" else "'('"
            raise QuerySyntaxError(f"expected a term after {what}, got {_describe(self.tok)}"
                                   if self.tok.kind != "end" else f"expected a term after {what}",
                                   self.tok.pos)

    def or_expr(self) -> Node:
        first = self.tok
        children = [self.and_expr()]
        while self.tok.kind == "OR":
            op = self.take()
            self.expect_term(op)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children), first.pos)

    def and_expr(self) -> Node:
        first = self.tok
        children = [self.near_expr()]
        while True:
            if self.tok.kind == "AND":
                op = self.take()
                self.expect_term(op)
            elif self.tok.kind not in _STARTS:
                break
            children.append(self.near_expr())
        return children[0] if len(children) == 1 else And(tuple(children), first.pos)

    def near_expr(self) -> Node:
        left = self.unary()
        pairs: list[Node] = []
        while self.tok.kind == "NEAR":
            op = self.take()
            self.expect_term(op)
            right = self.unary()
            for side in (left, right):
                _check_near_operand(side)
            # a NEAR/3 b NEAR/3 c: each neighbour pair near, read as an AND of the pairs
            pairs.append(Near(left, right, op.value, op.pos))
            left = right
        if not pairs:
            return left
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs), pairs[0].pos)

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind in ("NOT", "-"):
            self.take()
            self.expect_term(tok)
            self.enter(tok)
            child = self.unary()
            self.depth -= 1
            return Not(child, tok.pos)
        if tok.kind in ("AND", "OR", "NEAR"):
            raise QuerySyntaxError(f"expected a term before '{tok.text}'", tok.pos)
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if self.tok.kind == ")":
                raise QuerySyntaxError("empty parentheses", tok.pos)
            self.expect_term(tok)
            self.enter(tok)
            node = self.or_expr()
            self.depth -= 1
            if self.tok.kind != ")":
                raise QuerySyntaxError(f"expected ')' to close '(', got {_describe(self.tok)},"
                                       if self.tok.kind != "end" else "expected ')' to close '('",
                                       self.tok.pos, tok.pos)
            self.take()
            return node
        if tok.kind == "field":
            return self.field(tok)
        if tok.kind == "phrase":
            return _phrase(tok)
        if tok.kind == "word":
            return _word(tok)
        if tok.kind == ")":
            raise QuerySyntaxError("unexpected ')' with no '(' to close", tok.pos)
        raise QuerySyntaxError(f"expected a term, got {_describe(tok)}", tok.pos)  # pragma: no cover

    def field(self, tok: Token) -> Node:
        if tok.text in SCOPES:
            if self.tok.kind not in ("(", "phrase", "word"):
                raise QuerySyntaxError(f"expected a word, a phrase or '(' after '{tok.text}:'", self.tok.pos)
            return Scope(tok.text, self.primary(), tok.pos)
        value = self.tok
        if value.kind != "word":
            raise QuerySyntaxError(f"expected a value after '{tok.text}:', such as {tok.text}:"
                                   + {"source": "picum", "tag": "ngo", "lang": "fr"}[tok.text], value.pos)
        self.take()
        text = value.text.lower()
        if tok.text == "lang" and not (text.isalpha() and 2 <= len(text) <= 3):
            raise QuerySyntaxError("expected a language code such as en or fr after 'lang:'", value.pos)
        return Filter(tok.text, text, tok.pos)


def _word(tok: Token) -> Term:
    raw = tok.text
    star = raw.find("*")
    if star >= 0 and star != len(raw) - 1:
        raise QuerySyntaxError("'*' is only allowed at the end of a word", tok.pos + star)
    words = fold_words(raw)
    if not words:
        raise QuerySyntaxError(f"'{raw}' has no letters or digits to match", tok.pos)
    parts = [("w", w) for w in words]
    if star >= 0:
        if raw[-2:-1].isspace() or not raw[:-1] or not raw[-2].isalnum():
            raise QuerySyntaxError("'*' must follow the letters of a prefix, as in migra*", tok.pos + star)
        if len(words[-1]) < MIN_PREFIX:
            raise QuerySyntaxError(f"prefix too short: '{raw}' needs at least {MIN_PREFIX} letters before '*'",
                                   tok.pos)
        parts[-1] = ("p", words[-1])
    return Term(tuple(parts), raw, tok.pos)


def _phrase(tok: Token) -> Term:
    raw = tok.text
    parts: list[tuple[str, str]] = []
    for chunk in raw.split():
        prefix = chunk.endswith("*")
        words = fold_words(chunk)
        parts.extend(("x", w) for w in words)
        if prefix and words:
            if len(words[-1]) < MIN_PREFIX:
                raise QuerySyntaxError(f"prefix too short: '{chunk}' needs at least {MIN_PREFIX} letters "
                                       "before '*'", tok.pos + 1 + raw.find(chunk))
            parts[-1] = ("p", words[-1])
    if not parts:
        raise QuerySyntaxError("empty phrase", tok.pos)
    return Term(tuple(parts), f'"{raw}"', tok.pos)


def _check_near_operand(node: Node) -> None:
    if isinstance(node, Term):
        return
    if isinstance(node, Or):
        for child in node.children:
            _check_near_operand(child)
        return
    raise QuerySyntaxError("NEAR needs a word, a phrase, a prefix or an OR-group of those on "
                           "each side", node.pos)


def parse(query: str) -> Node:
    """The tree of `query`; QuerySyntaxError (a RuleSyntaxError) with the offset otherwise."""
    return _Parser(query).parse()


def describe(node: Node, *, distances: bool = False) -> str:
    """A short human form of a (sub)query, as written: `pushback NEAR Greece`; with
    `distances`, NEAR keeps its distance (`pushback NEAR/5 Greece`) and is bracketed when nested."""
    if isinstance(node, Term):
        return node.raw
    if isinstance(node, And):
        return " AND ".join(bracketed(c, distances=distances) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(bracketed(c, distances=distances) for c in node.children)
    if isinstance(node, Not):
        return f"NOT {bracketed(node.child, distances=distances)}"
    if isinstance(node, Near):
        near = f"NEAR/{node.distance}" if distances else "NEAR"
        return f"{bracketed(node.left, distances=distances)} {near} {bracketed(node.right, distances=distances)}"
    if isinstance(node, Scope):
        return f"{node.field}:{bracketed(node.child, distances=distances)}"
    return f"{node.field}:{node.value}"


def bracketed(node: Node, *, distances: bool = False) -> str:
    """`describe`, in brackets when it is an AND, OR (or, with distances, NEAR) group."""
    text = describe(node, distances=distances)
    grouped = (And, Or, Near) if distances else (And, Or)
    return f"({text})" if isinstance(node, grouped) else text
