"""Property-based tests (hypothesis): whatever text a coordinator or a feed hands newsbot,
the answer is a result or one of newsbot's own errors, never another exception.
- rule queries: a compiled query or a RuleSyntaxError whose offset lies in the query.
Deterministic for CI (derandomize, no example database) and kept small: the examples are
built from the syntax of each format, so few of them reach deep into the code
(tests/support/strategies.py).
"""

from __future__ import annotations

from hypothesis import given

from bot.errors import RuleSyntaxError
from bot.match import compile_query
from support.strategies import SETTINGS, queries


@SETTINGS
@given(queries)
def test_a_query_compiles_or_is_a_placed_syntax_error(query):
    try:
        compile_query(query)
    except RuleSyntaxError as exc:
        assert 0 <= exc.pos <= len(query), (exc.pos, query)
        assert str(exc)
