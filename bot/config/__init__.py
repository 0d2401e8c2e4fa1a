"""Configuration: sources.yaml, rules/*.yaml, deliveries.yaml and the environment.

Each file has one pydantic schema (unknown keys forbidden); loading reports every
problem at once as `file:line:col: path: message`. The three files validated together are
one `ConfigSnapshot` (`snapshot.py`); a chat's digest schedule text has one parser
(`schedule.py`). Nothing here touches the network, the database or Telegram.
"""
