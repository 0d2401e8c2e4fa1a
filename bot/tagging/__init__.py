"""Tagging: what an item is about besides its themes: the countries and regions it names
(`countries.py`, with hand-kept tables in `countries_data.py`). Pure: no I/O, no storage."""
