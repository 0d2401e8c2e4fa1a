"""Tagging: what an item is about besides its themes: the language of its text (`language.py`),
the countries and regions it names (`countries.py`, with hand-kept tables in
`countries_data.py`), places on the migration routes (`places_data.py`) and gazetteer cities
(`gazetteer.py`). Pure: no I/O beyond bundled data, no storage."""
