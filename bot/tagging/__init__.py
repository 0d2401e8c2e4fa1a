"""Tagging: what an item is about besides its themes: the language of its text, and every table
of language codes, names and aliases (`language.py`), the countries and regions it names
(`countries.py`, scanning the name table of `country_names.py`, with hand-kept tables in
`countries_data.py`), places on the migration routes (`places_data.py`) and gazetteer cities
(`gazetteer.py`). Pure: no I/O beyond bundled data, no storage."""
