"""Insight: reading what was stored, for people. Search with the rule query language
(`search.py`), hit lists (`hitlist.py`) and the coordinator report (`report.py`).

Must not write anything: every module here only reads items, hits, votes and source state.
"""
