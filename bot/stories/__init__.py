"""Stories: items of different sources that report one event, and how they rank.

Owns grouping (`grouping.py`: the `stories` rows, `items.story_id`, `story_sigs`), the
in-memory index of recent items' lookup keys it finds candidates in (`index.py`), the pure
similarity rules (`similarity.py`: near-duplicates; `terms.py`: the same event written up
independently), the ranking formula (`ranking.py`) and members' votes on hits (`feedback.py`:
the `votes` rows and what they say about each rule).

Must not: fetch, match rules or send anything.

Glossary: story (one event, one row, its items as members); also reported by (the other
sources of a story); signature (a story's near-duplicate keys).
"""
