"""The rule engine: the query language, compiled, run against items. Pure: no I/O, no storage,
no Telegram; it matches anything with title, summary, text, language, source_id and tags
(`bot.model.Matchable`).

Grammar (one parser, `query.py`, both validates and compiles)::

    query    := or_expr
    or_expr  := and_expr ( "OR" and_expr )*
    and_expr := near_expr ( ["AND"] near_expr )*      adjacent terms mean AND
    near_expr:= unary ( "NEAR/" n unary )*            a NEAR/3 b NEAR/3 c = (a NEAR b) AND (b NEAR c)
    unary    := ("NOT" | "-") unary | primary         "-" only at the start of a term: -football
    primary  := "(" or_expr ")"
              | ("title:" | "summary:" | "text:") (word | phrase | "(" or_expr ")")
              | ("source:" | "tag:" | "lang:") value
              | '"' words '"'                          exact phrase, word by word, no stemming
              | word | prefix*                         prefix: at least 2 letters, then *

Operators are upper case (AND OR NOT NEAR/n); lower-case `and`, `or`, `near` are words.
Binding, tightest first: NOT/-, NEAR, AND (explicit or implicit), OR. So
`asylum OR refugee camp` is `asylum OR (refugee AND camp)`.

Meaning:
- Text is folded before anything else: casefold and accents stripped (é = e, ß = ss, Greek
  tonos and final sigma). A word is a run of letters and digits; apostrophes, hyphens and
  all punctuation separate words (`l'asile` is `l` `asile`, so `asile` matches it).
- A bare word matches any word with the same Snowball stem in the item's language (en, fr, es,
  it, de, pt, el, nl and the other Snowball languages): `migrant` matches `migrants`. An item of
  unknown language (or one without a stemmer) is matched without stemming: the folded word
  itself. A bare word with inner punctuation (`push-back`) means its words in a row, stemmed.
- "exact phrases": the folded words in a row, not stemmed; punctuation between words in the
  text is ignored. A word ending in * inside a phrase is a prefix.
- `migra*`: any word starting with `migra` (folded, not stemmed).
- `a NEAR/n b`: an occurrence of a and one of b in the same field, in either order, with at
  most n words between them (NEAR/0: next to each other). Operands are words, phrases,
  prefixes or OR-groups of those.
- `title:x` looks only in the title (likewise summary:, text:); by default a term may be in
  the title, the summary or the text. `source:id`, `tag:x` and `lang:fr` test the item's source
  id, its source's tags and its language.

Evaluation order, for one item:
1. The item's language picks a compiled program (built on first use for that language). Rules
   with `languages: [..]` are only in the programs of those languages.
2. The item's text is cut into raw tokens without folding (C-level: ASCII lowered, ASCII
   punctuation separates; `text.raw_tokens`). The program remembers every token it has met:
   the first time, the token is folded into words, stemmed and checked against the rules'
   stems, exact words and prefixes (`units`); afterwards it is one hash lookup. The table is
   bounded. Fields are folded into words only when a candidate rule needs positions (phrases
   with stems, NEAR), a field (`title:`) or an exact phrase (substring search).
3. Candidate rules are those both of whose two rarest required word sets are hit (for
   `a AND b`, one word of each side; for an OR, any alternative's), plus the few rules that
   can match with no word at all (`NOT x`, filters). An item with no candidate stops here.
4. Each candidate's compiled closure decides; a theme hits when one of its rules matched, and
   its `exclude` query (evaluated on the same item) drops the whole theme hit.
5. Hits come out high priority first, then in theme order; explanations are computed for hits
   only (`explain.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import RuleSyntaxError
from bot.match.explain import Explanation
from bot.match.matcher import Matcher, RuleDef, ThemeDef, ThemeHit
from bot.match.query import Node, QuerySyntaxError, describe, parse
from bot.match.text import normalise

if TYPE_CHECKING:
    from bot.model import Matchable

__all__ = ["Explanation", "Matcher", "Query", "QuerySyntaxError", "RuleDef", "RuleSyntaxError",
           "ThemeDef", "ThemeHit", "compile_query", "normalise"]


@dataclass(frozen=True, eq=False)
class Query:
    """A parsed query. `matches(item)` is a convenience for one-off use (e.g. search);
    rules go through a `Matcher`, which indexes all of them together."""

    text: str
    ast: Node
    _matcher: list[Matcher] = field(default_factory=list, repr=False, compare=False)

    def matches(self, item: Matchable) -> bool:
        if not self._matcher:
            self._matcher.append(Matcher([ThemeDef("query", "normal", (RuleDef("query", self),))]))
        return bool(self._matcher[0].match(item, explain=False))

    def describe(self) -> str:
        return describe(self.ast)


def compile_query(text: str) -> Query:
    """Parse and validate `text`; raises RuleSyntaxError (message, pos) on a syntax error."""
    return Query(text, parse(text))
