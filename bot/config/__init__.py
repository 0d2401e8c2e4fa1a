"""Configuration: sources.yaml, rules/*.yaml, deliveries.yaml and the environment.

Each file has one pydantic schema (unknown keys forbidden); loading reports every
problem at once as `file:line:col: path: message`. Nothing here touches the network,
the database or Telegram.
"""
