"""Hypothesis settings and strategies shared by the property-based tests (tests/unit/*/test_*_properties.py):
deterministic for CI (derandomize, no example database) and kept small."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ---- rule queries ------------------------------------------------------------------------

QUERY_TOKENS = ["(", ")", '"', "-", "*", ":", " ", "AND", "OR", "NOT", "NEAR", "NEAR/3", "NEAR/0",
                "NEAR/999", "title:", "summary:", "text:", "source:", "tag:", "lang:", "lang:fr",
                "lang:xx", "migra*", "m*", "push-back", "l'asile", "Ελλάδα", "مهاجر", "a", "é",
                "\x00", "\ud83d", "🚤", "((((", "))))", "NOT NOT", '"a b"', '""', "foo:bar"]
queries = st.one_of(
    st.lists(st.sampled_from(QUERY_TOKENS), max_size=30).map("".join),
    st.lists(st.sampled_from(QUERY_TOKENS), max_size=30).map(" ".join),
    st.text(max_size=60),
)
